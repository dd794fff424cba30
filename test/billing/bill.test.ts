import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';


import { rows, withBillingDuck as withDuck, sqlString } from '../../jobs/billing/views.js';
import { listRuns, writeRun } from '../../jobs/billing/store.js';
import { FactTable } from '../../warehouse/index.js';
import { checkBilling, cleanup, eid, runBilling, runFile, tempWarehouse, writeFact } from './fact.js';

const NOW = Date.parse('2024-04-10T12:00:00Z');
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

async function records(w: string, run: number) {
  const file = await runFile(w, 'billing_records', run);
  return withDuck((c) =>
    rows(
      c,
      `SELECT cycle_id, currency, event_count, CAST(amount_sum AS VARCHAR) AS amount_sum, late_event_count, CAST(late_amount_sum AS VARCHAR) AS late_sum,
              CAST(mrr_delta_sum AS VARCHAR) AS mrr_sum, typeof(amount_sum) AS t, typeof(period_start) AS pt
       FROM read_parquet(${sqlString(file)}) ORDER BY cycle_id, currency`,
    ),
  );
}

async function assignments(w: string, run: number) {
  const file = await runFile(w, 'billing_assignments', run);
  return withDuck((c) => rows(c, `SELECT event_id, cycle_id, late, original_cycle_id FROM read_parquet(${sqlString(file)}) ORDER BY event_id`));
}

const JAN = [
  { id: 'e1', ts: '2024-01-05T10:00:00Z', amount: '100.10', mrr: '30' },
  { id: 'e2', ts: '2024-01-31T23:59:59.999999Z', amount: '0.000000001' },
  { id: 'e3', ts: '2024-01-10T00:00:00Z', account: 'A2', amount: '-20' },
  { id: 'e5', ts: '2024-01-07T08:00:00Z', amount: '10', currency: 'EUR' },
  { id: 'e4', ts: '2024-02-03T00:00:00Z', amount: '50' },
];

describe('bill: monthly per account', () => {
  it('assigns the events of closed cycles with exact totals per party and currency, once', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'load1', JAN);
    const r = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW, runId: 'run-jan' });
    expect(r.written).toBe(true);
    expect(r.manifest!.watermarkAfter).toBe('2024-02-01');
    expect(r.manifest!.timeline).toEqual([{ cycle: 'monthly', per: 'account', from: '2024-01-01' }]);
    const recs = await records(w, 1);
    expect(recs.map((x) => [x.cycle_id, x.currency, x.event_count, x.amount_sum, x.mrr_sum])).toEqual([
      ['monthly:account:zuora:A1:2024-01-01..2024-02-01', 'EUR', 1n, '10.000000000', '0.000000000'],
      ['monthly:account:zuora:A1:2024-01-01..2024-02-01', 'USD', 2n, '100.100000001', '30.000000000'],
      ['monthly:account:zuora:A2:2024-01-01..2024-02-01', 'USD', 1n, '-20.000000000', '0.000000000'],
    ]);
    expect(recs[0]!.t).toBe('DECIMAL(38,9)');
    expect(recs[0]!.pt).toBe('DATE');
    expect((await assignments(w, 1)).map((a) => a.event_id)).not.toContain(eid('e4')); // February is open
    // re-running writes nothing
    const again = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    expect(again.written).toBe(false);
    expect(again.notes.join('\n')).toMatch(/nothing written/);
    expect((await listRuns(await FactTable.open(w))).length).toBe(1);
    expect((await checkBilling(w)).ok).toBe(true);
  });

  it('a late event goes to the next open cycle, marked late with a pointer to its original cycle', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'load1', JAN);
    await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    // arrives after January was billed
    await writeFact(w, 'load2-late', [
      { id: 'e6', ts: '2024-01-20T12:00:00Z', amount: '5.00' },
      { id: 'e7', ts: '2024-01-25T12:00:00Z', account: 'A3', amount: '7' },
    ]);
    // February not over yet: the late events wait, nothing is written, the check reports them as pending
    const early = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-10', now: NOW });
    expect(early.written).toBe(false);
    expect(early.notes.join('\n')).toMatch(/2 late event\(s\) wait for the next cycle/);
    const pendingCheck = await checkBilling(w);
    expect(pendingCheck.ok).toBe(true);
    expect(pendingCheck.pending.map((p) => p.eventId).sort()).toEqual([eid('e6'), eid('e7')].sort());

    const r = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-29', now: NOW });
    expect(r.manifest!.counts).toMatchObject({ onTime: 1, late: 2, latePending: 0 });
    const recs = await records(w, 2);
    expect(recs.map((x) => [x.cycle_id, x.event_count, x.amount_sum, x.late_event_count, x.late_sum])).toEqual([
      ['monthly:account:zuora:A1:2024-02-01..2024-03-01', 2n, '55.000000000', 1n, '5.000000000'],
      ['monthly:account:zuora:A3:2024-02-01..2024-03-01', 1n, '7.000000000', 1n, '7.000000000'],
    ]);
    const asg = await assignments(w, 2);
    expect(asg.find((a) => a.event_id === eid('e6'))).toMatchObject({ late: true, original_cycle_id: 'monthly:account:zuora:A1:2024-01-01..2024-02-01' });
    expect(asg.find((a) => a.event_id === eid('e4'))).toMatchObject({ late: false, original_cycle_id: null });
    // January's records are untouched
    expect((await records(w, 1)).map((x) => x.amount_sum)).toEqual(['10.000000000', '100.100000001', '-20.000000000']);
    const check = await checkBilling(w);
    expect(check).toMatchObject({ ok: true, pending: [], runs: 2, assignments: 7 });
  });

  it('bills per subscription, and events without the key to the party "-" so nothing is lost', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l', [
      { id: 's1', ts: '2024-01-02T00:00:00Z', subscription: 'S1', amount: '1' },
      { id: 's2', ts: '2024-01-03T00:00:00Z', subscription: null, amount: '2' },
    ]);
    await runBilling({ warehouse: w, cycle: 'weekly', per: 'subscription', through: '2024-01-07', now: NOW });
    expect((await records(w, 1)).map((x) => x.cycle_id)).toEqual([
      'weekly:subscription:zuora:-:2024-01-01..2024-01-08',
      'weekly:subscription:zuora:S1:2024-01-01..2024-01-08',
    ]);
  });
});

