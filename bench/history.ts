/**
 * Cost per commit against the table's age (issue 11: "the last 100 runs of a 150-day backfill take ≤ 1.5× its
 * first 100"). Generates a small landing zone (`generate`, 4 sources), backfills it with the real CLI in one
 * process, then reads the run records and compares the durations of the first and the last 100 ingest runs.
 * A measurement, never a test assertion.
 *
 *   npm run build && node dist/bench/history.js [--days 150] [--events-per-day 200] [--from 2024-01-01] [--dir bench-output/history]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'billing-mart.js');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

function* jsonFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) yield* jsonFiles(p);
    else if (n.endsWith('.json')) yield p;
  }
}

function main(): void {
  const days = Number(arg('days', '150'));
  const perDay = Number(arg('events-per-day', '200'));
  const from = arg('from', '2024-01-01');
  const to = addDays(from, days - 1);
  const dir = path.resolve(arg('dir', path.join('bench-output', 'history')));
  const landing = path.join(dir, 'landing');
  const warehouse = path.join(dir, 'warehouse');
  rmSync(warehouse, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const marker = path.join(landing, `.generated-${from}-${to}-${perDay}`);
  if (!existsSync(marker)) {
    rmSync(landing, { recursive: true, force: true });
    execFileSync(process.execPath, [CLI, 'generate', '--out', landing, '--from', from, '--to', to, '--events-per-day', String(perDay), '--seed', '7'], { stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(marker, '');
  }
  const t0 = Date.now();
  execFileSync(process.execPath, [CLI, '--landing', landing, '--warehouse', warehouse, 'backfill', '--from', from, '--to', to], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
  const wall = (Date.now() - t0) / 1000;
  const runs = [...jsonFiles(path.join(warehouse, '_state', 'runs'))]
    .map((f) => {
      try {
        return JSON.parse(readFileSync(f, 'utf8')) as { job?: string; source?: string; startedAt?: string; endedAt?: string | null; status?: string };
      } catch {
        return null; // an index or other non-record file of the run store
      }
    })
    .filter((r): r is { job: string; source: string; startedAt: string; endedAt: string; status: string } => !!r && r.job === 'ingest' && r.source !== 'oltp' && typeof r.startedAt === 'string' && typeof r.endedAt === 'string')
    .sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1));
  if (runs.length < 200) throw new Error(`only ${runs.length} ingest runs recorded under ${warehouse}; need at least 200`);
  const ms = runs.map((r) => Date.parse(r.endedAt) - Date.parse(r.startedAt));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / 1000;
  const first = sum(ms.slice(0, 100));
  const last = sum(ms.slice(-100));
  const result = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? ''}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    days,
    eventsPerDay: perDay,
    runs: runs.length,
    failed: runs.filter((r) => r.status !== 'succeeded').length,
    backfillSeconds: wall,
    first100Seconds: first,
    last100Seconds: last,
    ratio: last / first,
  };
  writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 1) + '\n');
  process.stdout.write(`${JSON.stringify(result)}\nlast 100 / first 100 runs: ${result.ratio.toFixed(2)} (target ≤ 1.5)\n`);
}

main();
