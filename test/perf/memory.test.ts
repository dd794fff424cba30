/**
 * Memory regression guard (never a timing): a large single day goes through the real ingest (the backfill in
 * bench/phases.ts) in a child process whose V8 heap is capped with --max-old-space-size=128. Holding the day's
 * rows as objects would exceed the cap and kill the child; streaming row groups and spilling sorted runs keeps
 * it alive. The row counts must come out exact. Needs `npx tsc -p tsconfig.build.json` first (uses dist/).
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

  it(`loads a day of ${EVENTS} events with --max-old-space-size=${HEAP_MB} and exact counts`, async () => {
    const warehouse = path.join(dir, 'warehouse');
    let stderr = '';
    const r = await runPhase(
      'ingest',
      { landing: path.join(dir, 'landing'), warehouse, from: DAY, to: DAY, sources: ['stripe'], parallel: 2 },
      { entry: ENTRY, nodeFlags: [`--max-old-space-size=${HEAP_MB}`], onStderr: (s) => (stderr += s) },
    );
    expect(stderr).not.toMatch(/heap out of memory/i);
    expect(r.detail).toMatchObject({ windows: 6, rowsWritten: synthetic.events, duplicates: synthetic.duplicates, quarantined: synthetic.bad });
    expect(r.rows).toBe(synthetic.events + synthetic.duplicates);
    expect(r.maxRssBytes).toBeGreaterThan(0);
    const table = await FactTable.open(warehouse);
    const manifest = await table.manifest(DAY);
    expect(manifest?.totals.reduce((n, t) => n + t.rows, 0)).toBe(synthetic.events);
    process.stderr.write(`perf: ${EVENTS} events, ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (heap cap ${HEAP_MB} MB)\n`);
  });
});

describe('bench child protocol', () => {
  it('parses the result line and rejects output without one', () => {
    expect(parseResult('ingest', 'noise\nBENCH_RESULT {"seconds":1.5,"rows":10,"maxRssBytes":2048,"detail":{}}\n')).toEqual({ seconds: 1.5, rows: 10, maxRssBytes: 2048, detail: {} });
    expect(() => parseResult('ingest', 'no result here')).toThrow(/bench phase ingest printed no BENCH_RESULT line/);
    expect(() => parseResult('compact', 'BENCH_RESULT {"seconds":"x"}')).toThrow(/bench phase compact: malformed result/);
  });
});