describe('bill: changing the billing logic', () => {
  it('monthly → weekly per subscription from a date starts new records there and leaves earlier ones untouched', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    const run1 = [await runFile(w, 'billing_records', 1), await runFile(w, 'billing_assignments', 1)];
    const before = await Promise.all(run1.map((f) => readFile(f)));

    await expect(runBilling({ warehouse: w, cycle: 'weekly', from: '2024-01-15', through: '2024-02-29', now: NOW, changeLogic: true })).rejects.toThrow(
      /cannot change the billing logic from 2024-01-15: cycles up to 2024-01-31 are already billed .* use --from 2024-02-01 or later/,
    );
    await writeFact(w, 'l2', [
      { id: 'f1', ts: '2024-02-10T00:00:00Z', amount: '1', subscription: 'S1' },
      { id: 'f2', ts: '2024-02-16T00:00:00Z', amount: '2', subscription: 'S1' },
      { id: 'f3', ts: '2024-02-20T00:00:00Z', amount: '3', subscription: 'S1' },
      { id: 'f5', ts: '2024-02-27T00:00:00Z', amount: '4', subscription: 'S1' },
    ]);
    const r = await runBilling({ warehouse: w, cycle: 'weekly', per: 'subscription', from: '2024-02-15', through: '2024-02-29', now: NOW, changeLogic: true });
    expect(r.manifest!.timeline).toEqual([
      { cycle: 'monthly', per: 'account', from: '2024-01-01' },
      { cycle: 'weekly', per: 'subscription', from: '2024-02-15' },
    ]);
    expect(r.manifest!.periods.map((p) => `${p.cycle} ${p.start}..${p.end}`)).toEqual([
      'monthly 2024-02-01..2024-02-15',
      'weekly 2024-02-15..2024-02-19',
      'weekly 2024-02-19..2024-02-26',
    ]);
    expect(r.manifest!.watermarkAfter).toBe('2024-02-26');
    expect((await records(w, 2)).map((x) => [x.cycle_id, x.amount_sum])).toEqual([
      ['monthly:account:zuora:A1:2024-02-01..2024-02-15', '51.000000000'],
      ['weekly:subscription:zuora:S1:2024-02-15..2024-02-19', '2.000000000'],
      ['weekly:subscription:zuora:S1:2024-02-19..2024-02-26', '3.000000000'],
    ]);
    const after = await Promise.all(run1.map((f) => readFile(f)));
    expect([await runFile(w, 'billing_records', 1), await runFile(w, 'billing_assignments', 1)]).toEqual(run1);
    expect(after).toEqual(before);
    // the next run keeps the new logic without repeating --from
    const r3 = await runBilling({ warehouse: w, cycle: 'weekly', per: 'subscription', through: '2024-03-03', now: NOW });
    expect(r3.manifest!.periods.map((p) => `${p.start}..${p.end}`)).toEqual(['2024-02-26..2024-03-04']);
    expect((await checkBilling(w)).ok).toBe(true);
  });

  it('a first run with --from counts earlier events as before billing start', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    const r = await runBilling({ warehouse: w, cycle: 'monthly', from: '2024-02-01', through: '2024-02-29', now: NOW, changeLogic: true });
    expect(r.manifest!.counts).toMatchObject({ onTime: 1, beforeStart: 4 });
    expect((await checkBilling(w)).beforeStart).toBe(4);
  });
});

