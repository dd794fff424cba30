/**
 * SIGKILL at every step of a billing commit: a bill run's record set, and an ingest that commits MRR deltas
 * together with the MRR state. The table is exactly as before or as after; the MRR state never disagrees with
 * the MRR_CHANGED rows (the old protocol saved the state after the commit and lost it in a crash there); a rerun
 * converges and leaves no orphan blobs.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decimal } from '../../events/money.js';
import { checkBilling } from '../../jobs/billing/check.js';
import { stateFromRows } from '../../jobs/billing/mrr-store.js';
import { listRuns } from '../../jobs/billing/store.js';
import { rows, sqlString, withBillingDuck } from '../../jobs/billing/views.js';
import { FactTable } from '../../warehouse/index.js';
import { writeFact } from '../billing/fact.js';
import { ensureBuilt, runChild } from './child.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-billing-crash-'));
beforeAll(() => ensureBuilt());
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function ok(args: string[]) {
  const r = await runChild(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

function copyOf(pristine: string, name: string): string {
  const wh = path.join(root, name.replace(/:/g, '_'));
  cpSync(pristine, wh, { recursive: true, verbatimSymlinks: true });
  return wh;
}

/** After a writer ran: every blob belongs to a logged commit and no scratch is left. */
async function expectNoOrphans(wh: string) {
  const committed = new Set((await (await FactTable.open(wh)).history()).map((h) => h.commitId));
  expect(readdirSync(path.join(wh, '_store', 'blobs')).filter((id) => !committed.has(id))).toEqual([]);
  const tmp = path.join(wh, '_store', 'tmp');
  expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
}

const BILL_POINTS = ['bill:after-write', 'bill:before-publish', 'bill:after-version-dir', 'bill:after-log', 'publish:after-views', 'bill:after-publish', 'checkpoint:after-write'];

describe('a bill run killed with SIGKILL leaves the billing tables exactly before or after its commit', () => {
  const pristine = path.join(root, 'bill-pristine');
  beforeAll(async () => {
    await writeFact(pristine, 'jan', [
      { id: 'e1', ts: '2024-01-05T10:00:00Z', amount: '100.10' },
      { id: 'e2', ts: '2024-01-20T10:00:00Z', amount: '0.000000001' },
      { id: 'e3', ts: '2024-02-03T00:00:00Z', account: 'A2', amount: '-20' },
    ]);
  });

  it('the reference run commits one record set (the crash cases below are meaningful)', async () => {
    const wh = copyOf(pristine, 'bill-reference');
    expect(await ok(['bill', wh, '2024-01-31', 'bill-ref'])).toMatchObject({ written: true, seq: 1 });
    const table = await FactTable.open(wh);
    expect((await listRuns(table)).map((r) => r.manifest.runId)).toEqual(['bill-ref']);
    expect((await checkBilling(table)).assignments).toBe(2);
  });

  for (const point of BILL_POINTS) {
    it(`bill killed at ${point}: before or after, check OK, and a rerun converges to one record set`, async () => {
      const wh = copyOf(pristine, point);
      const r = await runChild(['bill', wh, '2024-01-31', 'bill-killed'], { BM_TEST_CRASH_AT: point });
      expect(r.signal).toBe('SIGKILL');
      const table = await FactTable.open(wh);
      const runs = (await listRuns(table)).map((x) => x.manifest.runId);
      expect([[], ['bill-killed']]).toContainEqual(runs);
      // the records are never visible without their assignments (one commit for both tables)
      const recs = (await table.tableFiles('billing_records')).files.length;
      const asg = (await table.tableFiles('billing_assignments')).files.length;
      expect(recs).toBe(asg);
      expect(recs).toBe(runs.length);
      await ok(['bill', wh, '2024-01-31', 'bill-rerun']);
      const after = await FactTable.open(wh);
      expect((await listRuns(after)).length).toBe(1);
      const check = await checkBilling(after);
      expect(check).toMatchObject({ ok: true, runs: 1, assignments: 2, billedThrough: '2024-01-31' });
      // the next bill (February) commits on top; its recovery clears what the killed process left
      await ok(['bill', wh, '2024-02-29', 'bill-feb']);
      expect(await checkBilling(await FactTable.open(wh))).toMatchObject({ ok: true, runs: 2, assignments: 3, billedThrough: '2024-02-29' });
      await expectNoOrphans(wh);
    });
  }
});

