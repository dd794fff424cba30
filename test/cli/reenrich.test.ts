/**
 * Issue 14: ingesting before any dimension snapshot exists warns (or refuses, configurable), and `re-enrich`
 * repairs the loaded days in one commit, keeping the old files for time travel. Real binary, real Parquet,
 * DuckDB as the independent reader.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, requireBuilt, tempDirsPerTest } from '../jobs/helpers.js';
import { duckQuery, factGlob } from '../warehouse/duck-read.js';
import { runCli } from '../helpers/cli.js';

const tmp = tempDirsPerTest('bm-reenrich-');
async function cli(args: string[], cwd = ROOT) {
  requireBuilt('jobs/cli/main.js');
  const r = await runCli(args, { cwd, timeoutMs: 180_000, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dimShare = async (wh: string) =>
  Object.fromEntries((await duckQuery(`SELECT dim_status, count(*) FROM read_parquet('${factGlob(wh)}') GROUP BY ALL ORDER BY 1`)).map(([s, n]) => [String(s), Number(n)]));
const totals = async (wh: string) => (await duckQuery(`SELECT billing_source, currency, count(*), CAST(sum(amount) AS VARCHAR) FROM read_parquet('${factGlob(wh)}') GROUP BY ALL ORDER BY ALL`)).map((r) => r.join('|'));

describe('no dimension snapshot: warn, then re-enrich', () => {
  it('a backfill before the OLTP snapshot warns once; re-enrich rewrites the dimension columns and nothing else; --as-of before it shows the old rows', async () => {
    const dir = tmp();
    const landing = path.join(dir, 'landing');
    const wh = path.join(dir, 'wh');
    expect((await cli(['generate', '--out', landing, '--from', '2024-01-03', '--to', '2024-01-04', '--events-per-day', '150', '--seed', '5'])).code).toBe(0);
    const base = ['--warehouse', wh, '--landing', landing];
    const b = await cli([...base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-04']);
    expect(b.code).toBe(0);
    expect(b.err.match(/dims\.missing/g)).toHaveLength(1);
    expect(b.err).toContain('no dimension snapshot is loaded yet, so every row gets dim_status MISSING_ACCOUNT / MISSING_BOTH');
    expect(b.err).toContain('billing-mart re-enrich --from D --to D');
    const before = await dimShare(wh);
    expect(before.OK ?? 0).toBe(0);
    const sums = await totals(wh);
    expect((await cli([...base, 'ingest', '--source', 'oltp', '--date', '2024-01-01'])).code).toBe(0);
    const mark = new Date().toISOString();
    const r = await cli([...base, '--json', 're-enrich', '--from', '2024-01-02', '--to', '2024-01-04']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.empty).toEqual(['2024-01-02']);
    expect(res.days.map((d: { day: string; snapshot: { account: string } }) => [d.day, d.snapshot.account])).toEqual([['2024-01-03', '2024-01-01'], ['2024-01-04', '2024-01-01']]);
    const after = await dimShare(wh);
    expect(after.OK).toBeGreaterThan(0);
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(Object.values(before).reduce((a, b) => a + b, 0));
    expect(await totals(wh)).toEqual(sums);
    const named = await duckQuery(`SELECT count(*) FROM read_parquet('${factGlob(wh)}') WHERE dim_status = 'OK' AND account_id IS NOT NULL AND account_name IS NULL`);
    expect(Number(named[0]![0])).toBe(0);
    // time travel: the table as it was before the re-enrich commit still has the old attributes
    const old = path.join(dir, 'old.csv');
    expect((await cli([...base, 'export', '--from', '2024-01-03', '--to', '2024-01-04', '--as-of', mark, '--format', 'csv', '--out', old])).code).toBe(0);
    const text = readFileSync(old, 'utf8');
    expect(text).not.toMatch(/,OK,/);
    const hist = await cli([...base, 'table', 'history', '--last', '1']);
    expect(hist.out).toMatch(/ reenrich: \+2 -\d+ files, 2 partitions/);
  });

  it('enrichment.missingSnapshot: refuse makes the runs fail with what to do; re-enrich without a snapshot is exit 2', async () => {
    const dir = tmp();
    const landing = path.join(dir, 'landing');
    const wh = path.join(dir, 'wh');
    expect((await cli(['generate', '--out', landing, '--from', '2024-01-03', '--to', '2024-01-03', '--events-per-day', '60', '--seed', '5'])).code).toBe(0);
    const cfg = path.join(dir, 'bm.yaml');
    writeFileSync(cfg, 'enrichment: { missingSnapshot: refuse }\n');
    const b = await cli(['--config', cfg, '--warehouse', wh, '--landing', landing, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'zuora']);
    expect(b.code).toBe(1);
    expect(b.out).toMatch(/FAILED zuora .*no dimension snapshot is loaded yet.*refused \(enrichment\.missingSnapshot: refuse\)/);
    const e = await cli(['--warehouse', wh, 're-enrich', '--date', '2024-01-03']);
    expect(e.code).toBe(2);
    expect(e.err).toContain('there is no dimension snapshot to re-enrich from: load one first (billing-mart ingest --source oltp)');
  });
});
