/**
 * Issue 14 item 4: the report diagnoses. A warehouse built by the real binary from a generated landing zone
 * (loaded before its dimension snapshot, so dim_status is not all OK; some days do not match their control
 * totals) is reported with `billing-mart report`, rendered in headless Chromium, and every new section is checked
 * in the DOM the browser built; the screenshot is kept in test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetriableError } from '../../events/errors.js';
import { windowsOfDay } from '../../partitions/index.js';
import { runIngest } from '../../jobs/ingest.js';
import { renderReport } from '../../jobs/report.js';
import { collectStatus, statusProblems } from '../../jobs/status.js';
import { ev, harness } from './fakes.js';
import { ROOT, requireBuilt, tempDir } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const cli = (args: string[]) => {
  requireBuilt('jobs/cli/main.js');
  return runCli(args, { cwd: ROOT, timeoutMs: 180_000, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
};
function chromium(): string {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (existsSync(path.join(d, c))) return path.join(d, c);
  }
  throw new Error('headless Chromium is needed to test the HTML report: `apt-get install -y chromium` (.ci/run does this)');
}

let t: { dir: string; cleanup: () => void };
let dom: string;
let base: string[];
beforeAll(async () => {
  t = tempDir('bm-report-diag-');
  const landing = path.join(t.dir, 'landing');
  const wh = path.join(t.dir, 'wh');
  base = ['--warehouse', wh, '--landing', landing];
  expect((await cli(['generate', '--out', landing, '--from', '2024-01-03', '--to', '2024-01-04', '--events-per-day', '150', '--seed', '4'])).status).toBe(0);
  expect((await cli([...base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03'])).status).toBe(0); // before any snapshot
  expect((await cli([...base, 'ingest', '--source', 'oltp', '--date', '2024-01-01'])).status).toBe(0);
  expect((await cli([...base, 'backfill', '--from', '2024-01-04', '--to', '2024-01-04'])).status).toBe(0);
  await cli([...base, 'check', 'completeness', '--from', '2024-01-03', '--to', '2024-01-04']);
  const file = path.join(t.dir, 'report.html');
  const r = await cli([...base, 'report', '--out', file, '--from', '2024-01-02', '--to', '2024-01-04']);
  expect(r.status, r.stderr).toBe(0);
  const profile = path.join(t.dir, 'chromium-profile');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', `--user-data-dir=${profile}`];
  dom = (await run(chromium(), [...flags, '--dump-dom', `file://${file}`], { maxBuffer: 20 * 1024 * 1024, timeout: 90_000 })).stdout;
  mkdirSync(ARTIFACTS, { recursive: true });
  const png = path.join(ARTIFACTS, 'report-diagnose.png');
  await run(chromium(), [...flags, `--screenshot=${png}`, '--window-size=1300,2400', `file://${file}`], { timeout: 90_000 });
  expect(statSync(png).size).toBeGreaterThan(10_000);
  expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
}, 600_000);
afterAll(() => t.cleanup());

describe('the report diagnoses (rendered in headless Chromium)', () => {
  it('each non-green cell has the exact command that heals it, with the global flags; the calendar title carries it too', () => {
    const heals = [...dom.matchAll(/<li class="heal" data-cell="(\w+)\|([\d-]+)" data-status="(\w+)">[\s\S]*?<code>([^<]+)<\/code><\/li>/g)];
    expect(heals.length).toBeGreaterThan(0);
    for (const [, source, day, status, cmd] of heals) {
      const plain = cmd!.replace(/&amp;/g, '&');
      if (status === 'INCOMPLETE') expect(plain).toBe(`billing-mart ${base.join(' ')} backfill --from ${day} --to ${day} --sources ${source} --force && billing-mart ${base.join(' ')} check completeness --date ${day}`);
    }
    expect(dom).toMatch(/data-status="NOT_CHECKED"><b>\d+ source-day\(s\) not checked yet<\/b>/); // 2024-01-02 was never checked
    expect(dom).toMatch(/title="[^"]*; to heal: billing-mart --warehouse/);
  });

  it('quarantine by source and reason, each with an example file:line', () => {
    const q = [...dom.matchAll(/<tr class="q" data-source="(\w+)" data-reason="(\w+)"><td>\w+<\/td><td>\w+<\/td><td class="num">(\d+)<\/td><td><code>([^<]+)<\/code>/g)];
    expect(q.length).toBeGreaterThan(0);
    for (const [, source, , n, where] of q) {
      expect(Number(n)).toBeGreaterThan(0);
      expect(where).toMatch(new RegExp(`^${source}/2024-01-0[2-4]/\\d\\d/[^:]+:\\d+$`));
    }
  });

  it('amounts per day and currency against the control totals, mismatches marked', () => {
    const rows = [...dom.matchAll(/<tr class="amt (match|mismatch)" data-day="([\d-]+)" data-source="(\w+)" data-currency="([A-Z]{3})">/g)];
    expect(rows.length).toBeGreaterThan(10);
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(['2024-01-03', '2024-01-04']));
    expect(rows.some((r) => r[1] === 'match')).toBe(true);
    expect(dom).toMatch(/\d+ of \d+ day × source × currency sums differ from the source's control totals/);
  });

  it('arrival lag per source with freshness colours, and dim_status share (rows loaded before the snapshot are not OK)', () => {
    const lag = [...dom.matchAll(/<tr class="lag lv-(fresh|warn|error)" data-source="(\w+)" data-level="(\w+)">/g)];
    expect(lag.map((l) => l[2])).toEqual(['zuora', 'stripe', 'chargebee', 'recurly']);
    expect(lag.every((l) => l[3] === 'ERROR')).toBe(true); // events of 2024 loaded today: years of lag
    const dims = [...dom.matchAll(/<tr class="dim" data-source="(\w+)" data-ok-share="([\d.]+)">/g)].map((m) => Number(m[2]));
    expect(dims).toHaveLength(4);
    for (const share of dims) {
      expect(share).toBeGreaterThan(0);
      expect(share).toBeLessThan(1);
    }
    expect(dom).toContain('billing-mart re-enrich --from D --to D');
  });

  it("links to each day's manifest and to each run's record, which exist", () => {
    const manifests = [...dom.matchAll(/<a href="file:\/\/([^"]+_manifest\.json)">/g)].map((m) => decodeURI(m[1]!));
    expect(manifests.length).toBe(3);
    expect(manifests.filter((m) => existsSync(m)).length).toBe(2); // 2024-01-02 has no data
    const runs = [...dom.matchAll(/<tr class="run \w+" data-run="([^"]+)"><td><a href="file:\/\/([^"]+)">/g)];
    expect(runs.length).toBeGreaterThan(0);
    for (const [, id, file] of runs) {
      expect(existsSync(decodeURI(file!)), file).toBe(true);
      expect(JSON.parse(readFileSync(decodeURI(file!), 'utf8')).runId).toBe(id);
    }
  });
});

describe('failed runs that later succeeded', () => {
  it('are shown resolved, and do not make status exit 1', async () => {
    const d = tempDir();
    try {
      const h = harness(d.dir, { sources: ['zuora'], now: '2024-01-06T00:00:00Z' });
      const w = windowsOfDay('2024-01-04')[0]!;
      h.landing.deliver('zuora', '2024-01-04T00:00:00Z', { name: 'invoice.csv', events: [ev('zuora', 'z1', '2024-01-04T00:30:00Z', '1.00')] });
      h.wh.failNext = [new RetriableError('volume offline'), new RetriableError('volume offline'), new RetriableError('volume offline')];
      expect((await runIngest(h.deps, { source: 'zuora', window: w, trigger: 'schedule' })).status).toBe('failed');
      let data = await collectStatus(h.deps, { from: '2024-01-04', to: '2024-01-04' });
      expect(data.failedRuns.map((r) => r.resolved)).toEqual([false]);
      expect(statusProblems(data).failedRuns).toBe(1);
      expect((await runIngest(h.deps, { source: 'zuora', window: w, trigger: 'manual' })).status).toBe('succeeded');
      data = await collectStatus(h.deps, { from: '2024-01-04', to: '2024-01-04' });
      expect(data.failedRuns.map((r) => r.resolved)).toEqual([true]);
      expect(statusProblems(data).failedRuns).toBe(0);
      expect(renderReport(data)).toMatch(/<li class="resolved" data-run="[^"]+">[^<]* ingest zuora 2024-01-04T00:00Z\/2024-01-04T04:00Z: [^<]*volume offline <b class="ok">resolved<\/b>/);
    } finally {
      d.cleanup();
    }
  });
});
