/**
 * Issue 15 item 4 and item 9 "Redaction stops at the first @": one redactor (events/redact.ts) hides credentials
 * in configuration output, logs, run records, error messages and the HTML report, passwords holding `@` included.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact, redactUrl, rememberSecret, scrub, urlPassword } from '../../events/redact.js';
import { ManualClock } from '../../jobs/clock.js';
import { memoryLogger } from '../../jobs/log.js';
import { renderReport } from '../../jobs/report.js';
import { RunStore, type RunRecord } from '../../jobs/runstore.js';
import { runCli } from '../helpers/cli.js';

const URL_AT = 'postgres://bm:p@ssW0rd@db.internal:5432/billing';

describe('the redactor', () => {
  it('hides a password that contains @ (the userinfo runs to the last @)', () => {
    expect(redactUrl(URL_AT)).toBe('postgres://bm:***@db.internal:5432/billing');
    expect(redactUrl('postgres://bm:a@b@c@host/db?sslmode=require')).toBe('postgres://bm:***@host/db?sslmode=require');
    expect(redactUrl('postgres://bob:pa%40ss@db:5432/x')).toBe('postgres://bob:***@db:5432/x');
    expect(redactUrl('postgresql://db/x?user=bob&password=hunter2&ssl=1')).toBe('postgresql://db/x?user=bob&password=***&ssl=1');
    expect(redactUrl('postgres://db/x')).toBe('postgres://db/x');
    expect(redactUrl('postgres://bob@db/x')).toBe('postgres://bob@db/x');
    expect(urlPassword(URL_AT)).toBe('p@ssW0rd');
  });

  it('redacts URLs inside free text, JSON and HTML, and remembered secrets wherever they appear', () => {
    expect(scrub(`connect ${URL_AT} failed (p@ssW0rd rejected)`, ['p@ssW0rd'])).toBe('connect postgres://bm:***@db.internal:5432/billing failed (*** rejected)');
    expect(redact(JSON.stringify({ error: `on ${URL_AT}: refused` }))).toBe('{"error":"on postgres://bm:***@db.internal:5432/billing: refused"}');
    rememberSecret('s3cr3t-from-PGPASSWORD');
    expect(redact('auth failed for s3cr3t-from-PGPASSWORD')).toBe('auth failed for ***');
  });
});

describe('everywhere a person or a file can see it', () => {
  it('log lines (json and human)', () => {
    const clock = new ManualClock(0);
    for (const format of ['json', 'human'] as const) {
      const log = memoryLogger(clock, format);
      log.error('run.failed', { error: `cannot connect on ${URL_AT}` });
      expect(log.lines[0]).not.toContain('ssW0rd');
      expect(log.lines[0]).toContain('postgres://bm:***@db.internal');
    }
  });

  it('run records on disk', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bm-redact-'));
    const runs = new RunStore({ dir, clock: new ManualClock(0) });
    const rec = await runs.start({ job: 'oltp', trigger: 'manual' });
    await runs.finish(rec, 'failed', { error: `cannot connect to the OLTP database on ${URL_AT}` });
    const day = readdirSync(dir)[0]!;
    const text = readFileSync(path.join(dir, day, readdirSync(path.join(dir, day))[0]!), 'utf8');
    expect(text).not.toContain('ssW0rd');
    expect((await runs.list())[0]!.error).toBe('cannot connect to the OLTP database on postgres://bm:***@db.internal:5432/billing');
  });

  it('the HTML report', () => {
    const failed = { runId: 'r1', job: 'oltp', source: null, window: '2024-01-03', trigger: 'manual', status: 'failed', startedAt: '2024-01-03T00:00:00Z', endedAt: null, attempts: 1, rowsIn: 0, rowsWritten: 0, duplicates: 0, quarantined: {}, files: [], filesSkipped: 0, commitId: null, version: null, error: `refused on ${URL_AT}`, pid: 1, host: 'h' } satisfies RunRecord;
    const html = renderReport({ now: '2024-01-04T00:00:00Z', from: '2024-01-03', to: '2024-01-03', sources: [], days: [], freshness: [], failedRuns: [failed], warningRuns: [], recentRuns: [failed], factPath: '/wh' });
    expect(html).not.toContain('ssW0rd');
    expect(html).toContain('postgres://bm:***@db.internal');
  });

  it('`billing-mart config` and `--json config` never print the password of BILLING_MART_PG_URL', async () => {
    const bin = path.resolve('bin/billing-mart.js');
    for (const args of [['config'], ['--json', 'config']]) {
      const r = await runCli(args, { env: { ...process.env, BILLING_MART_PG_URL: URL_AT } });
      expect(r.status).toBe(0);
      expect(r.stdout).not.toContain('ssW0rd');
      expect(r.stdout).toContain('postgres://bm:***@db.internal:5432/billing');
    }
  });
});
