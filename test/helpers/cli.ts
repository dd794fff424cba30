/**
 * Runs a child process without blocking the test worker (async `spawn`, never `spawnSync`/`execFileSync`).
 *
 * vitest's `forks` pool talks to each worker over RPC; a worker blocked in `spawnSync` for a long CLI run cannot
 * answer and the whole run fails with "[vitest-worker]: Timeout calling onTaskUpdate" on a loaded machine.
 *
 *   const r = await runCli(['--json', 'status'], { cwd, env: { ...process.env, BILLING_MART_WAREHOUSE: '' } });
 *   expect(r.code).toBe(0);
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The real binary (it imports dist/: build first). */
export const CLI_BIN = path.join(ROOT, 'bin', 'billing-mart.js');

export interface RunOptions {
  /** Default: process.env (as spawnSync). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin, which is then closed. Without it stdin is closed at once (EOF, as spawnSync). */
  input?: string;
  /** Killed (SIGKILL) after this long; default 180 s. `code` is then null and `timedOut` true. */
  timeoutMs?: number;
}

export interface RunResult {
  /** Exit code; null when killed by a signal (see `signal`, `timedOut`). */
  code: number | null;
  /** The same as `code`, under spawnSync's name. */
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` to its end; resolves with its exit code and its whole stdout/stderr (UTF-8). Rejects only when it cannot start. */
export function runProcess(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // a child that exits without reading its stdin makes the write fail with EPIPE: not an error of the run
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, status: code, signal, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Runs `billing-mart <args>` (bin/billing-mart.js under this node). */
export function runCli(args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [CLI_BIN, ...args], o);
}

/** Runs `node <script> <args>` under this node. */
export function runNode(script: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [script, ...args], o);
}
