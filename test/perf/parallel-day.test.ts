/**
 * The two-big-prepares guard (issue 11 item 3, never a timing): ONE day holding two big (source, day) units, the
 * 200 000 Stripe charges of the spilled-day guard delivered twice in one batch and the 50 000-invoice Recurly history
 * day of the history guard (its versions held and spilled), goes through the real backfill at `--parallel 2` in a
 * child process under a capped V8 heap: both prepares run at once, on the two worker threads, each far past the
 * spill budget. It must load both with their exact rows, duplicates and totals at a peak RSS <= RSS_MB.
 * HEAP_MB leaves the prepare workers their default heap (jobs/prepare-pool.ts WORKER_HEAP_MB). The code before
 * 2026-12-02 07:00 UTC gave each of the two prepares the whole spill budget, converted the staged days on the
 * shared DuckDB side by side and kept each worker's grown heap for the next unit: this day took the child to
 * 538 MB (525 MB under --max-old-space-size=128; 06:37–06:47 UTC, load 15–20); the budget shared, 377 MB (370 MB).
 * See docs/bench.md, "Two big prepares at once".
 * Needs `npx tsc -p tsconfig.build.json` first (runs dist/bench/phase-main.js).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhase } from '../../bench/child.js';
import { writeSyntheticDay, writeSyntheticHistoryDay, type SyntheticDay, type SyntheticHistoryDay } from '../../bench/synthetic.js';
import { FactTable } from '../../warehouse/index.js';
import { duckQuery, factGlob } from '../warehouse/duck-read.js';

const ENTRY = path.resolve('dist/bench/phase-main.js');
const DAY = '2024-03-01';
const CHARGES = 200_000;
const INVOICES = 50_000;
const HEAP_MB = 256;
const RSS_MB = 512;

let dir: string;
let charges: SyntheticDay;
let history: SyntheticHistoryDay;

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-parallel-day-'));
  charges = writeSyntheticDay(path.join(dir, 'landing'), DAY, CHARGES, { windows: 1, redelivered: true });
  history = writeSyntheticHistoryDay(path.join(dir, 'landing'), DAY, INVOICES);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two big source-days prepared at once (--parallel 2, child process, small heap, bounded RSS)', () => {
  it(`loads ${CHARGES} charges delivered twice and ${INVOICES} invoices × 3 versions with exact counts and totals, peak RSS <= ${RSS_MB} MB`, async () => {
    const warehouse = path.join(dir, 'warehouse');
    let stderr = '';
    const r = await runPhase('ingest', { landing: path.join(dir, 'landing'), warehouse, from: DAY, to: DAY, sources: ['stripe', 'recurly'], parallel: 2 }, { entry: ENTRY, nodeFlags: [`--max-old-space-size=${HEAP_MB}`], onStderr: (s) => (stderr += s) }).catch((e: Error) => {
      throw new Error(`the ingest child failed: ${e.message}\n${stderr.slice(-2000)}`);
    });
    expect(charges.duplicates).toBeGreaterThan(CHARGES);
    expect(r.detail).toMatchObject({ rowsWritten: charges.events + history.events, duplicates: charges.duplicates, quarantined: charges.bad });
    expect(r.rows).toBe(charges.events + charges.duplicates + history.events);
    const table = await FactTable.open(warehouse);
    const manifest = await table.manifest(DAY);
    expect(manifest?.totals.reduce((n, t) => n + t.rows, 0)).toBe(charges.events + history.events);
    const facts = `read_parquet('${factGlob(warehouse)}', hive_partitioning = true)`;
    // Stripe: the exact minor-unit sums per currency, one row per charge
    const stripe = await duckQuery(
      `SELECT lower(currency), (sum(amount) * CASE WHEN currency = 'JPY' THEN 1 ELSE 100 END)::BIGINT::VARCHAR, count(DISTINCT event_id), count(*)
       FROM ${facts} WHERE billing_source = 'stripe' GROUP BY currency ORDER BY 1`,
    );
    expect(Object.fromEntries(stripe.map((x) => [String(x[0]), String(x[1])]))).toEqual(charges.minorSums);
    expect(stripe.reduce((n, x) => n + Number(x[2]), 0)).toBe(charges.events);
    expect(stripe.reduce((n, x) => n + Number(x[3]), 0)).toBe(charges.events);
    // Recurly: one INVOICE_POSTED and one INVOICE_PAID per invoice, each summing to the invoices' totals
    const recurly = await duckQuery(
      `SELECT event_type, count(*), count(DISTINCT event_id), (sum(amount) * 100)::BIGINT::VARCHAR FROM ${facts} WHERE billing_source = 'recurly' GROUP BY ALL ORDER BY 1`,
    );
    expect(recurly.map((x) => [String(x[0]), Number(x[1]), Number(x[2]), String(x[3])])).toEqual([
      ['INVOICE_PAID', INVOICES, INVOICES, history.totalCents.toString()],
      ['INVOICE_POSTED', INVOICES, INVOICES, history.totalCents.toString()],
    ]);
    const dollars = new Decimal(history.totalCents.toString()).div(100).toFixed(2);
    const byType = Object.fromEntries((manifest?.totals ?? []).filter((t) => t.billing_source === 'recurly').map((t) => [t.event_type, new Decimal(t.amount_sum).toFixed(2)]));
    expect(byType).toEqual({ INVOICE_PAID: dollars, INVOICE_POSTED: dollars });
    process.stderr.write(`perf: two big source-days at --parallel 2 (${r.rows} events), ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB (--max-old-space-size=${HEAP_MB})\n`);
    expect(r.maxRssBytes / 2 ** 20).toBeLessThanOrEqual(RSS_MB);
  }, 600_000);
});
