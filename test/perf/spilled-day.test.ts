/**
 * The spilled source-day guard (issue 11 item 3, never a timing): ONE (source, window) batch far past the spill
 * budget, every record delivered twice in two files, goes through the real ingest in a child process under a
 * small V8 heap. The batch spills sorted runs whose duplicates sit in different runs; the merge of those runs must
 * keep exactly one row per charge (the first file's, by the batch rule: same seqn, the higher source_file wins)
 * and its peak RSS must stay within SPILLED_RSS_MB, whatever DuckDB's `memoryLimit` (512MB by default).
 * The code before merged the runs in DuckDB (a window over the day's duplicates, an ORDER BY of the whole day on
 * its 512MB instance): this day took the child to 733 MB of RSS (2026-12-02 03:27 UTC, load 12); the stage's merge
 * (warehouse/run-merge.ts: one read chunk per run, candidates in groups of at most spillRows) 386–481 MB.
 * Needs `npx tsc -p tsconfig.build.json` first (runs dist/bench/phase-main.js).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhase } from '../../bench/child.js';
import { writeSyntheticDay, type SyntheticDay } from '../../bench/synthetic.js';
import { FactTable } from '../../warehouse/index.js';
import { duckQuery, factGlob } from '../warehouse/duck-read.js';

const ENTRY = path.resolve('dist/bench/phase-main.js');
const DAY = '2024-03-01';
const EVENTS = 200_000;
const HEAP_MB = 128;
const SPILLED_RSS_MB = 512;

let dir: string;
let truth: SyntheticDay;

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-spilled-'));
  truth = writeSyntheticDay(path.join(dir, 'landing'), DAY, EVENTS, { windows: 1, redelivered: true });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a spilled source-day (child process, small heap, bounded RSS)', () => {
  it(`loads ${EVENTS} charges delivered twice in one batch with exact counts and totals, peak RSS <= ${SPILLED_RSS_MB} MB`, async () => {
    const warehouse = path.join(dir, 'warehouse');
    let stderr = '';
    const r = await runPhase('ingest', { landing: path.join(dir, 'landing'), warehouse, from: DAY, to: DAY, sources: ['stripe'], parallel: 1 }, { entry: ENTRY, nodeFlags: [`--max-old-space-size=${HEAP_MB}`], onStderr: (s) => (stderr += s) }).catch((e: Error) => {
      throw new Error(`the ingest child failed: ${e.message}\n${stderr.slice(-2000)}`);
    });
    expect(truth.duplicates).toBeGreaterThan(EVENTS);
    expect(r.detail).toMatchObject({ windows: 6, rowsWritten: truth.events, duplicates: truth.duplicates, quarantined: truth.bad });
    expect(r.rows).toBe(truth.events + truth.duplicates);
    const table = await FactTable.open(warehouse);
    const manifest = await table.manifest(DAY);
    expect(manifest?.totals.reduce((n, t) => n + t.rows, 0)).toBe(truth.events);
    const rows = await duckQuery(
      `SELECT lower(currency), (sum(amount) * CASE WHEN currency = 'JPY' THEN 1 ELSE 100 END)::BIGINT::VARCHAR, count(DISTINCT event_id), count(*) FILTER (WHERE source_file NOT LIKE '%/charge.jsonl')
       FROM read_parquet('${factGlob(warehouse)}', hive_partitioning = true) GROUP BY currency ORDER BY 1`,
    );
    // the exact minor-unit sums per currency, one row per charge, every winner from charge.jsonl
    expect(Object.fromEntries(rows.map((x) => [String(x[0]), String(x[1])]))).toEqual(truth.minorSums);
    expect(rows.reduce((n, x) => n + Number(x[2]), 0)).toBe(truth.events);
    expect(rows.map((x) => Number(x[3]))).toEqual([0, 0, 0, 0]);
    process.stderr.write(`perf: spilled source-day of ${truth.events + truth.duplicates} records, ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (--max-old-space-size=${HEAP_MB})\n`);
    expect(r.maxRssBytes / 2 ** 20).toBeLessThanOrEqual(SPILLED_RSS_MB);
  }, 600_000);
});
