/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temp dir, pg_ctl start on 127.0.0.1 and a free
 * port (socket dir inside the temp dir), stop and remove in `stop()`. PostgreSQL refuses to run as root, so
 * when the tests run as root the cluster is created and run as an unprivileged user (default `postgres`,
 * or BILLING_MART_TEST_PG_USER) via `runuser -u USER --` (falling back to `su USER -c`), with the temp dir
 * owned by that user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from './cli.js';

export interface PgCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** postgres://user:password@127.0.0.1:port/database */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

function findBinDir(): string {
  const fromPath = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).stdout.trim();
  if (fromPath) return path.dirname(fromPath);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(path.join(base, v, 'bin', 'pg_ctl'))) return path.join(base, v, 'bin');
  }
  throw new Error('PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: install postgresql to run the OLTP tests');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Runner {
  run(bin: string, args: string[]): Promise<void>;
  uid?: number;
  gid?: number;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function makeRunner(): Runner {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const exec = async (cmd: string, args: string[]) => {
    const r = await runProcess(cmd, args, { timeoutMs: 120_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}${r.timedOut ? ', killed after 120 s' : ''}): ${r.stderr || r.stdout}`);
  };
  if (!isRoot) return { run: exec };
  const user = process.env.BILLING_MART_TEST_PG_USER ?? 'postgres';
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  } catch (e) {
    throw new Error(`running as root and user "${user}" does not exist: PostgreSQL refuses to run as root; create the user or set BILLING_MART_TEST_PG_USER (${(e as Error).message})`);
  }
  const hasRunuser = spawnSync('sh', ['-c', 'command -v runuser'], { encoding: 'utf8' }).stdout.trim() !== '';
  return {
    uid,
    gid,
    run: (bin, args) =>
      hasRunuser ? exec('runuser', ['-u', user, '--', bin, ...args]) : exec('su', [user, '-s', '/bin/sh', '-c', [bin, ...args].map(shellQuote).join(' ')]),
  };
}

/** Starts a cluster with password authentication over TCP (so URLs carry a real secret). */
export async function startPg(): Promise<PgCluster> {
  const bin = findBinDir();
  const runner = makeRunner();
  // The cluster user must be able to reach the temp dir: a private TMPDIR (e.g. under /root) will not do.
  let base = os.tmpdir();
  if (runner.uid !== undefined && (statSync(base).mode & 0o001) === 0) base = '/tmp';
  const dir = mkdtempSync(path.join(base, 'bm-pg-'));
  const data = path.join(dir, 'data');
  const pwfile = path.join(dir, 'pw');
  const password = `s3cret-${process.pid}-pw`;
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (runner.uid !== undefined) {
    chownSync(dir, runner.uid, runner.gid!);
    chownSync(pwfile, runner.uid, runner.gid!);
  }
  const user = 'billing';
  await runner.run(path.join(bin, 'initdb'), ['-D', data, '-U', user, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C']);
  let port = 0;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort();
    try {
      await runner.run(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', path.join(dir, 'server.log'), '-o', `-k ${dir} -h 127.0.0.1 -p ${port} -c fsync=off -c full_page_writes=off`, 'start']);
      lastErr = undefined;
      break;
    } catch (e) {
      lastErr = e; // port taken between probe and start: try another
    }
  }
  if (lastErr) {
    rmSync(dir, { recursive: true, force: true });
    throw lastErr;
  }
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    database: 'postgres',
    url: `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await runner.run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
