/**
 * Billing records are warehouse tables: a bill run is one commit in `table history`, and `export --table
 * billing_records --as-of` reproduces the records exactly as an earlier run left them (money as exact decimals).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBilling } from '../../jobs/billing/bill.js';
import { FactTable } from '../../warehouse/index.js';
import { cleanup, cli, tempWarehouse, writeFact } from './fact.js';

const NOW = Date.parse('2024-04-10T12:00:00Z');
const dirs: string[] = [];
afterEach(() => cleanup(dirs));

describe('billing tables in the commit log', () => {
  it('each bill run is a commit in table history, and export --as-of reproduces its records byte for byte', async () => {
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'jan', [
      { id: 'e1', ts: '2024-01-05T10:00:00Z', amount: '100.10', mrr: '30' },
      { id: 'e2', ts: '2024-01-31T23:59:59.999999Z', amount: '0.000000001' },
      { id: 'e3', ts: '2024-02-10T00:00:00Z', account: 'A2', amount: '-20.5' },
    ]);
    // commits at controlled instants after the load's: the first bill at T1, the second a day later
    const base = Date.now() + 86_400_000;
    let t = base;
    const table = await FactTable.open(w, { now: () => t });
    const T1 = (t = base + 86_400_000);
    const b1 = await runBilling({ table, cycle: 'monthly', through: '2024-01-31', now: NOW, runId: 'bill-jan' });
    const atT1 = path.join(w, '..', `${path.basename(w)}-records-t1.csv`);
    dirs.push(atT1);
    const first = await table.export({ table: 'billing_records', format: 'csv', out: atT1 });
    t = base + 2 * 86_400_000;
    await runBilling({ table, cycle: 'monthly', through: '2024-02-29', now: NOW, runId: 'bill-feb' });

    const history = await table.history();
    const bills = history.filter((h) => h.operation === 'bill');
    expect(bills.map((h) => [h.runId, h.partitions, h.summary.records])).toEqual([
      ['bill-jan', ['billing_records/run=00000001', 'billing_assignments/run=00000001'], 1],
      ['bill-feb', ['billing_records/run=00000002', 'billing_assignments/run=00000002'], 1],
    ]);
    expect(b1.version).toBe(bills[0]!.version);

    // exact decimals in the export (never through a float)
    const csv = readFileSync(atT1, 'utf8');
    expect(csv.split('\n')[0]).toBe('record_id,run_id,cycle_id,cycle,per,billing_source,party_id,period_start,period_end,currency,event_count,amount_sum,mrr_delta_sum,late_event_count,late_amount_sum');
    expect(csv).toContain(',bill-jan,monthly:account:zuora:A1:2024-01-01..2024-02-01,monthly,account,zuora,A1,2024-01-01,2024-02-01,USD,2,100.100000001,30.000000000,0,0.000000000\n');
    // the table now holds both runs; as of T1 it is exactly what the first export saw
    const later = path.join(w, '..', `${path.basename(w)}-records-t1-again.csv`);
    dirs.push(later);
    const again = await table.export({ table: 'billing_records', format: 'csv', asOfMs: T1, out: later });
    expect(again.sha256).toBe(first.sha256);
    expect(again.rows).toBe(1);
    expect(readFileSync(later, 'utf8')).toBe(csv);
    const now = await table.export({ table: 'billing_records', format: 'csv', out: later });
    expect(now.rows).toBe(2);

    // the same through the CLI
    const out = path.join(w, '..', `${path.basename(w)}-cli.csv`);
    dirs.push(out);
    const r = (await cli(['--warehouse', w, 'export', '--table', 'billing_records', '--as-of', new Date(T1).toISOString(), '--format', 'csv', '--out', out]));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`sha256 ${first.sha256}`);
    const h = (await cli(['--warehouse', w, 'table', 'history']));
    expect(h.out).toMatch(/ bill run bill-jan: \+2 -0 files, 2 partitions/);
    const bad = (await cli(['--warehouse', w, 'export', '--table', 'billing_records', '--from', '2024-01-01', '--to', '2024-01-31', '--format', 'csv', '--out', out]));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/billing_records is not partitioned by day/);
    const unknown = (await cli(['--warehouse', w, 'export', '--table', 'nope', '--format', 'csv', '--out', out]));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--table "nope" is not a table: use one of fact_billing_event, quarantine, billing_records, billing_assignments, mrr_state/);
  });

  it('a warehouse with billing records in the old layout is refused, naming the directory and what to do', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const w = await tempWarehouse(dirs);
    await writeFact(w, 'jan', [{ id: 'e1', ts: '2024-01-05T10:00:00Z', amount: '1' }]);
    await mkdir(path.join(w, 'billing_records', 'run=00000001'), { recursive: true });
    await writeFile(path.join(w, 'billing_records', 'run=00000001', 'run.json'), '{}');
    const table = await FactTable.open(w);
    await expect(runBilling({ table, cycle: 'monthly', through: '2024-01-31', now: NOW, runId: 'b' })).rejects.toThrow(
      new RegExp(`${w}/billing_records/ holds billing record sets in the layout before billing became a warehouse table .* Move the directory out of the warehouse`),
    );
    const r = (await cli(['--warehouse', w, 'check', 'billing']));
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/billing_records\/ holds billing record sets in the layout before/);
  });
});
