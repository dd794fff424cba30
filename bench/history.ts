/**
 * Cost per commit against the table's age (issue 11: "the last 100 runs of a 150-day backfill take ≤ 1.5× its
 * first 100"). Generates a small landing zone (`generate`, 4 sources), backfills it with the real CLI in one
 * process, then reads the run records and compares the durations of the first and the last 100 ingest runs.
 * A measurement, never a test assertion.
 *
 * On a shared machine the load drifts over a long backfill, so it also measures side by side (`--ab-days N`,
 * default 2): the old table (all `--days`) and a young one (5 days, plus the day before the measured ones so
 * the lookback finds the same committed files) load the same N new days, alternating table and order day by
 * day; the ratio of their mean run times is the cost of age with the load drift cancelled.
 *
 *   npm run build && node dist/bench/history.js [--days 150] [--events-per-day 200] [--from 2024-01-01] [--ab-days 2] [--dir bench-output/history]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addDays } from '../partitions/index.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'billing-mart.js');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}


function* jsonFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) yield* jsonFiles(p);
    else if (n.endsWith('.json')) yield p;
  }
}

interface RunRow {
  job: string;
  source: string;
  startedAt: string;
  endedAt: string;
  status: string;
}

/** The finished billing ingest runs of a warehouse's run store, oldest first. */
function ingestRuns(warehouse: string): RunRow[] {
  return [...jsonFiles(path.join(warehouse, '_state', 'runs'))]
    .map((f) => {
      try {
        return JSON.parse(readFileSync(f, 'utf8')) as Partial<RunRow>;
      } catch {
        return null; // an index or other non-record file of the run store
      }
    })
    .filter((r): r is RunRow => !!r && r.job === 'ingest' && r.source !== 'oltp' && typeof r.startedAt === 'string' && typeof r.endedAt === 'string')
    .sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1));
}

const seconds = (r: RunRow) => (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
const sum = (rs: RunRow[]) => rs.reduce((a, r) => a + seconds(r), 0);

function main(): void {
  const days = Number(arg('days', '150'));
  const perDay = Number(arg('events-per-day', '200'));
  const from = arg('from', '2024-01-01');
  const abDays = Number(arg('ab-days', '2'));
  const to = addDays(from, days - 1);
  const genTo = addDays(to, abDays);
  const dir = path.resolve(arg('dir', path.join('bench-output', 'history')));
  const landing = path.join(dir, 'landing');
  const warehouse = path.join(dir, 'warehouse');
  const young = path.join(dir, 'warehouse-young');
  mkdirSync(dir, { recursive: true });
  const marker = path.join(landing, `.generated-${from}-${genTo}-${perDay}`);
  if (!existsSync(marker)) {
    rmSync(landing, { recursive: true, force: true });
    execFileSync(process.execPath, [CLI, 'generate', '--out', landing, '--from', from, '--to', genTo, '--events-per-day', String(perDay), '--seed', '7'], { stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(marker, '');
  }
  const backfill = (wh: string, a: string, b: string) =>
    execFileSync(process.execPath, [CLI, '--landing', landing, '--warehouse', wh, 'backfill', '--from', a, '--to', b], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
  for (const wh of [warehouse, young]) rmSync(wh, { recursive: true, force: true });
  const t0 = Date.now();
  backfill(warehouse, from, to);
  const wall = (Date.now() - t0) / 1000;
  const runs = ingestRuns(warehouse);
  if (runs.length < 200) throw new Error(`only ${runs.length} ingest runs recorded under ${warehouse}; need at least 200`);
  const first = sum(runs.slice(0, 100));
  const last = sum(runs.slice(-100));
  // side by side: a young and the old table load the same new days, alternating which goes first
  backfill(young, from, addDays(from, 4));
  backfill(young, to, to);
  const seen = { old: runs.length, young: ingestRuns(young).length };
  for (let d = 1; d <= abDays; d++) {
    const day = addDays(to, d);
    for (const wh of d % 2 ? [warehouse, young] : [young, warehouse]) backfill(wh, day, day);
  }
  const abOld = ingestRuns(warehouse).slice(seen.old);
  const abYoung = ingestRuns(young).slice(seen.young);
  const mean = (rs: RunRow[]) => sum(rs) / Math.max(1, rs.length);
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
    sideBySide: { days: abDays, oldRuns: abOld.length, youngRuns: abYoung.length, oldMeanRunSeconds: mean(abOld), youngMeanRunSeconds: mean(abYoung), ratio: mean(abOld) / mean(abYoung) },
  };
  writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 1) + '\n');
  process.stdout.write(`${JSON.stringify(result)}\nlast 100 / first 100 runs: ${result.ratio.toFixed(2)} (target ≤ 1.5); side by side, ${days}-day table / young table: ${result.sideBySide.ratio.toFixed(2)}\n`);
}

main();
