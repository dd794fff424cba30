/**
 * Memory regression guard (never a timing): a large single day (300 000 synthetic Stripe events) goes through
 * the real ingest (the backfill in bench/phases.ts) in a child process. First without a heap cap: the counts must
 * come out exact (rows, in-file duplicates, quarantined, manifest totals). Then with --max-old-space-size=128,
 * the issue-6 target: the same day must load with the same counts. The V8 heap holds at most `spillRows`
 * (100 000) rows' dedupe/sort keys plus the landing file being read; quarantine entries hold flat copies of
 * their record text, never a slice that keeps a whole landing file alive (see docs/bench.md).
 * Needs `npx tsc -p tsconfig.build.json` first (runs dist/bench/phase-main.js).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResult, runPhase } from '../../bench/child.js';
import { FactTable } from '../../warehouse/index.js';
import { writeSyntheticDay, type SyntheticDay } from '../../bench/synthetic.js';

const ENTRY = path.resolve('dist/bench/phase-main.js');
const DAY = '2024-02-01';
const EVENTS = Number(process.env.BENCH_MEMORY_EVENTS ?? 300_000);
const HEAP_MB = 128;

let dir: string;
let synthetic: SyntheticDay;

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-perf-'));
  synthetic = writeSyntheticDay(path.join(dir, 'landing'), DAY, EVENTS);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ingest memory (child process, small heap)', () => {
  const run = (heapMb: number | null) => {
    let stderr = '';
    const flags = heapMb === null ? [] : [`--max-old-space-size=${heapMb}`];
    const result = runPhase('ingest', { landing: path.join(dir, 'landing'), warehouse: path.join(dir, `warehouse-${heapMb ?? 'default'}`), from: DAY, to: DAY, sources: ['stripe'], parallel: 2 }, { entry: ENTRY, nodeFlags: flags, onStderr: (s) => (stderr += s) });
    return { result, stderr: () => stderr };
  };

  it(`loads a day of ${EVENTS} events in a child process with exact counts`, async () => {
    const { result } = run(null);
    const r = await result;
    expect(r.detail).toMatchObject({ windows: 6, rowsWritten: synthetic.events, duplicates: synthetic.duplicates, quarantined: synthetic.bad });
    expect(r.rows).toBe(synthetic.events + synthetic.duplicates);
    expect(r.maxRssBytes).toBeGreaterThan(0);
    const table = await FactTable.open(path.join(dir, 'warehouse-default'));
    const manifest = await table.manifest(DAY);
    expect(manifest?.totals.reduce((n, t) => n + t.rows, 0)).toBe(synthetic.events);
    process.stderr.write(`perf: ${EVENTS} events, ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (no heap cap)\n`);
  });

  // Issue 6 target: a (source, day) commit of any size within a 128 MB heap. Before the fix the child died of
  // "heap out of memory" here (quarantine entries kept whole landing files alive; 250 000 rows of keys on the heap).
  it(`loads the same day with --max-old-space-size=${HEAP_MB} with exact counts`, async () => {
    const { result, stderr } = run(HEAP_MB);
    let r;
    try {
      r = await result;
    } catch (e) {
      throw new Error(`the ingest child failed under --max-old-space-size=${HEAP_MB}: ${(e as Error).message}\n${stderr().slice(-2000)}`);
    }
    expect(r.detail).toMatchObject({ windows: 6, rowsWritten: synthetic.events, duplicates: synthetic.duplicates, quarantined: synthetic.bad });
    expect(r.rows).toBe(synthetic.events + synthetic.duplicates);
    const manifest = await (await FactTable.open(path.join(dir, `warehouse-${HEAP_MB}`))).manifest(DAY);
    expect(manifest?.totals.reduce((n, t) => n + t.rows, 0)).toBe(synthetic.events);
    process.stderr.write(`perf: ${EVENTS} events, ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (--max-old-space-size=${HEAP_MB})\n`);
  });
});

/**
 * Compaction memory guard (issue 11 item 3, never a timing): the day loaded above (no heap cap) is compacted in a
 * child process into files of ~2 MB — many output files, the case whose memory grew with the day: the code before
 * sorted the whole day into one DuckDB table (its memory limit 512MB, RSS ~1.2 GB at 5 M events) and cut the files
 * from it. With compaction's own DuckDB limit at 64MB and 1 thread, each file is one COPY of its slices of the
 * partition order; the child's peak RSS must stay within COMPACT_RSS_MB and the rows and totals be exact.
 * Measured on this day (22:27 UTC, load 18–31): 310 MB; the code before: 623 MB (512MB, 2 threads), and with its
 * memoryLimit at 64MB and 1 thread it failed ("Out of Memory Error: failed to allocate data of size 1.0 MiB").
 */
const COMPACT_RSS_MB = 400;

describe('compaction memory (child process, bounded DuckDB)', () => {
  it(`compacts the day of ${EVENTS} events into ~2 MB files with peak RSS <= ${COMPACT_RSS_MB} MB, rows and totals exact`, async () => {
    const warehouse = path.join(dir, 'warehouse-default');
    const before = await (await FactTable.open(warehouse)).manifest(DAY);
    expect(before?.files.length).toBeGreaterThan(0); // loaded by the first test of this file
    const configFile = path.join(dir, 'compact.yaml');
    writeFileSync(configFile, 'compaction:\n  targetFileBytes: 2097152\ntuning:\n  compactMemoryLimit: 64MB\n  compactThreads: 1\n');
    let stderr = '';
    const r = await runPhase('compact', { landing: path.join(dir, 'landing'), warehouse, from: DAY, to: DAY, configFile }, { entry: ENTRY, onStderr: (x) => (stderr += x) }).catch((e: Error) => {
      throw new Error(`the compaction child failed: ${e.message}\n${stderr.slice(-2000)}`);
    });
    expect(r.rows).toBe(synthetic.events);
    expect(r.detail.filesAfter as number).toBeGreaterThan(3);
    const after = await (await FactTable.open(warehouse)).manifest(DAY);
    expect(after?.totals).toEqual(before?.totals);
    expect(after?.files.length).toBe(r.detail.filesAfter);
    process.stderr.write(`perf: compaction of ${EVENTS} events into ${String(r.detail.filesAfter)} files, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (compactMemoryLimit 64MB, 1 thread)\n`);
    expect(r.maxRssBytes / 2 ** 20).toBeLessThanOrEqual(COMPACT_RSS_MB);
  });
});

describe('bench child protocol', () => {
  it('parses the result line and rejects output without one', () => {
    expect(parseResult('ingest', 'noise\nBENCH_RESULT {"seconds":1.5,"rows":10,"maxRssBytes":2048,"detail":{}}\n')).toEqual({ seconds: 1.5, rows: 10, maxRssBytes: 2048, detail: {} });
    expect(() => parseResult('ingest', 'no result here')).toThrow(/bench phase ingest printed no BENCH_RESULT line/);
    expect(() => parseResult('compact', 'BENCH_RESULT {"seconds":"x"}')).toThrow(/bench phase compact: malformed result/);
  });
});
