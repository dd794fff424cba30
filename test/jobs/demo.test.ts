import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Decimal } from '../../events/money.js';
import { ROOT, requireBuilt, tempDir } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const t = tempDir('bm-demo-');
afterAll(() => t.cleanup());

/** Rows and exact amount per (source, currency) from the generator's ground truth. */
function truthTotals(file: string): Map<string, { rows: number; amount: string }> {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  const m = new Map<string, { rows: number; amount: Decimal }>();
  for (const l of lines) {
    const c = l.split(',');
    const get = (n: string) => c[cols.indexOf(n)]!;
    const k = `${get('billing_source')} ${get('currency')}`;
    const cur = m.get(k) ?? { rows: 0, amount: new Decimal(0) };
    m.set(k, { rows: cur.rows + Number(get('rows')), amount: cur.amount.plus(new Decimal(get('amount_sum'))) });
  }
  return new Map([...m].map(([k, v]) => [k, { rows: v.rows, amount: v.amount.toFixed(9) }]));
}

describe('billing-mart demo', () => {
  it('generates, backfills, heals the late day, marks every day complete, and its totals equal the ground truth', async () => {
    requireBuilt('jobs/cli/main.js');
    const dir = path.join(t.dir, 'demo');
    const r = await runCli(['demo', '--dir', dir, '--days', '4', '--events-per-day', '80'], { cwd: t.dir, timeoutMs: 180_000 });
    expect(r.stderr).not.toMatch(/run\.failed/);
    expect(r.status).toBe(0);
    const out = r.stdout;
    // the late day: INCOMPLETE at the first check (even after self-heal), COMPLETE after the files arrive
    const first = out.slice(out.indexOf('5/7'), out.indexOf('6/7'));
    expect(first).toMatch(/3\/4 days COMPLETE with _SUCCESS; not complete:/);
    expect(first).toMatch(/chargebee +INCOMPLETE .*\[was INCOMPLETE; self-heal re-ingested the day/);
    const second = out.slice(out.indexOf('6/7'), out.indexOf('7/7'));
    expect(second).toMatch(/files delivered from _late\//);
    expect(second).toMatch(/4\/4 days COMPLETE with _SUCCESS\n/);
    expect(out).toMatch(/Parquet fact table: .*fact_billing_event/);
    expect(existsSync(path.join(dir, 'report.html'))).toBe(true);
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toContain('<b id="kpi-complete">4/4</b>');

    // the closing DuckDB query equals the generator's truth, exactly
    const truth = truthTotals(path.join(dir, 'landing', '_truth', 'expected_fact.csv'));
    const printed = new Map(
      [...out.matchAll(/^(zuora|stripe|chargebee|recurly) +([A-Z]{3}) +(\d+) +(-?\d+\.\d{9})$/gm)].map((m) => [`${m[1]} ${m[2]}`, { rows: Number(m[3]), amount: m[4]! }]),
    );
    expect(printed.size).toBeGreaterThan(4);
    expect(printed).toEqual(truth);

    // the MRR movements query (new, expansion, contraction, churn per month, from mrr_delta) equals the truth too
    const mrrTruth = readFileSync(path.join(dir, 'landing', '_truth', 'expected_mrr.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const mrrPrinted = [...out.matchAll(/^(zuora|stripe|chargebee|recurly) +(\d{4}-\d{2}) +([A-Z]{3}) +(-?\d+\.\d{9}) +(-?\d+\.\d{9}) +(-?\d+\.\d{9}) +(-?\d+\.\d{9})$/gm)].map((m) => m.slice(1));
    expect(mrrTruth.length).toBeGreaterThan(0);
    expect(mrrPrinted).toEqual(mrrTruth);
  });
});
