/**
 * Issue 11 item 3, the heap-capped guard of a big source-day (never a timing): a source whose objects are history
 * tables (Recurly's `invoice_history`, the built-in recurly source) holds every version until the source-day's
 * stream ends, to keep each event's earliest version. The prepare worker of that source-day ran out of its heap
 * on the generator's 2 M-event day (Recurly's ~200 k history events: "a prepare worker thread ran out of its
 * 192 MB heap"); here a synthetic history day of INVOICES invoices × 3 versions is ingested by the real backfill
 * in a child process under `--max-old-space-size=HEAP_MB` and `tuning.spillRows` SPILL_ROWS — the prepare workers get no more heap than their
 * process (jobs/prepare-pool.ts workerHeapMb). Held in memory, its 2 × INVOICES winning events alone are more
 * than that heap; spilled past the budget to the prepare's scratch (connectors/mapping/session.ts), it must load
 * with the exact rows, repeated versions and totals.
 * Needs `npx tsc -p tsconfig.build.json` first (runs dist/bench/phase-main.js).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhase } from '../../bench/child.js';
import { writeSyntheticHistoryDay, type SyntheticHistoryDay } from '../../bench/synthetic.js';
import { FactTable } from '../../warehouse/index.js';

const ENTRY = path.resolve('dist/bench/phase-main.js');
const DAY = '2024-02-01';
const HEAP_MB = 64;
const INVOICES = 50_000;
/** The staging's budget (and so the hold's, a quarter of it: jobs/prepare.ts prepareSpill), sized for that heap. */
const SPILL_ROWS = 20_000;

describe(`a history source-day bigger than the prepare worker's heap (--max-old-space-size=${HEAP_MB})`, () => {
  let dir: string;
  let truth: SyntheticHistoryDay;
  beforeAll(() => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'bm-history-heap-'));
    truth = writeSyntheticHistoryDay(path.join(dir, 'landing'), DAY, INVOICES);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ingests it with its versions spilled: exact rows, repeated versions and totals per event type', async () => {
    let stderr = '';
    const warehouse = path.join(dir, 'warehouse');
    const configFile = path.join(dir, 'tuning.yaml');
    writeFileSync(configFile, `tuning:\n  spillRows: ${SPILL_ROWS}\n`);
    let r;
    try {
      r = await runPhase('ingest', { landing: path.join(dir, 'landing'), warehouse, from: DAY, to: DAY, sources: ['recurly'], parallel: 1, configFile }, { entry: ENTRY, nodeFlags: [`--max-old-space-size=${HEAP_MB}`], onStderr: (s) => (stderr += s) });
    } catch (e) {
      throw new Error(`the ingest child failed under --max-old-space-size=${HEAP_MB}: ${(e as Error).message}\n${stderr.slice(-2000)}`);
    }
    expect(r.detail).toMatchObject({ rowsIn: truth.events, rowsWritten: truth.events, duplicates: 0, quarantined: 0 });
    const table = await FactTable.open(warehouse);
    const manifest = await table.manifest(DAY);
    const byType = Object.fromEntries((manifest?.totals ?? []).map((t) => [t.event_type, { rows: t.rows, sum: t.amount_sum }]));
    const dollars = `${truth.totalCents / 100n}.${String(truth.totalCents % 100n).padStart(2, '0')}`;
    expect(Number(byType.INVOICE_POSTED?.rows)).toBe(truth.invoices);
    expect(Number(byType.INVOICE_PAID?.rows)).toBe(truth.invoices);
    expect(new Decimal(byType.INVOICE_POSTED!.sum).toFixed(2)).toBe(dollars);
    expect(new Decimal(byType.INVOICE_PAID!.sum).toFixed(2)).toBe(dollars);
    process.stderr.write(`perf: history day of ${truth.records} versions (${truth.events} events), ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (--max-old-space-size=${HEAP_MB})\n`);
  });
});
