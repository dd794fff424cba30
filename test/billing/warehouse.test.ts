/**
 * End to end with the real warehouse: MRR versions → delta events committed by FactTable → bill → check.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventId } from '../../events/identity.js';
import { makeEvent, type BillingEvent } from '../../events/model.js';
import { Decimal, Money } from '../../events/money.js';
import { utcTimestamp, type MrrObservation } from '../../events/mrr.js';


import { rows, sqlString, withBillingDuck as withDuck } from '../../jobs/billing/views.js';
import { planMrr } from '../../jobs/billing/mrr-store.js';
import { FactTable } from '../../warehouse/index.js';
import { checkBilling, cleanup, runBilling, tempWarehouse } from './fact.js';

const NOW = Date.parse('2024-04-10T12:00:00Z');
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

function charge(id: string, iso: string, amount: string): BillingEvent {
  const ts = utcTimestamp(us(iso));
  return makeEvent({
    eventId: eventId({ billingSource: 'zuora', sourceObjectType: 'invoice_item', sourceRecordId: id }),
    seqn: 1n,
    billingSource: 'zuora',
    eventType: 'INVOICE_ITEM_CHARGED',
    sourceObjectType: 'invoice_item',
    sourceRecordId: id,
    ts,
    sourceTsRaw: ts.utc,
    sourceTimezone: 'UTC',
    amount: Money.major(amount, 'USD'),
    accountId: 'A1',
    subscriptionId: 'S1',
    lineage: { sourceFile: 'invoice_items.csv', sourcePosition: 2, ingestRunId: 'test' },
  });
}

function version(seq: number, iso: string, mrr: string): MrrObservation {
  return { billingSource: 'zuora', subscriptionId: 'S1', accountId: 'A1', versionSeq: BigInt(seq), version: `v${seq}`, effectiveTs: us(iso), mrr: Money.major(mrr, 'USD'), location: { file: 'subscriptions.csv', line: seq + 1 } };
}

/** Plans the MRR observations against the committed state and commits the deltas, the charges and the state as one ingest. */
async function commit(w: string, runId: string, events: BillingEvent[], observations: MrrObservation[] = []) {
  const table = await FactTable.open(w, { now: () => NOW });
  const plan = await planMrr(table, 'zuora', observations, runId);
  const res = await table.commitIngest({ runId, source: 'zuora', windows: [], inputs: [{ path: `${runId}.csv`, sha256: runId, bytes: 1 }], events: [...events, ...plan.events], quarantine: [], tables: plan.tables });
  expect(res.skipped).toBe(false);
  return plan;
}

describe('billing on the real fact table', () => {
  it('MRR deltas and charges are billed; a late older MRR version self-heals into the next cycle', async () => {
    const w = await tempWarehouse(dirs);
    await commit(w, 'ingest-1', [charge('ii-1', '2024-01-03T00:00:00Z', '100.00')], [version(1, '2024-01-03T00:00:00Z', '100'), version(3, '2024-01-20T00:00:00Z', '300')]);
    const b1 = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    expect(b1.manifest!.counts.assignments).toBe(3);

    // v2 (dated in January, between v1 and v3) arrives after January was billed
    const p2 = await commit(w, 'ingest-2', [], [version(2, '2024-01-10T00:00:00Z', '250')]);
    expect(p2.events.map((e) => e.mrrDelta!.toFixed())).toEqual(['150.000000000', '-150.000000000']);
    const b2 = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-29', now: NOW });
    expect(b2.manifest!.counts).toMatchObject({ late: 2, onTime: 0 });

    const recs = await withDuck((c) =>
      rows(c, `SELECT cycle_id, CAST(amount_sum AS VARCHAR) AS a, CAST(mrr_delta_sum AS VARCHAR) AS m, late_event_count AS l FROM read_parquet(${sqlString(`${w}/billing_records/*/*.parquet`)}) ORDER BY cycle_id`),
    );
    expect(recs).toEqual([
      { cycle_id: 'monthly:account:zuora:A1:2024-01-01..2024-02-01', a: '100.000000000', m: '300.000000000', l: 0n },
      { cycle_id: 'monthly:account:zuora:A1:2024-02-01..2024-03-01', a: '0.000000000', m: '0.000000000', l: 2n },
    ]);
    // billed MRR change over both cycles equals the latest MRR
    expect(recs.reduce((s, r) => s.plus(new Decimal(String(r.m))), new Decimal(0)).toFixed(9)).toBe('300.000000000');
    const check = await checkBilling(w);
    expect(check.violations).toEqual([]);
    expect(check.factEvents).toBe(5);
  });
});
