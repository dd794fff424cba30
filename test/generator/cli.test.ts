/** The `generate` and `profile` commands through the real binary (needs `npx tsc -p tsconfig.build.json`). */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(__dirname, '../..');
const run = (args: string[]) => runCli(args, { cwd: ROOT, timeoutMs: 120_000 });

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('billing-mart generate / profile (CLI)', () => {
  it('generates a landing zone and prints a JSON summary', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bm-cli-gen-'));
    dirs.push(out);
    const r = await run(['--json', 'generate', '--out', out, '--from', '2024-01-03', '--to', '2024-01-04', '--events-per-day', '200', '--seed', '7']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ out, days: 2 });
    expect(s.events).toBeGreaterThan(300);
    expect(existsSync(path.join(out, '_truth', 'expected_fact.csv'))).toBe(true);
    expect(readFileSync(path.join(out, '_oltp', 'accounts.csv'), 'utf8')).toMatch(/^account_id,billing_source,/);
  });

  it('exits 2 with a clear message on bad arguments', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bm-cli-gen-'));
    dirs.push(out);
    const bad = await run(['generate', '--out', out, '--from', '2024-02-30', '--to', '2024-03-01']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/"2024-02-30" is not a calendar day/);
    const n = await run(['generate', '--out', out, '--from', '2024-03-01', '--to', '2024-03-01', '--events-per-day', 'lots']);
    expect(n.status).toBe(2);
    expect(n.stderr).toMatch(/--events-per-day "lots" must be a whole number ≥ 1/);
    const tz = await run(['profile', path.join(ROOT, 'test/fixtures/zuora/invoice.csv'), '--source-tz', 'Mars/Olympus']);
    expect(tz.status).toBe(2);
    expect(tz.stderr).toMatch(/"Mars\/Olympus" is not an IANA time zone/);
  });

  it('profiles a real Zuora export', async () => {
    const r = await run(['profile', path.join(ROOT, 'test/fixtures/zuora/invoice.csv'), '--source-tz', 'America/Los_Angeles']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/column created_date: \d+ value\(s\)/);
    expect(r.stdout).toContain('YYYY-MM-DD HH:mm:ss.SSSSSS');
    const j = await run(['--json', 'profile', path.join(ROOT, 'test/fixtures/zuora/invoice.csv'), '--source-tz', 'America/Los_Angeles']);
    const p = JSON.parse(j.stdout);
    expect(p.columns.find((c: { column: string }) => c.column === 'due_date').precision.day).toBeGreaterThan(0);
  });
});
