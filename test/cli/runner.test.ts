/** The async child-process runner the CLI tests use (test/helpers/cli.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, runNode, runProcess } from '../helpers/cli.js';

const node = (code: string, o: Parameters<typeof runProcess>[2] = {}) => runProcess(process.execPath, ['-e', code], o);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('runProcess / runCli', () => {
  it('gives the exit code and the whole stdout and stderr, apart', async () => {
    const r = await node("process.stdout.write('out'); process.stderr.write('err'); process.exitCode = 3");
    expect(r).toMatchObject({ code: 3, status: 3, signal: null, timedOut: false, stdout: 'out', stderr: 'err' });
  });

  it('pipes the input and closes stdin; without input stdin is at EOF at once (as spawnSync)', async () => {
    const echo = "let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => process.stdout.write('[' + s + ']'))";
    expect((await node(echo, { input: 'a\nb\n' })).stdout).toBe('[a\nb\n]');
    expect((await node(echo)).stdout).toBe('[]');
  });

  it('passes env and cwd', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'bm-runner-'));
    dirs.push(cwd);
    const r = await node('process.stdout.write(process.env.BM_RUNNER_X + " " + process.cwd())', { cwd, env: { ...process.env, BM_RUNNER_X: 'x1' } });
    expect(r.stdout).toBe(`x1 ${cwd}`);
  });

  it('decodes multi-byte UTF-8 split across chunks', async () => {
    const r = await node("process.stdout.write(Buffer.from('€'.repeat(200000)))");
    expect(r.stdout).toBe('€'.repeat(200000));
  });

  it('kills a child that outlives timeoutMs and says so', async () => {
    const r = await node('setInterval(() => {}, 1000)', { timeoutMs: 300 });
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
  });

  it('rejects when the command cannot start', async () => {
    await expect(runProcess(path.join(os.tmpdir(), 'bm-no-such-command'), [])).rejects.toThrow(/ENOENT/);
  });

  it('does not block the event loop while the child runs (a spawnSync here would deadlock until its timeout)', async () => {
    // the child exits only once this process answers on a socket: possible only if our loop keeps turning
    const server = net.createServer((s) => s.end('pong'));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await node(`require('net').connect(${port}, '127.0.0.1').on('data', (d) => process.stdout.write(d))`, { timeoutMs: 60_000 });
      expect(r).toMatchObject({ code: 0, timedOut: false, stdout: 'pong' });
    } finally {
      server.close();
    }
  });

  it('runCli runs the real binary; runNode a script', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('billing-mart');
    const n = await runNode(path.join(os.tmpdir(), 'bm-no-such-script.js'), []);
    expect(n.code).not.toBe(0);
    expect(n.stderr).toMatch(/Cannot find module/);
  });
});
