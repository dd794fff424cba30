import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { classifyUnassigned, formatBillingCheck, type BillingCheckReport, type RunManifest } from '../../billing/index.js';
import { listRuns } from '../../jobs/billing/store.js';
import { FactTable } from '../../warehouse/index.js';
import { sqlString, withBillingDuck as withDuck } from '../../jobs/billing/views.js';
import { checkBilling, cleanup, eid, runBilling, runFile, tempWarehouse, writeFact } from './fact.js';

const NOW = Date.parse('2024-04-10T12:00:00Z');
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

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

/** Rewrites one stored Parquet object of a record set through a SELECT (a deliberate corruption behind the warehouse's back). */
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
    const f = await runFile(w, 'billing_records', 1);
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
    const f = await runFile(w, 'billing_assignments', 1);
    await tamper(f, `SELECT * REPLACE (CASE WHEN event_id = '${eid('e2')}' THEN '${'f'.repeat(32)}' ELSE event_id END AS event_id) FROM $F`);
    const r = await checkBilling(w);
    const missing = r.violations.filter((v) => v.code === 'MISSING_EVENT');
    expect(missing.map((v) => v.eventIds)).toEqual([['f'.repeat(32)]]);
    expect(missing[0]!.message).toMatch(/points to event f{32}, which is not in the fact table/);
    // and the real event it replaced is now unassigned although run 1 read its file
    expect(r.violations.filter((v) => v.code === 'UNASSIGNED').map((v) => v.eventIds[0])).toEqual([eid('e2')]);
    expect(codes(r)).toEqual(['MISSING_EVENT', 'TOTALS_MISMATCH', 'UNASSIGNED']);
  });

  it('catches an event assigned twice and a cycle billed twice (a record set committed again)', async () => {
    const w = await billed();
    const table = await FactTable.open(w);
    const runs = await listRuns(table);
    const m: RunManifest = runs[1]!.manifest;
    // the same records and assignments committed a second time as run 3 (what a restore gone wrong would do)
    const recs = (await table.readTable('billing_records', '00000002')).rows;
    const asg = (await table.readTable('billing_assignments', '00000002')).rows;
    await table.commitTables('bill', [
      { table: 'billing_records', partition: '00000003', mode: 'create', rows: recs, meta: { ...m, seq: 3 } as unknown as Record<string, unknown> },
      { table: 'billing_assignments', partition: '00000003', mode: 'create', rows: asg },
    ]);
    const r = await checkBilling(w);
    expect(codes(r)).toEqual(['DUPLICATE_ASSIGNMENT', 'DUPLICATE_RECORD', 'TOTALS_MISMATCH']);
    expect(r.violations.filter((v) => v.code === 'DUPLICATE_ASSIGNMENT').flatMap((v) => v.eventIds).sort()).toEqual([eid('e4'), eid('e6')].sort());
  });

  it('catches an assignment to an unknown record, and a late flag that does not match the dates', async () => {
    const w = await billed();
    const f = await runFile(w, 'billing_assignments', 2);
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
    const table = await FactTable.open(w);
    const [, second] = await table.tableManifests('billing_records');
    const blob = path.join(w, '_store', 'blobs', String(second!.manifest.commit_id), 'billing_records', 'run=00000002', '_manifest.json');
    await rm(blob);
    await expect(checkBilling(w)).rejects.toThrow(/_manifest\.json \(the manifest of billing_records\/run=00000002, version \d+\) is missing; restore it from backup/);
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
