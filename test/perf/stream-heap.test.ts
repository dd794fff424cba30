/**
 * Issue 11 item 3, the heap-capped guard (never a timing): ONE landing file several times bigger than the V8 heap
 * the ingest child may use. Reading it whole (as the readers did before they streamed: the file's text as one
 * string) cannot fit that heap, so the child died of "JavaScript heap out of memory"; streamed, the ingest must
 * succeed and the table must hold exactly the generator's truth: rows, in-file duplicates, quarantined lines,
 * and the amount totals per currency in the day's manifest.
 * Needs `npx tsc -p tsconfig.build.json` first (runs dist/bench/phase-main.js).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhase } from '../../bench/child.js';
import { writeSyntheticDay, type SyntheticDay } from '../../bench/synthetic.js';
import { FactTable } from '../../warehouse/index.js';

const ENTRY = path.resolve('dist/bench/phase-main.js');
const DAY = '2024-02-01';
const HEAP_MB = 96;
const EVENTS = 40_000;
/** ~8 KB a line: one file of ~330 MB, more than 3× the heap cap. */
const PAD = 8_000;
const MINOR_DIGITS: Record<string, number> = { usd: 2, eur: 2, gbp: 2, jpy: 0 };

describe(`a landing file several times bigger than the heap (--max-old-space-size=${HEAP_MB})`, () => {
  let dir: string;
  let truth: SyntheticDay;
  beforeAll(() => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'bm-stream-heap-'));
    truth = writeSyntheticDay(path.join(dir, 'landing'), DAY, EVENTS, { windows: 1, padChars: PAD });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ingests it streamed: exact rows, duplicates, quarantine and amount totals per currency', async () => {
    expect(truth.largestFileBytes).toBeGreaterThan(3 * HEAP_MB * 2 ** 20);
    let stderr = '';
    const warehouse = path.join(dir, 'warehouse');
    let r;
    try {
      r = await runPhase('ingest', { landing: path.join(dir, 'landing'), warehouse, from: DAY, to: DAY, sources: ['stripe'], parallel: 1 }, { entry: ENTRY, nodeFlags: [`--max-old-space-size=${HEAP_MB}`], onStderr: (s) => (stderr += s) });
    } catch (e) {
      throw new Error(`the ingest child failed under --max-old-space-size=${HEAP_MB}: ${(e as Error).message}\n${stderr.slice(-2000)}`);
    }
    expect(r.detail).toMatchObject({ rowsWritten: truth.events, duplicates: truth.duplicates, quarantined: truth.bad });
    expect(r.rows).toBe(truth.events + truth.duplicates);
    const manifest = await (await FactTable.open(warehouse)).manifest(DAY);
    const totals = manifest?.totals ?? [];
    expect(totals.reduce((n, t) => n + t.rows, 0)).toBe(truth.events);
    const sums: Record<string, string> = {};
    for (const t of totals) sums[t.currency.toLowerCase()] = new Decimal(sums[t.currency.toLowerCase()] ?? 0).plus(t.amount_sum).toString();
    const expected = Object.fromEntries(Object.entries(truth.minorSums!).map(([c, minor]) => [c, new Decimal(minor).div(10 ** MINOR_DIGITS[c]!).toString()]));
    expect(sums).toEqual(expected);
    process.stderr.write(`perf: one ${(truth.largestFileBytes! / 2 ** 20).toFixed(0)} MB landing file, ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (--max-old-space-size=${HEAP_MB})\n`);
  });
});
