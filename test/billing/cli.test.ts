import { rename } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sqlString, withBillingDuck as withDuck } from '../../jobs/billing/views.js';
import { cleanup, eid, runFile, tempWarehouse, writeFact } from './fact.js';
import { runCli } from '../helpers/cli.js';

// Needs `npx tsc -p tsconfig.build.json` first (bin/billing-mart.js imports dist/).
async function cli(args: string[]) {
  const r = await runCli(args, { env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dirs: string[] = [];
afterEach(() => cleanup(dirs));

describe('billing-mart bill / check billing (CLI)', () => {
  it('bills, checks OK, then exits 1 with the ids when a record is broken', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', [
      { id: 'c1', ts: '2024-01-05T10:00:00Z', amount: '12.34' },
      { id: 'c2', ts: '2024-01-09T10:00:00Z', amount: '1' },
    ]);
    const bill = await cli(['--warehouse', w, '--json', 'bill', '--cycle', 'monthly', '--through', '2024-01-31']);
    expect(bill.err).toBe('');
    expect(bill.code).toBe(0);
    const res = JSON.parse(bill.out);
    expect(res).toMatchObject({ written: true, billedThrough: '2024-01-31', manifest: { seq: 1, counts: { assignments: 2 } } });

    const human = await cli(['--warehouse', w, 'bill', '--cycle', 'monthly', '--through', '2024-01-31']);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/nothing written[\s\S]*billed through: 2024-01-31/);

    const ok = await cli(['--warehouse', w, 'check', 'billing']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/: OK/);

    const f = await runFile(w, 'billing_assignments', 1);
    await withDuck((c) => c.run(`COPY (SELECT * FROM read_parquet(${sqlString(f)}) WHERE event_id <> '${eid('c2')}') TO ${sqlString(f + '.new')} (FORMAT parquet)`));
    await rename(f + '.new', f);
    const bad = await cli(['--warehouse', w, '--json', 'check', 'billing']);
    expect(bad.code).toBe(1);
    const rep = JSON.parse(bad.out);
    expect(rep.ok).toBe(false);
    expect(rep.violations.map((v: { code: string }) => v.code).sort()).toEqual(['TOTALS_MISMATCH', 'UNASSIGNED']);
    expect(rep.violations.find((v: { code: string }) => v.code === 'UNASSIGNED').eventIds).toEqual([eid('c2')]);
  });

  it('exits 2 on bad flags, naming them', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'l1', [{ id: 'x', ts: '2024-01-05T10:00:00Z', amount: '1' }]);
    const r = await cli(['--warehouse', w, 'bill', '--cycle', 'daily']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--cycle must be one of monthly, weekly/);
    const m = await cli(['--warehouse', w, 'bill']);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/--cycle/);
    const h = await cli(['check', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/billing/);
  });
});