/** Per version of S1: Σ mrr_delta in the fact table, and what the MRR state says it emitted. */
async function mrrAgreement(wh: string): Promise<{ facts: Record<string, string>; state: Record<string, string> }> {
  const table = await FactTable.open(wh);
  const files = (await table.tableFiles('fact_billing_event')).files.map((f) => f.path);
  const facts: Record<string, string> = {};
  if (files.length) {
    const found = await withBillingDuck((c) =>
      rows(c, `SELECT source_record_id AS v, CAST(sum(mrr_delta) AS VARCHAR) AS s FROM read_parquet([${files.map(sqlString).join(', ')}]) WHERE event_type = 'MRR_CHANGED' GROUP BY 1 ORDER BY 1`),
    );
    for (const r of found) facts[String(r.v)] = String(r.s);
  }
  const state: Record<string, string> = {};
  for (const s of stateFromRows((await table.readTable('mrr_state', 'zuora')).rows, wh).values()) {
    for (const v of s.versions) if (v.rows > 0) state[`${s.subscriptionId}@${v.version}`] = new Decimal(v.emitted).toFixed(9);
  }
  return { facts, state };
}

describe('an ingest committing MRR deltas and the MRR state, killed with SIGKILL', () => {
  const pristine = path.join(root, 'mrr-pristine');
  let before: Awaited<ReturnType<typeof mrrAgreement>>;
  let after: Awaited<ReturnType<typeof mrrAgreement>>;
  beforeAll(async () => {
    await ok(['mrr-ingest', pristine, 'r1', 'S1:1:100,S1:3:300']);
    before = await mrrAgreement(pristine);
    const ref = copyOf(pristine, 'mrr-reference');
    await ok(['mrr-ingest', ref, 'r2', 'S1:2:250']);
    after = await mrrAgreement(ref);
  });

  it('the reference: the late v2 adds its delta and a correction of v3; state and facts agree', () => {
    expect(before.facts).toEqual({ 'S1@v1': '100.000000000', 'S1@v3': '200.000000000' });
    expect(after.facts).toEqual({ 'S1@v1': '100.000000000', 'S1@v2': '150.000000000', 'S1@v3': '50.000000000' });
    expect(before.state).toEqual(before.facts);
    expect(after.state).toEqual(after.facts);
  });

  for (const point of ['ingest:after-write', 'ingest:after-tables', 'ingest:before-publish', 'ingest:after-log', 'publish:after-views', 'ingest:after-publish', 'checkpoint:after-pointer']) {
    it(`killed at ${point}: facts and MRR state both before or both after; the next version's delta is right`, async () => {
      const wh = copyOf(pristine, `mrr-${point}`);
      const r = await runChild(['mrr-ingest', wh, 'r2', 'S1:2:250'], { BM_TEST_CRASH_AT: point });
      expect(r.signal).toBe('SIGKILL');
      const seen = await mrrAgreement(wh);
      expect([before, after]).toContainEqual(seen);
      // the same load again converges (skipped when the killed run had reached the log)
      await ok(['mrr-ingest', wh, 'r2', 'S1:2:250']);
      expect(await mrrAgreement(wh)).toEqual(after);
      // a later version is compared with the right previous value: 400 - 300
      await ok(['mrr-ingest', wh, 'r3', 'S1:4:400']);
      const last = await mrrAgreement(wh);
      expect(last.facts['S1@v4']).toBe('100.000000000');
      expect(last.state).toEqual(last.facts);
      await expectNoOrphans(wh);
    });
  }
});
