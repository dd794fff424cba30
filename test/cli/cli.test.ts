import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

async function run(args: string[], input?: string) {
  const r = await runCli(args, { input, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('billing-mart CLI', () => {
  it('prints help with the global options and the exit codes', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--config', '--warehouse', '--landing', '--json']) expect(r.out).toContain(opt);
    expect(r.out).toMatch(/Exit codes: 0 ok, 1 .*2 usage/);
  });

  it('every command has --help', async () => {
    const top = (await run(['--help'])).out;
    const names = [...top.matchAll(/^ {2}([a-z][a-z-]*)(?: |\n)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    expect(names.length).toBeGreaterThan(1);
    // all at once: one after the other, ~25 node start-ups outlast the test timeout on a loaded machine
    const results = await Promise.all(names.map((n) => run([n, '--help'])));
    for (const [i, n] of names.entries()) {
      const r = results[i]!;
      expect(r.code, `${n} --help`).toBe(0);
      expect(r.out).toContain(`billing-mart ${n}`);
    }
  });

  it('exits 2 on an unknown command or a bad config, naming the key', async () => {
    expect((await run(['no-such-command'])).code).toBe(2);
    const dir = mkdtempSync(path.join(tmpdir(), 'bm-cli-'));
    const f = path.join(dir, 'bad.yaml');
    writeFileSync(f, 'lookbackHours: lots\n');
    const r = await run(['--config', f, 'config']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('lookbackHours');
    expect(r.err).toContain(f);
  });

  it('--json and --warehouse are honoured by config', async () => {
    const r = await run(['--json', '--warehouse', '/tmp/wh-flag', 'config']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).warehouse).toBe('/tmp/wh-flag');
  });
});
