/**
 * `bill` as a job on the same dependencies as ingest: the clock's time, a run record per run (runs list), the
 * `bill` lock (jobs/lock.ts leases), failures recorded by kind; a dry run records and locks nothing.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../events/errors.js';
import { BILL_LOCK, runBill } from '../../jobs/bill.js';
import { ManualClock } from '../../jobs/clock.js';
import { LockManager } from '../../warehouse/lock.js';
import { memoryLogger } from '../../jobs/log.js';
import { RunStore } from '../../jobs/runstore.js';
import { FactTable } from '../../warehouse/index.js';
import { cleanup, tempWarehouse, writeFact } from './fact.js';

const dirs: string[] = [];
afterEach(() => cleanup(dirs));

async function setup() {
  const w = await tempWarehouse(dirs);
  await writeFact(w, 'jan', [
    { id: 'e1', ts: '2024-01-05T10:00:00Z', amount: '100.10' },
    { id: 'e2', ts: '2024-02-03T00:00:00Z', amount: '7' },
  ]);
  const clock = new ManualClock('2024-02-10T12:00:00Z', false);
  const deps = { clock, log: memoryLogger(clock), runs: new RunStore({ dir: path.join(w, '_state', 'runs'), clock }), locks: new LockManager({ dir: path.join(w, '_state', 'locks'), clock, heartbeat: false }) };
  return { w, deps, table: await FactTable.open(w) };
}

describe('the bill job', () => {
  it('records each run (succeeded, then skipped with nothing to close); the default --through is yesterday by the clock', async () => {
    const { deps, table } = await setup();
    const first = await runBill(deps, table, { cycle: 'monthly', trigger: 'manual' });
    expect(first.record).toMatchObject({ job: 'bill', window: '2024-02-09', status: 'succeeded', rowsWritten: 2 });
    expect(first.record!.error).toBeNull();
    expect(first.result!.manifest!.runId).toBe(first.record!.runId); // the records carry the run record's id
    const bills = (await table.history()).filter((h) => h.operation === 'bill');
    expect(bills.map((h) => [h.runId, h.version])).toEqual([[first.record!.runId, first.record!.version]]);
    await deps.clock.advance(60_000);
    const again = await runBill(deps, table, { trigger: 'manual' });
    expect(again.record).toMatchObject({ status: 'skipped', rowsWritten: 0 });
    expect((await deps.runs.list({ job: 'bill' })).map((r) => r.status)).toEqual(['succeeded', 'skipped']);
  });

  it('holds the bill lock: with another holder the run fails (retriable) and commits nothing', async () => {
    const { deps, table } = await setup();
    const held = await deps.locks.acquire(BILL_LOCK, 'another bill');
    const out = await runBill(deps, table, { cycle: 'monthly', through: '2024-01-31', trigger: 'manual' });
    expect(out.result).toBeUndefined();
    expect(out.record).toMatchObject({ status: 'failed', errorKind: 'retriable' });
    expect(out.record!.error).toMatch(/"bill" is locked by another bill/);
    expect((await table.history()).filter((h) => h.operation === 'bill')).toEqual([]);
    await held.release();
    expect((await runBill(deps, table, { cycle: 'monthly', through: '2024-01-31', trigger: 'manual' })).record!.status).toBe('succeeded');
  });

  it('a dry run records nothing; bad flags record nothing; a refused change of logic is recorded as a config failure', async () => {
    const { deps, table } = await setup();
    const dry = await runBill(deps, table, { cycle: 'monthly', through: '2024-01-31', dryRun: true, trigger: 'manual' });
    expect(dry.record).toBeNull();
    expect(dry.result!.manifest!.counts.assignments).toBe(1);
    await expect(runBill(deps, table, { cycle: 'daily', trigger: 'manual' })).rejects.toThrow(/--cycle must be one of monthly, weekly/);
    await expect(runBill(deps, table, { cycle: 'monthly', through: '2024-02-10', trigger: 'manual' })).rejects.toThrow(/--through 2024-02-10 is not over yet \(today is 2024-02-10 UTC\)/);
    expect(await deps.runs.list({ job: 'bill' })).toEqual([]);
    await runBill(deps, table, { cycle: 'monthly', through: '2024-01-31', trigger: 'manual' });
    await deps.clock.advance(60_000);
    await expect(runBill(deps, table, { cycle: 'weekly', trigger: 'manual' })).rejects.toBeInstanceOf(ConfigError);
    expect((await deps.runs.list({ job: 'bill' })).map((r) => [r.status, r.errorKind ?? null])).toEqual([
      ['succeeded', null],
      ['failed', 'config'],
    ]);
  });
});
