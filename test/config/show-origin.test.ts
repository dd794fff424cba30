/**
 * Issue 14: `config --show-origin` names, for each effective key, where its value came from (embedded
 * defaults, <file>:<line>, an environment variable, a flag), and never prints a secret: values go through the
 * one redactor (events/redact.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configOrigins, loadConfig } from '../../config/index.js';
import { runCli } from '../helpers/cli.js';
import { ROOT, requireBuilt } from '../jobs/helpers.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/recurly/recurly.yaml');

function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bm-origin-'));
  const f = path.join(dir, 'billing-mart.yaml');
  writeFileSync(f, text);
  return f;
}

const CONFIG = `# billing-mart settings
lookbackHours: 12
schedule:
  billing: "0 */2 * * *"
oltp:
  kind: postgres
  url: postgres://bm:file-secret-9@db.example/billing
builtins: [zuora]
sources:
  - include: ${FIXTURE}
`;

describe('config --show-origin', () => {
  it('names the layer of every effective key: flag, environment variable, file and line, embedded default, built-in or included source', () => {
    const f = yamlFile(CONFIG);
    const c = loadConfig({ configFile: f, warehouse: '/flag/wh', env: { BILLING_MART_LANDING: '/env/landing' } });
    const by = new Map(configOrigins(c).map((k) => [k.key, k]));
    expect(by.get('warehouse')).toMatchObject({ value: '/flag/wh', kind: 'flag', origin: '--warehouse' });
    expect(by.get('landing')).toMatchObject({ value: '/env/landing', kind: 'env', origin: 'BILLING_MART_LANDING' });
    expect(by.get('lookbackHours')).toMatchObject({ value: 12, kind: 'file', origin: `${f}:2` });
    expect(by.get('schedule.billing')).toMatchObject({ value: '0 */2 * * *', kind: 'file', origin: `${f}:4` });
    expect(by.get('oltp.url')).toMatchObject({ kind: 'file', origin: `${f}:7` });
    expect(by.get('schedule.oltp')).toMatchObject({ value: '0 1 * * *', kind: 'default', origin: 'embedded defaults' });
    expect(by.get('state')).toMatchObject({ value: '/flag/wh/_state', kind: 'default' });
    expect(by.get('sources.zuora')).toMatchObject({ kind: 'built-in', origin: 'built-in zuora' });
    expect(by.get('sources.recurly')).toMatchObject({ kind: 'file', origin: FIXTURE });
    expect(by.has('sources.stripe')).toBe(false);
    // every key of the effective configuration is listed once
    const keys = configOrigins(c).map((k) => k.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of ['compaction.targetFileBytes', 'completeness.graceHours', 'freshness.warnHours', 'pickup.mode', 'schedule.timezone']) expect(keys).toContain(k);
  });

  it('an environment variable wins over the file and says so (BILLING_MART_PG_URL sets oltp.kind and oltp.url)', () => {
    const f = yamlFile(CONFIG);
    const c = loadConfig({ configFile: f, env: { BILLING_MART_PG_URL: 'postgres://env:pw-from-env@h/db' } });
    const by = new Map(configOrigins(c).map((k) => [k.key, k]));
    expect(by.get('oltp.url')).toMatchObject({ kind: 'env', origin: 'BILLING_MART_PG_URL' });
    expect(by.get('oltp.kind')).toMatchObject({ kind: 'env', origin: 'BILLING_MART_PG_URL' });
    expect(by.get('lookbackHours')).toMatchObject({ kind: 'file' });
  });

  it('the CLI prints it as text and JSON with every secret redacted (file URL password, environment URL password, PGPASSWORD)', async () => {
    requireBuilt('jobs/cli/main.js');
    const f = yamlFile(CONFIG);
    const env = { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '/env/landing', PGPASSWORD: 'pgpass-secret-7' };
    const text = await runCli(['--config', f, '--warehouse', '/flag/wh', 'config', '--show-origin'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^oltp\.url +postgres:\/\/bm:\*\*\*@db\.example\/billing +\S+billing-mart\.yaml:7$/m);
    expect(text.stdout).toMatch(/^warehouse +\/flag\/wh +--warehouse$/m);
    expect(text.stdout).toMatch(/^landing +\/env\/landing +BILLING_MART_LANDING$/m);
    expect(text.stdout).toMatch(/^lookbackHours +12 +\S+billing-mart\.yaml:2$/m);
    expect(text.stdout).toMatch(/^schedule\.oltp +0 1 \* \* \* +embedded defaults$/m);
    expect(text.stdout).not.toContain('file-secret-9');

    const withEnvUrl = { ...env, BILLING_MART_PG_URL: 'postgres://env:pgpass-secret-7@h/db?password=pgpass-secret-7' };
    const json = await runCli(['--json', '--config', f, 'config', '--show-origin'], { env: withEnvUrl });
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain('pgpass-secret-7');
    expect(json.stdout).not.toContain('file-secret-9');
    const keys = (JSON.parse(json.stdout) as { keys: { key: string; value: unknown; kind: string; origin: string }[] }).keys;
    expect(keys.find((k) => k.key === 'oltp.url')).toEqual({ key: 'oltp.url', value: 'postgres://env:***@h/db?password=***', kind: 'env', origin: 'BILLING_MART_PG_URL' });
  });
});
