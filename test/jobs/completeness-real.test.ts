/**
 * Completeness against a control export a real source gives: a Stripe "Balance change from activity" itemised
 * report (derived from the real Fivetran balance_transaction seed, test/fixtures/control/stripe-balance-report)
 * declared in config, checked through the real app (landing zone → Parquet fact table → checker → _SUCCESS).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STRIPE } from '../../config/builtin/stripe.js';
import { loadConfig } from '../../config/index.js';
import { windowsOfDay } from '../../partitions/index.js';
import { openApp } from '../../jobs/app.js';
import { checkCompleteness } from '../../jobs/checker.js';
import { ManualClock } from '../../jobs/clock.js';
import { runIngest } from '../../jobs/ingest.js';
import { memoryLogger } from '../../jobs/log.js';
import { tempDirsPerTest } from './helpers.js';

const dir = tempDirsPerTest();
const FIX = path.resolve(import.meta.dirname, '../fixtures');
const REPORT = path.join(FIX, 'control', 'stripe-balance-report');
const DAYS = readdirSync(REPORT).filter((n) => /^\d{4}-\d{2}-\d{2}$/.test(n)).sort();

/** The balance report mapped like a source object: each line is one balance transaction; its fee is a FEE_CHARGED. */
const BALANCE_REPORT = {
  kind: 'export',
  file: 'balance_change_from_activity',
  formats: ['csv'],
  day: { column: 'created_utc' },
  currency: { column: 'currency' },
  totals: [{ eventType: 'FEE_CHARGED', amount: { column: 'fee', unit: 'major', sign: -1 } }],
};

async function setup() {
  const root = dir();
  const landing = path.join(root, 'landing');
  const folder = path.join(landing, 'stripe', DAYS[0]!, '00');
  mkdirSync(folder, { recursive: true });
  copyFileSync(path.join(FIX, 'stripe', 'balance_transaction.csv'), path.join(folder, 'balance_transaction.csv'));
  writeFileSync(path.join(folder, '_SUCCESS'), '');
  for (const d of DAYS) {
    mkdirSync(path.join(landing, 'stripe', '_control', d), { recursive: true });
    copyFileSync(path.join(REPORT, d, 'balance_change_from_activity.csv'), path.join(landing, 'stripe', '_control', d, 'balance_change_from_activity.csv'));
  }
  const configFile = path.join(root, 'billing-mart.yaml');
  writeFileSync(configFile, JSON.stringify({ landing, warehouse: path.join(root, 'wh'), builtins: 'none', sources: [{ ...STRIPE, completeness: { control: BALANCE_REPORT } }] }));
  const clock = new ManualClock('2021-03-20T00:00:00Z');
  const app = await openApp(loadConfig({ configFile, env: {} }), { clock, log: memoryLogger(clock) });
  // one run loads the file and records every window of the report's days as loaded
  const covers = DAYS.flatMap((d) => windowsOfDay(d));
  const rec = await runIngest(app.deps, { source: 'stripe', window: { startMs: covers[0]!.startMs, endMs: covers.at(-1)!.endMs }, covers, trigger: 'backfill', lookbackHours: 0 });
  expect(rec).toMatchObject({ status: 'succeeded', rowsWritten: 9 });
  return { app, landing };
}

describe('completeness with a Stripe balance report declared as the control export', () => {
  it('every day of the report reaches COMPLETE with _SUCCESS saying where the numbers came from', async () => {
    const { app } = await setup();
    const out = await checkCompleteness(app.deps, { days: DAYS, trigger: 'manual' });
    expect(out.days.map((d) => [d.day, d.results[0]!.status, d.level, d.success])).toEqual(DAYS.map((d) => [d, 'COMPLETE', 'COMPLETE', 'written']));
    const mar12 = await app.table.readSuccess('2021-03-12');
    expect(mar12).toMatchObject({
      level: 'COMPLETE',
      sources: {
        stripe: {
          level: 'COMPLETE',
          proof: 'export',
          controlOrigin: 'stripe/_control/2021-03-12/balance_change_from_activity.csv',
          totals: [{ event_type: 'FEE_CHARGED', currency: 'USD', rows: 2, amount_sum: '-3548.380000000' }],
        },
      },
    });
  });

  it('a balance transaction the report knows and the landing zone lacks keeps the day INCOMPLETE, to the cent', async () => {
    const { app, landing } = await setup();
    const file = path.join(landing, 'stripe', '_control', '2021-03-12', 'balance_change_from_activity.csv');
    writeFileSync(file, readFileSync(file, 'utf8') + 'txn_missing,2021-03-12 23:59:59,2021-03-19 00:00:00,usd,10.00,0.59,9.41,charge,ch_missing,late\n');
    const out = await checkCompleteness(app.deps, { days: ['2021-03-12'], trigger: 'manual' });
    // not even ARRIVED: the day's own landing folders were never delivered (the seed sits in the first day's folder)
    expect(out.days[0]).toMatchObject({ complete: false, level: 'NONE', success: 'none' });
    expect(out.days[0]!.results[0]!.undeliveredWindows).toHaveLength(6);
    expect(out.days[0]!.results[0]).toMatchObject({
      status: 'INCOMPLETE',
      beforeHeal: 'INCOMPLETE',
      diffs: [{ event_type: 'FEE_CHARGED', currency: 'USD', expectedRows: 3, actualRows: 2, missingRows: 1, missingAmount: '-0.590000000' }],
    });
  });
});