describe('bill: bad input and concurrency', () => {
  it('rejects bad flags with the flag named', async () => {
    const w = await tempWarehouse(dirs);
    await expect(runBilling({ warehouse: w, cycle: 'daily', now: NOW })).rejects.toThrow(/--cycle must be one of monthly, weekly \(got "daily"\)/);
    await expect(runBilling({ warehouse: w, cycle: 'monthly', per: 'order', now: NOW })).rejects.toThrow(/--per must be one of account, subscription/);
    await expect(runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-30', now: NOW })).rejects.toThrow(/--through: "2024-02-30" is not a calendar day/);
    await expect(runBilling({ warehouse: w, cycle: 'monthly', through: '2024-04-10', now: NOW })).rejects.toThrow(/--through 2024-04-10 is not over yet/);
  });

  it('an empty warehouse bills nothing and says why', async () => {
    const w = await tempWarehouse(dirs);
    const r = await runBilling({ warehouse: w, cycle: 'monthly', now: NOW });
    expect(r.written).toBe(false);
    expect(r.notes.join()).toMatch(/no events in the fact table yet/);
  });

  it('two runs racing for the same record set: the second commit is refused under the lock and writes nothing', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    const r = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    const table = await FactTable.open(w);
    const versions = (await table.history()).length;
    await expect(writeRun(table, { ...r.manifest!, runId: 'racer' }, [], [])).rejects.toThrow(/billing_records\/run=00000001 was committed by another run first .* run it again/);
    expect((await table.history()).length).toBe(versions);
    expect((await listRuns(table)).map((x) => x.manifest.runId)).toEqual([r.manifest!.runId]);
    expect(readdirSync(path.join(w, '_store', 'tmp'))).toEqual([]);
  });
});

describe('bill: a run that only changes the billing logic', () => {
  it('writes an empty record set carrying the new logic; the next run uses it', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    const r = await runBilling({ warehouse: w, cycle: 'weekly', from: '2024-03-04', through: '2024-02-10', now: NOW, changeLogic: true });
    expect(r.written).toBe(true);
    expect(r.manifest!.counts.records).toBe(0);
    expect(r.manifest!.timeline.map((s) => `${s.cycle}@${s.from}`)).toEqual(['monthly@2024-01-01', 'weekly@2024-03-04']);
    expect(await records(w, 2)).toEqual([]);
    const next = await runBilling({ warehouse: w, cycle: 'weekly', through: '2024-03-10', now: NOW });
    expect(next.manifest!.periods.map((p) => `${p.cycle} ${p.start}..${p.end}`)).toEqual(['monthly 2024-02-01..2024-03-01', 'monthly 2024-03-01..2024-03-04', 'weekly 2024-03-04..2024-03-11']);
    const check = await checkBilling(w);
    expect(check.ok).toBe(true);
    expect(check.records).toBe(4);
  });
});
