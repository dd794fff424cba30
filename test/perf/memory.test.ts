/**
 * Memory regression guard (never a timing): a large single day (300 000 synthetic Stripe events) goes through
 * the real ingest (the backfill in bench/phases.ts) in a child process. First without a heap cap: the counts must
 * come out exact (rows, in-file duplicates, quarantined, manifest totals). Then with --max-old-space-size=128,
 * the issue-6 target: holding the day as objects exceeds the cap and kills the child; streaming row groups and
 * spilling sorted runs keeps it alive. That target is not met yet (see docs/bench.md), hence `it.fails`.
 * Needs `npx tsc -p tsconfig.build.json` first (runs dist/bench/phase-main.js).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

describe('ingest memory (child process, small heap)', () => {
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

  // Issue 6 target, NOT MET yet: the ingest keeps per-event state (the dedupe map of every event_id of the batch,
  // up to spillRows rows as objects) on the V8 heap and dies of "heap out of memory" under a 128 MB cap.
  // `it.fails` keeps the suite green while that is true and turns red the day the target holds (or when the
  // child fails for any other reason than running out of heap): then change `it.fails` to `it`.
  it.fails(`loads the same day with --max-old-space-size=${HEAP_MB} (target; known to fail: heap out of memory)`, async () => {
    const { result, stderr } = run(HEAP_MB);
    let r;
    try {
      r = await result;
    } catch (e) {
      if (/heap out of memory|SIGABRT/i.test(`${stderr()} ${(e as Error).message}`)) throw e;
      return; // any other failure: let it.fails report it
    }
    expect(r.detail).toMatchObject({ rowsWritten: synthetic.events, duplicates: synthetic.duplicates, quarantined: synthetic.bad });
  });
});

describe('bench child protocol', () => {
  it('parses the result line and rejects output without one', () => {
    expect(parseResult('ingest', 'noise\nBENCH_RESULT {"seconds":1.5,"rows":10,"maxRssBytes":2048,"detail":{}}\n')).toEqual({ seconds: 1.5, rows: 10, maxRssBytes: 2048, detail: {} });
    expect(() => parseResult('ingest', 'no result here')).toThrow(/bench phase ingest printed no BENCH_RESULT line/);
    expect(() => parseResult('compact', 'BENCH_RESULT {"seconds":"x"}')).toThrow(/bench phase compact: malformed result/);
  });
});
