/**
 * The independent recount: the day listed again by creation time and mapped in memory equals the table for the
 * event types it vouches for, and sees a record the table is missing.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowsOfDay } from '../../partitions/index.js';
import { tempDirsPerTest } from '../jobs/helpers.js';
import { duckQuery, factGlob } from '../warehouse/duck-read.js';
import { ingest, type PullEnv, pullEnv, sec, standInPerTest } from './helpers.js';
import { addChargebee, addStripe, chargebeeStore, stripeStore } from './scale.js';

const dir = tempDirsPerTest('bm-api-rc-');
const standIns = standInPerTest();

const DAY = '2024-03-05';
const W = windowsOfDay(DAY);

async function tableTotals(e: PullEnv, source: string, types: string[]) {
  const r = await duckQuery(
    `SELECT event_type, currency, count(*)::INTEGER, sum(amount)::VARCHAR FROM read_parquet('${factGlob(e.config.warehouse)}', hive_partitioning = true)
     WHERE billing_source = '${source}' AND event_date = DATE '${DAY}' AND event_type IN (${types.map((t) => `'${t}'`).join(',')}) GROUP BY ALL ORDER BY 1, 2`,
  );
  return r.map((x) => ({ event_type: String(x[0]), currency: String(x[1]), rows: Number(x[2]), amount_sum: String(x[3]) }));
}

describe.each(['stripe', 'chargebee'] as const)('%s recount', (source) => {
  it('matches the table for the event types it vouches for, and finds what the table misses', async () => {
    const range = { fromSec: sec(`${DAY}T00:00:00Z`), toSec: sec(`${DAY}T23:59:59Z`) };
    const standin =
      source === 'stripe'
        ? await standIns.start({ stripe: stripeStore({ ...range, per: { charge: 90, refund: 20, balance_transaction: 20, dispute: 9, invoice: 10 } }) })
        : await standIns.start({ chargebee: chargebeeStore({ ...range, per: { invoice: 40, transaction: 40, credit_note: 9, subscription: 10 } }) });
    const e = await pullEnv(dir(), standin, { now: '2024-03-06T01:00:00Z' });
    const run = await ingest(e, source, { startMs: W[0]!.startMs, endMs: W[5]!.endMs }, { covers: W, lookbackHours: 0, trigger: 'backfill' });
    expect(run.error).toBeNull();
    const port = e.app.deps.source(source);
    const rc = await port.recount!(DAY);
    expect(rc.method).toBe('api-recount');
    const vouched = source === 'stripe' ? ['CHARGEBACK_OPENED', 'FEE_CHARGED', 'PAYMENT_PROCESSED', 'REFUND_PROCESSED'] : ['CREDIT_MEMO_POSTED', 'INVOICE_POSTED', 'PAYMENT_PROCESSED'];
    expect(rc.eventTypes).toEqual(expect.arrayContaining(vouched));
    expect(rc.eventTypes).not.toContain(source === 'stripe' ? 'INVOICE_PAID' : 'INVOICE_PAID'); // timed at payment, not creation
    expect(rc.totals.length).toBeGreaterThan(3);
    expect(rc.totals).toEqual(await tableTotals(e, source, rc.eventTypes));
    // an object created that day that the table does not have (it appeared after the pull): the recount counts it
    if (source === 'stripe') addStripe(standin.stripe, { fromSec: sec(`${DAY}T12:00:00Z`), toSec: sec(`${DAY}T12:00:01Z`), per: { charge: 1 }, tag: 'LATE' });
    else addChargebee(standin.chargebee, { fromSec: sec(`${DAY}T12:00:00Z`), toSec: sec(`${DAY}T12:00:01Z`), per: { transaction: 1 }, tag: 'LATE' });
    const after = await port.recount!(DAY);
    const rows = (t: typeof rc.totals) => t.reduce((n, x) => n + x.rows, 0);
    expect(rows(after.totals)).toBe(rows(rc.totals) + 1);
    expect(path.isAbsolute(e.config.landing)).toBe(true);
  });
});
