import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, requireBuilt, tempDir } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const t = tempDir('bm-sched-');
afterAll(() => t.cleanup());

describe('billing-mart schedule', () => {
  it('runs as a single long-lived process, refuses a second one, and stops gracefully on SIGTERM', async () => {
    requireBuilt('jobs/cli/main.js');
    mkdirSync(path.join(t.dir, 'landing'));
    const config = path.join(t.dir, 'config.yaml');
    // Fires far in the future and no catch-up: the scheduler starts, finds nothing due, and sleeps.
    writeFileSync(config, `warehouse: wh\nlanding: landing\nlog:\n  format: json\nschedule:\n  billing: "0 0 1 1 *"\n  oltp: "0 0 1 1 *"\n  completeness: "0 0 1 1 *"\n  catchUpHorizonHours: 0\n`);
    const bin = path.join(ROOT, 'bin/billing-mart.js');
    const proc = spawn(process.execPath, [bin, '--config', config, 'schedule'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const rl = createInterface({ input: proc.stderr! });
    const started = new Promise<void>((resolve) => rl.on('line', (l) => {
      lines.push(l);
      if (l.includes('"event":"scheduler.start"')) resolve();
    }));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await started;
    expect(JSON.parse(lines.find((l) => l.includes('scheduler.start'))!).jobs).toEqual(['billing@0 0 1 1 *', 'oltp@0 0 1 1 *', 'completeness@0 0 1 1 *']);

    const second = await runCli(['--config', config, 'schedule', '--once'], { cwd: t.dir, timeoutMs: 60_000 });
    expect(second.status).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`another scheduler is already running \\(pid ${proc.pid} on `));

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"event":"shutdown.requested"') && l.includes('"signal":"SIGTERM"'))).toBe(true);
    expect(JSON.parse(lines.find((l) => l.includes('"event":"scheduler.stop"'))!).reason).toBe('signal');

    // the scheduler lock was released: a new one can run what is due (nothing) and exit
    const third = await runCli(['--config', config, '--json', 'schedule', '--once'], { cwd: t.dir, timeoutMs: 60_000 });
    expect(third.status).toBe(0);
    expect(JSON.parse(third.stdout)).toEqual({ fires: 0 });
  });
});
