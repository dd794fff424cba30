import { cp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBilling } from '../../jobs/billing/bill.js';
import { checkBilling, classifyUnassigned, formatBillingCheck, type BillingCheckReport } from '../../jobs/billing/check.js';
import { sqlString, withDuck } from '../../jobs/billing/duck.js';
import type { RunManifest } from '../../jobs/billing/store.js';
import { cleanup, eid, tempWarehouse, writeFact } from './fact.js';

const NOW = Date.parse('2024-04-10T12:00:00Z');
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

const run = (w: string, n: number) => path.join(w, 'billing_records', `run=${String(n).padStart(8, '0')}`);

/** Two record sets: January (3 events for A1/A2), then February with one late January event. */
async function billed(): Promise<string> {
  const w = await tempWarehouse(dirs);
  await writeFact(w, 'load1', [
    { id: 'e1', ts: '2024-01-05T10:00:00Z', amount: '100.10' },
    { id: 'e2', ts: '2024-01-06T10:00:00Z', amount: '0.01' },
    { id: 'e3', ts: '2024-01-10T00:00:00Z', account: 'A2', amount: '-20' },
    { id: 'e4', ts: '2024-02-03T00:00:00Z', amount: '50' },
  ]);
  await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW, runId: 'r1' });
  await writeFact(w, 'load2', [{ id: 'e6', ts: '2024-01-20T12:00:00Z', amount: '5' }]);
  await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-29', now: NOW, runId: 'r2' });
  return w;
}

/** Rewrites one Parquet file of a record set through a SELECT (a deliberate corruption), atomically. */
async function tamper(file: string, select: string): Promise<void> {
  await withDuck((c) => c.run(`COPY (${select.replace('$F', `read_parquet(${sqlString(file)})`)}) TO ${sqlString(file + '.new')} (FORMAT parquet)`));
  await rename(file + '.new', file);
}

function codes(r: BillingCheckReport): string[] {
  return [...new Set(r.violations.map((v) => v.code))].sort();
}

describe('check billing', () => {
  it('passes on records written by bill', async () => {
    const w = await billed();
    const r = await checkBilling(w);
    expect(r).toMatchObject({ ok: true, runs: 2, records: 3, assignments: 5, factEvents: 5, billedThrough: '2024-02-29', violations: [] });
    expect(formatBillingCheck(r, w)).toMatch(/: OK\n/);
  });

  it('catches a record whose totals were altered, naming the record and both amounts', async () => {
    const w = await billed();
    const f = path.join(run(w, 1), 'records.parquet');
    await tamper(f, `SELECT * REPLACE (CASE WHEN party_id = 'A1' THEN amount_sum + 1 ELSE amount_sum END AS amount_sum) FROM $F`);
    const r = await checkBilling(w);
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(['TOTALS_MISMATCH']);
    expect(r.violations[0]!.message).toMatch(/monthly:account:zuora:A1:2024-01-01\.\.2024-02-01\): amount_sum 101\.110000000 but events sum to 100\.110000000/);
    expect(r.violations[0]!.recordIds).toHaveLength(1);
    expect(formatBillingCheck(r, w)).toMatch(/TOTALS_MISMATCH: record [0-9a-f]{32}/);
  });

  it('catches a record that points to an event missing from the fact table', async () => {
    const w = await billed();
    const f = path.join(run(w, 1), 'assignments.parquet');
    await tamper(f, `SELECT * REPLACE (CASE WHEN event_id = '${eid('e2')}' THEN '${'f'.repeat(32)}' ELSE event_id END AS event_id) FROM $F`);
    const r = await checkBilling(w);
    const missing = r.violations.filter((v) => v.code === 'MISSING_EVENT');
    expect(missing.map((v) => v.eventIds)).toEqual([['f'.repeat(32)]]);
    expect(missing[0]!.message).toMatch(/points to event f{32}, which is not in the fact table/);
    // and the real event it replaced is now unassigned although run 1 read its file
    expect(r.violations.filter((v) => v.code === 'UNASSIGNED').map((v) => v.eventIds[0])).toEqual([eid('e2')]);
    expect(codes(r)).toEqual(['MISSING_EVENT', 'TOTALS_MISMATCH', 'UNASSIGNED']);
  });

  it('catches an event assigned twice and a cycle billed twice (a record set copied)', async () => {
    const w = await billed();
    const copy = run(w, 3);
    await cp(run(w, 2), copy, { recursive: true });
    const m = JSON.parse(await readFile(path.join(copy, 'run.json'), 'utf8')) as RunManifest;
    await writeFile(path.join(copy, 'run.json'), JSON.stringify({ ...m, seq: 3 }));
    const r = await checkBilling(w);
    expect(codes(r)).toEqual(['DUPLICATE_ASSIGNMENT', 'DUPLICATE_RECORD', 'TOTALS_MISMATCH']);
    expect(r.violations.filter((v) => v.code === 'DUPLICATE_ASSIGNMENT').flatMap((v) => v.eventIds).sort()).toEqual([eid('e4'), eid('e6')].sort());
  });

  it('catches an assignment to an unknown record, and a late flag that does not match the dates', async () => {
    const w = await billed();
    const f = path.join(run(w, 2), 'assignments.parquet');
    await tamper(
      f,
      `SELECT * REPLACE (CASE WHEN event_id = '${eid('e4')}' THEN true ELSE late END AS late,
                         CASE WHEN event_id = '${eid('e6')}' THEN 'nope' ELSE record_id END AS record_id) FROM $F`,
    );
    const r = await checkBilling(w);
    expect(codes(r)).toEqual(['ORPHAN_ASSIGNMENT', 'TOTALS_MISMATCH', 'WRONG_PERIOD']);
    expect(r.violations.find((v) => v.code === 'WRONG_PERIOD')!.message).toMatch(/event [0-9a-f]{32} \(2024-02-03\) is marked late but is not dated before its cycle 2024-02-01\.\.2024-03-01/);
    expect(r.violations.find((v) => v.code === 'ORPHAN_ASSIGNMENT')!.recordIds).toEqual(['nope']);
  });

  it('a damaged record set manifest is a clear error naming the file', async () => {
    const w = await billed();
    await rm(path.join(run(w, 2), 'run.json'));
    await expect(checkBilling(w)).rejects.toThrow(/run=00000002 has no readable run\.json/);
  });

  it('classifies unassigned events: missed by a run that read them, or arrived after', () => {
    const m = { periods: [{ start: '2024-01-01', end: '2024-02-01', cycle: 'monthly', per: 'account' }], watermarkAfter: '2024-02-01', factFiles: ['a.parquet'] };
    expect(classifyUnassigned('2024-01-10', 'a.parquet', [m])).toBe('UNASSIGNED');
    expect(classifyUnassigned('2024-01-10', 'b.parquet', [m])).toBe('PENDING');
    expect(classifyUnassigned('2024-02-10', 'a.parquet', [m])).toBe('PENDING');
    // a run that only changed the billing logic closed nothing, so it could not have assigned the event
    expect(classifyUnassigned('2024-01-10', 'a.parquet', [{ ...m, periods: [] }])).toBe('PENDING');
  });
});
