/**
 * Issue 14 "safe by default": `bill --dry-run` writes nothing; changing the cycle or the billed party needs
 * --change-logic; closing a cycle over days without _SUCCESS warns; "billed through" is the last billed day
 * (inclusive) in text, JSON and `check billing` alike.
 */
import { existsSync } from 'node:fs';
import { FactTable } from '../../warehouse/index.js';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBilling, cleanup, runBilling, tempWarehouse, writeFact } from './fact.js';
import { runCli } from '../helpers/cli.js';

const NOW = Date.parse('2024-04-10T12:00:00Z');
const cli = async (args: string[]) => {
  const r = await runCli(args, { env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

const JAN = [
  { id: 'a', ts: '2024-01-05T10:00:00Z', amount: '10' },
  { id: 'b', ts: '2024-01-20T10:00:00Z', amount: '5' },
];

describe('bill is safe by default', () => {
  it('--dry-run shows the record set it would write and writes nothing', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    const dry = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW, dryRun: true });
    expect(dry).toMatchObject({ written: false, dryRun: true, billedThrough: null, manifest: { seq: 1, counts: { assignments: 2 }, watermarkAfter: '2024-02-01' } });
    expect(existsSync(path.join(w, 'billing_records'))).toBe(false);
    const versions = (await (await FactTable.open(w)).history()).length;
    const h = await cli(['--warehouse', w, 'bill', '--cycle', 'monthly', '--through', '2024-01-31', '--dry-run']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^dry run: would write billing record set 1 \(nothing written\)\n[\s\S]*billed through: \(nothing billed yet\) \(after this run: 2024-01-31\)/);
    expect(existsSync(path.join(w, 'billing_records'))).toBe(false);
    expect((await (await FactTable.open(w)).history()).length).toBe(versions); // no commit
    expect(existsSync(path.join(w, '_state', 'runs'))).toBe(false); // and no run record
  });

  it('a different --cycle or --per after a run is refused without --change-logic (exit 2), and later runs default to the logic in force', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    expect((await cli(['--warehouse', w, 'bill', '--cycle', 'weekly', '--through', '2024-01-31'])).code).toBe(0);
    const tried = await cli(['--warehouse', w, 'bill', '--cycle', 'monthly', '--through', '2024-02-29']);
    expect(tried.code).toBe(2);
    expect(tried.err).toMatch(/^billing-mart: the billing logic in force is weekly per account \(since 2024-01-01\); monthly per account would change it for good from the day after the last billed cycle on\n {2}- to change it, add --change-logic/);
    const perTried = await runBilling({ warehouse: w, cycle: 'weekly', per: 'subscription', through: '2024-02-29', now: NOW }).catch((e: Error) => e.message);
    expect(perTried).toMatch(/weekly per subscription would change it/);
    expect((await cli(['--warehouse', w, '--json', 'bill', '--through', '2024-01-31'])).code).toBe(0); // no --cycle: the logic in force
    const changed = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-29', now: NOW, changeLogic: true });
    expect(changed.timeline.map((s) => s.cycle)).toEqual(['weekly', 'monthly']);
    const first = await tempWarehouse(dirs);
    await writeFact(first, 'l1', JAN);
    await expect(runBilling({ warehouse: first, now: NOW })).rejects.toThrow(/--cycle is required for the first bill run/);
  });

  it('closing a cycle over days that are not verified complete warns, naming the days and the check to run', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    const table = await FactTable.open(w);
    for (let d = 1; d <= 31; d++) if (d !== 20) await table.writeSuccess(`2024-01-${String(d).padStart(2, '0')}`, {});
    const r = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-01-31', now: NOW });
    expect(r.unverifiedDays).toEqual(['2024-01-20']);
    expect(r.notes.join('\n')).toContain('warning: 1 day(s) in the cycles closed are not verified complete (no _SUCCESS): 2024-01-20; events that arrive for them later are billed as late adjustments — run billing-mart check completeness --from 2024-01-20 --to 2024-01-20 first');
  });

  it('"billed through" is the last billed day, inclusive, in bill JSON, bill text and check billing', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', JAN);
    const r = await runBilling({ warehouse: w, cycle: 'monthly', through: '2024-02-10', now: NOW });
    expect(r.billedThrough).toBe('2024-01-31');
    expect((await checkBilling(w)).billedThrough).toBe('2024-01-31');
    const again = await cli(['--warehouse', w, 'bill', '--through', '2024-02-10']);
    expect(again.out).toMatch(/billed through: 2024-01-31/);
    const chk = await cli(['--warehouse', w, 'check', 'billing']);
    expect(chk.out).toMatch(/billed through 2024-01-31\n/);
  });
});
