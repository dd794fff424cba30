/**
 * A bill run reads the fact files that can hold an unbilled event (the open cycles' days, and the files new since
 * the baseline record set), not the whole table: its cost must not grow with the table's age. The cases below are
 * the ones where a file the last record set saw can still hold an unbilled event (a logic change that closed
 * nothing while a late event waited) or where a new file holds only billed events (compaction).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rows, sqlString, withBillingDuck as withDuck } from '../../jobs/billing/views.js';
import { FactTable } from '../../warehouse/index.js';
import { checkBilling, cleanup, eid, runBilling, runFile, tempWarehouse, writeFact, type TestEvent } from './fact.js';

const NOW = Date.parse('2024-12-10T12:00:00Z');
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

const monthEnd = (m: number) => new Date(Date.UTC(2024, m, 0)).toISOString().slice(0, 10);
/** Three events a day on days 1, 10 and 20 of month `m` (1-based), one load per day. */
function month(m: number): TestEvent[][] {
  return [1, 10, 20].map((d) => [0, 1, 2].map((i) => ({ id: `m${m}d${d}e${i}`, ts: `2024-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T0${i}:00:00Z`, amount: `${m}.${d}${i}` })));
}

async function assigned(w: string, run: number) {
  const file = await runFile(w, 'billing_assignments', run);
  return withDuck((c) => rows(c, `SELECT event_id, late FROM read_parquet(${sqlString(file)}) ORDER BY event_id`));
}

describe('bill: what a run reads is bounded by the open cycle, not by the table', () => {
  it('each monthly run reads the same few files while the table grows; every event is billed once', async () => {
    const w = await tempWarehouse(dirs);
    const reads: { read: number; of: number }[] = [];
    const matched: { read: number; of: number }[] = [];
    for (let m = 1; m <= 6; m++) {
      for (const [i, day] of month(m).entries()) await writeFact(w, `m${m}-${i}`, day);
      const r = await runBilling({ warehouse: w, cycle: 'monthly', through: monthEnd(m), now: NOW, runId: `bill-${m}` });
      expect(r.written).toBe(true);
      expect(r.manifest!.counts.onTime).toBe(9);
      reads.push(r.factFilesRead!);
      matched.push(r.assignmentsRead!);
    }
    // the first run reads everything; later ones read only the month's three new files, while the table grows
    expect(reads.map((x) => x.of)).toEqual([3, 6, 9, 12, 15, 18]);
    expect(reads.map((x) => x.read)).toEqual([3, 3, 3, 3, 3, 3]);
    // the anti-join against what is billed holds only the assignments of the days read (none: they are new), not all
    expect(matched.map((x) => x.of)).toEqual([0, 9, 18, 27, 36, 45]);
    expect(matched.map((x) => x.read)).toEqual([0, 0, 0, 0, 0, 0]);
    const check = await checkBilling(w);
    expect(check).toMatchObject({ ok: true, pending: [], runs: 6, assignments: 54 });
  });

  it('a late event still waiting when a logic-only record set is written is billed by the next run', async () => {
    const w = await tempWarehouse(dirs);
    for (const [i, day] of month(1).entries()) await writeFact(w, `jan-${i}`, day);
    await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    await writeFact(w, 'late', [{ id: 'late1', ts: '2024-01-25T12:00:00Z', amount: '5' }]);
    // a logic change that closes nothing: written (it carries the timeline), with the late event still pending
    const change = await runBilling({ warehouse: w, cycle: 'weekly', from: '2024-03-04', through: '2024-02-10', now: NOW, changeLogic: true });
    expect(change.written).toBe(true);
    expect(change.manifest!.counts).toMatchObject({ records: 0, latePending: 1 });
    // the file holding the late event is in that record set's snapshot; the next run must still read it
    await writeFact(w, 'feb', [{ id: 'feb1', ts: '2024-02-14T00:00:00Z', amount: '1' }]);
    const r = await runBilling({ warehouse: w, through: '2024-02-29', now: NOW });
    expect(r.manifest!.counts).toMatchObject({ onTime: 1, late: 1, latePending: 0 });
    expect((await assigned(w, 3)).find((a) => a.event_id === eid('late1'))).toMatchObject({ late: true });
    expect(await checkBilling(w)).toMatchObject({ ok: true, pending: [] });
  });

  it('a compacted billed day is read again (new files) and nothing in it is billed twice', async () => {
    const w = await tempWarehouse(dirs);
    for (const [i, day] of month(1).entries()) await writeFact(w, `jan-${i}`, day);
    await writeFact(w, 'jan-more', [{ id: 'more', ts: '2024-01-10T05:00:00Z', amount: '2' }]);
    await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    const table = await FactTable.open(w, { autoCompactFileCount: 0 });
    const compacted = await table.compact(['2024-01-10']);
    expect(compacted.version).toBeGreaterThan(0);
    await writeFact(w, 'feb', [{ id: 'feb1', ts: '2024-02-14T00:00:00Z', amount: '1' }]);
    const r = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-29', now: NOW });
    // the compacted file of 2024-01-10 is new to the baseline, so it is read; its events are billed already
    expect(r.factFilesRead!.read).toBe(2);
    // the assignments of 2024-01-10 (its three events and the one more) are matched against, and only those
    expect(r.assignmentsRead).toEqual({ read: 4, of: 10 });
    expect(r.manifest!.counts).toMatchObject({ onTime: 1, late: 0, assignments: 1 });
    expect(await checkBilling(w)).toMatchObject({ ok: true, pending: [], assignments: 11 });
  });
});
