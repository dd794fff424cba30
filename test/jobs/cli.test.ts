import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, requireBuilt, tempDir } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  requireBuilt('jobs/cli/main.js');
  const r = await runCli(args, { cwd, timeoutMs: 120_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function workdir() {
  const t = tempDir('bm-cli-');
  cleanups.push(t.cleanup);
  mkdirSync(path.join(t.dir, 'landing'));
  return { dir: t.dir, base: ['--warehouse', path.join(t.dir, 'wh'), '--landing', path.join(t.dir, 'landing')] };
}

describe('jobs CLI', () => {
  it('rejects an unknown source with exit 2 naming the configured ones', async () => {
    const w = workdir();
    const r = await cli([...w.base, 'ingest', '--source', 'paypal', '--window', '2024-01-03T04:00Z/2024-01-03T08:00Z'], w.dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown source "paypal"[\s\S]*zuora, stripe, chargebee, recurly/);
  });

  it('rejects a bad window and a reversed range with exit 2', async () => {
    const w = workdir();
    const a = await cli([...w.base, 'ingest', '--source', 'zuora', '--window', '2024-01-03T04:00/2024-01-03T08:00Z'], w.dir);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--window: window bound "2024-01-03T04:00" is not an ISO 8601 UTC instant/);
    const b = await cli([...w.base, 'backfill', '--from', '2024-01-05', '--to', '2024-01-01'], w.dir);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--to 2024-01-01 is before --from 2024-01-05/);
    const c = await cli([...w.base, 'check', 'completeness', '--date', '2024-02-30'], w.dir);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--date "2024-02-30" is not a calendar day/);
  });

  it('a manual `ingest --source oltp` against an unreachable server makes one attempt and says retrying may help', async () => {
    const w = workdir();
    const env = { ...process.env, BILLING_MART_PG_URL: 'postgres://bm:p@ssW0rd@127.0.0.1:1/billing' };
    const r = await cli([...w.base, 'ingest', '--source', 'oltp', '--date', '2024-01-03'], w.dir, env);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/1 attempt\)/);
    expect(r.err).toMatch(/the run failed: .*cannot connect to the OLTP database.*\(retriable: running it again may help/);
  });

  it('unrecognised files and an all-quarantined window are warnings: in the run record, --json, exit 1; records read are counted', async () => {
    const w = workdir();
    const folder = path.join(w.dir, 'landing', 'stripe', '2024-01-03', '04');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'charges.csv'), 'id\nch_1\n'); // no object "charges"
    writeFileSync(path.join(folder, 'charge.csv'), 'id,created,amount,currency\n,,,\n ,,,\n'); // two records, both without an id
    writeFileSync(path.join(folder, '_SUCCESS'), '');
    const r = await cli([...w.base, '--json', 'ingest', '--source', 'stripe', '--window', '2024-01-03T04:00Z/2024-01-03T08:00Z'], w.dir);
    expect(r.code).toBe(1);
    const rec = JSON.parse(r.out);
    expect(rec).toMatchObject({ status: 'succeeded', records: { read: 2, mapped: 0, quarantined: 2 }, rowsIn: 0, quarantined: { MISSING_ID: 2 }, files: ['stripe/2024-01-03/04/charge.csv'] });
    expect(rec.unrecognised).toEqual([{ path: 'stripe/2024-01-03/04/charges.csv', reason: expect.stringMatching(/no object "charges" in source "stripe"/) }]);
    expect(rec.warnings).toEqual([expect.stringMatching(/^1 file\(s\) match no object of source "stripe"/), expect.stringMatching(/every one of the 2 record\(s\) read was quarantined \(MISSING_ID\)/)]);
  });

  it('rejects --attempts that is not a whole number of at least 1', async () => {
    const w = workdir();
    const r = await cli([...w.base, 'ingest', '--source', 'zuora', '--attempts', '0', '--window', '2024-01-03T04:00Z/2024-01-03T08:00Z'], w.dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--attempts "0" must be a whole number ≥ 1');
  });

  it('prints a backfill plan on --dry-run without loading anything', async () => {
    const w = workdir();
    const r = await cli([...w.base, 'backfill', '--from', '2024-01-01', '--to', '2024-01-01', '--sources', 'zuora,stripe', '--dry-run'], w.dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('RUN   zuora        2024-01-01T00:00Z/2024-01-01T04:00Z');
    expect(r.out).toMatch(/plan: 12 windows, 12 to run, 0 to skip\n$/);
    const j = await cli([...w.base, '--json', 'backfill', '--from', '2024-01-01', '--to', '2024-01-01', '--sources', 'stripe', '--dry-run'], w.dir);
    expect(JSON.parse(j.out).plan).toHaveLength(6);
  });

  it('an ingest that finds no delivery folder says so, exits 1 and does not mark the window loaded (issue 14 item 1, issue 15 item 7)', async () => {
    const w = workdir();
    const r = await cli([...w.base, 'ingest', '--source', 'stripe', '--window', '2024-01-03T04:00Z/2024-01-03T08:00Z'], w.dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/ingest stripe 2024-01-03T04:00Z\/2024-01-03T08:00Z: SUCCEEDED WITH WARNINGS \(run \S+, 1 attempt\)/);
    expect(r.out).toMatch(/WARNING: no delivery folder for 2024-01-03T04:00Z\/2024-01-03T08:00Z plus 24 h lookback .*windows select delivery folders \(<landing>\/stripe\/YYYY-MM-DD\/HH\/\), not event dates/);
    const j = await cli([...w.base, '--json', 'ingest', '--source', 'stripe', '--window', '2024-01-03T04:00Z/2024-01-03T08:00Z'], w.dir);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ status: 'succeeded', records: { read: 0 }, commitId: null, warnings: [expect.stringMatching(/no delivery folder/)] });
    const c = await cli([...w.base, '--json', 'check', 'completeness', '--date', '2024-01-03'], w.dir);
    expect(c.code).toBe(1);
    const out = JSON.parse(c.out);
    expect(out.ok).toBe(false);
    expect(out.days[0].results.map((x: { source: string; status: string }) => `${x.source}:${x.status}`)).toEqual(['zuora:MISSING_CONTROL', 'stripe:MISSING_CONTROL', 'chargebee:MISSING_CONTROL', 'recurly:MISSING_CONTROL']);
    // status names as in JSON; a MISSING_CONTROL source-day makes status exit 1 (it used to exit 0 whatever it showed)
    const s = await cli([...w.base, 'status', '--from', '2024-01-03', '--to', '2024-01-03'], w.dir);
    expect(s.code).toBe(1);
    expect(s.err).toContain('billing-mart status: needs attention: 4 MISSING_CONTROL (exit 1; LATE, NOT_CHECKED, ARRIVED and COMPLETE alone are exit 0)');
    expect(s.out).toMatch(/2024-01-03 +MISSING_CONTROL 0\/6w 0r 0f +MISSING_CONTROL 0\/6w 0r 0f WARN/);
    const sj = await cli([...w.base, '--json', 'status', '--from', '2024-01-03', '--to', '2024-01-03'], w.dir);
    expect(sj.code).toBe(1);
    expect(JSON.parse(sj.out).problems).toMatchObject({ cells: 4, byStatus: { MISSING_CONTROL: 4 } }); // one JSON document, no error object after it
    expect(s.out).toMatch(/runs that loaded nothing useful \(1; WARN in the grid\)/);

    // --sources on check completeness, status and report: only the sources named; an unknown one is exit 2
    const cs = await cli([...w.base, '--json', 'check', 'completeness', '--date', '2024-01-03', '--sources', 'stripe'], w.dir);
    expect(cs.code).toBe(1);
    expect(JSON.parse(cs.out)).toMatchObject({ ok: false, sources: ['stripe'], days: [{ results: [{ source: 'stripe', status: 'MISSING_CONTROL' }] }] });
    expect(JSON.parse(cs.out).days[0].results).toHaveLength(1);
    const unknown = await cli([...w.base, 'check', 'completeness', '--date', '2024-01-03', '--sources', 'stripe,paypal'], w.dir);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--sources: unknown source\(s\) paypal/);
    expect(unknown.err).toMatch(/configured sources: zuora, stripe, chargebee, recurly/);
    const st = await cli([...w.base, '--json', 'status', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'stripe'], w.dir);
    expect(JSON.parse(st.out)).toMatchObject({ sources: ['stripe'], problems: { cells: 1 } });
    const html = path.join(w.dir, 'r.html');
    const rep = await cli([...w.base, 'report', '--out', html, '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'stripe'], w.dir);
    expect(rep.code, rep.err).toBe(0);
    expect([...readFileSync(html, 'utf8').matchAll(/class="cell" data-source="(\w+)"/g)].map((m) => m[1])).toEqual(['stripe']);
  });
});
