/**
 * The measured phases, each run in its own child process (bench/phase-main.ts) so its peak RSS is its own:
 * ingest (the real backfill through jobs/), compaction, the completeness check, and the DuckDB reference.
 * Each returns the seconds of the measured work only (opening the app and process start are excluded).
 */
import { loadConfig } from '../config/index.js';
import { openApp, type App } from '../jobs/app.js';
import { planBackfill, runBackfill } from '../jobs/backfill.js';
import { checkCompleteness } from '../jobs/checker.js';
import { systemClock } from '../jobs/clock.js';
import { createLogger } from '../jobs/log.js';
import { dayRange } from '../partitions/index.js';
import { runReference } from './reference.js';
import { addDays } from '../partitions/index.js';
import { collectStatus } from '../jobs/status.js';
import { copyCount, sqlString, withDuck } from '../warehouse/duck.js';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PhaseArgs {
  landing: string;
  warehouse: string;
  from: string;
  to: string;
  /** Ingest: only these sources (default: every configured one). */
  sources?: string[];
  /** Ingest: windows loaded at the same time (the backfill's --parallel). */
  parallel?: number;
  /** Reference: where DuckDB writes, its threads and memory limit. */
  outDir?: string;
  threads?: number;
  memoryLimit?: string;
  /** A configuration file for the app (e.g. `tuning: { memoryLimit: 192MB }`); default: embedded defaults. */
  configFile?: string;
}

export interface PhaseOutput {
  seconds: number;
  /** Rows the phase processed (ingest: events read; compaction: rows rewritten; reference: rows written). */
  rows: number;
  detail: Record<string, unknown>;
}

async function open(a: PhaseArgs): Promise<App> {
  const config = loadConfig({ landing: a.landing, warehouse: a.warehouse, env: {}, ...(a.configFile ? { configFile: a.configFile } : {}) });
  const log = createLogger({ format: 'human', clock: systemClock, sink: (l) => process.stderr.write(l + '\n'), minLevel: 'warn' });
  return openApp(config, { clock: systemClock, log });
}

export async function ingestPhase(a: PhaseArgs): Promise<PhaseOutput> {
  const app = await open(a);
  const { deps } = app;
  const sources = a.sources ?? deps.sourceNames;
  const loaded = new Map<string, Set<string>>();
  for (const s of sources) loaded.set(s, await deps.warehouse.loadedWindows(s));
  const plan = planBackfill({ from: a.from, to: a.to, sources, loaded, force: false, nowMs: deps.clock.now() });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const s = await runBackfill(deps, plan, { parallel: a.parallel ?? 2, force: false, trigger: 'bench' });
  const seconds = (performance.now() - t0) / 1000;
  // the whole process's CPU (main thread, prepare workers, DuckDB's and V8's threads): cores used = cpu / wall
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  if (s.failed.length) throw new Error(`ingest failed for ${s.failed.length} run(s), first: ${s.failed[0]!.source} ${s.failed[0]!.window}: ${s.failed[0]!.error}`);
  return { seconds, rows: s.rowsIn, detail: { windows: s.succeeded, rowsIn: s.rowsIn, rowsWritten: s.rowsWritten, duplicates: s.duplicates, quarantined: s.quarantined, phases: s.phases, cpuSeconds } };
}

export async function compactPhase(a: PhaseArgs): Promise<PhaseOutput> {
  const app = await open(a);
  const t0 = performance.now();
  const r = await app.table.compact(dayRange(a.from, a.to));
  const seconds = (performance.now() - t0) / 1000;
  const rows = r.compacted.reduce((n, c) => n + c.rows, 0);
  return { seconds, rows, detail: { days: r.compacted.length, unchanged: r.unchanged.length, filesBefore: r.compacted.reduce((n, c) => n + c.filesBefore, 0), filesAfter: r.compacted.reduce((n, c) => n + c.filesAfter, 0) } };
}

export async function completenessPhase(a: PhaseArgs): Promise<PhaseOutput> {
  const app = await open(a);
  const t0 = performance.now();
  const out = await checkCompleteness(app.deps, { days: dayRange(a.from, a.to), heal: false, trigger: 'bench' });
  const seconds = (performance.now() - t0) / 1000;
  const statuses: Record<string, number> = {};
  for (const d of out.days) for (const r of d.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return { seconds, rows: out.days.reduce((n, d) => n + d.results.reduce((m, r) => m + r.rows, 0), 0), detail: { days: out.days.length, complete: out.days.filter((d) => d.complete).length, statuses } };
}

export async function referencePhase(a: PhaseArgs): Promise<PhaseOutput> {
  if (!a.outDir) throw new Error('internal: the reference phase needs outDir');
  const c0 = process.cpuUsage();
  const r = await runReference({ landing: a.landing, from: a.from, to: a.to, outDir: a.outDir, threads: a.threads ?? 2, memoryLimit: a.memoryLimit ?? '1GB' });
  const c = process.cpuUsage(c0);
  return { seconds: r.seconds, rows: r.rows, detail: { files: r.files, rowsWithoutTs: r.rowsWithoutTs, cpuSeconds: (c.user + c.system) / 1e6 } };
}

/**
 * The yardstick of compaction: a plain DuckDB COPY of the same days' files (no sort, no verification, no commit)
 * with the warehouse's memory limit, threads and row-group size. Run on the ingested, not yet compacted, files.
 */
export async function copyPhase(a: PhaseArgs): Promise<PhaseOutput> {
  if (!a.outDir) throw new Error('internal: the copy phase needs outDir');
  const app = await open(a);
  const t = app.table.tuning;
  const days: { day: string; files: string[] }[] = [];
  for (const day of dayRange(a.from, a.to)) {
    const files = await app.table.files(day);
    if (files.length) days.push({ day, files });
  }
  rmSync(a.outDir, { recursive: true, force: true });
  mkdirSync(a.outDir, { recursive: true });
  let rows = 0;
  const t0 = performance.now();
  await withDuck({ memoryLimit: t.memoryLimit, threads: t.threads, tempDir: path.join(a.outDir, '_spill') }, async (conn) => {
    for (const d of days) {
      rows += await copyCount(conn, `COPY (SELECT * FROM read_parquet([${d.files.map(sqlString).join(', ')}])) TO ${sqlString(path.join(a.outDir!, `${d.day}.parquet`))} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${t.rowGroupRows})`);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(a.outDir, { recursive: true, force: true });
  return { seconds, rows, detail: { days: days.length, memoryLimit: t.memoryLimit, threads: t.threads } };
}

/**
 * A long backfill (many small days): when each (source, day) run finished, the completeness check of every day
 * (its history is what `status` reads), and `status` over the first 10 days and over the whole range — the figures
 * behind "cost per commit does not grow with the table's age" and "status reads only what it shows".
 */
export async function longPhase(a: PhaseArgs): Promise<PhaseOutput> {
  const app = await open(a);
  const { deps } = app;
  const sources = a.sources ?? deps.sourceNames;
  const loaded = new Map<string, Set<string>>();
  for (const s of sources) loaded.set(s, await deps.warehouse.loadedWindows(s));
  const plan = planBackfill({ from: a.from, to: a.to, sources, loaded, force: false, nowMs: deps.clock.now() });
  const doneAt: number[] = [];
  /** The 1-minute load average every 100 runs: a long run on a shared machine drifts, and the fit with it. */
  const loadEvery100: number[] = [os.loadavg()[0]!];
  /** The process's RSS and V8 heap in use every 100 runs (MB): memory that grows with the table's age shows here. */
  const mb = (n: number) => Math.round(n / 2 ** 20);
  const memEvery100: { rss: number; heap: number }[] = [];
  const sampleMem = () => {
    const u = process.memoryUsage();
    memEvery100.push({ rss: mb(u.rss), heap: mb(u.heapUsed) });
  };
  sampleMem();
  const t0 = performance.now();
  let last = 0;
  const progress = {
    update: (p: { done: number }) => {
      // one entry per finished run (a run covers a day's 6 windows)
      if (p.done > last) {
        doneAt.push((performance.now() - t0) / 1000);
        if (doneAt.length % 100 === 0) {
          loadEvery100.push(os.loadavg()[0]!);
          sampleMem();
        }
      }
      last = p.done;
    },
    finish: () => undefined,
  };
  const s = await runBackfill(deps, plan, { parallel: a.parallel ?? 2, force: false, trigger: 'bench', progress });
  const seconds = (performance.now() - t0) / 1000;
  if (s.failed.length) throw new Error(`long backfill failed for ${s.failed.length} run(s), first: ${s.failed[0]!.source} ${s.failed[0]!.window}: ${s.failed[0]!.error}`);
  // rows of the event index each run's de-duplication read, in the order the runs started: a count, not a time
  const ingests = (await deps.runs.list({ job: 'ingest' })).filter((r) => r.status === 'succeeded').sort((x, y) => (x.startedAt < y.startedAt ? -1 : x.startedAt > y.startedAt ? 1 : 0));
  const indexRowsRead = ingests.map((r) => r.indexRowsRead ?? 0);
  // the completeness check of every day (as the daily check leaves it: a history to read and a _SUCCESS per day)
  const tc = performance.now();
  const check = await checkCompleteness(deps, { days: dayRange(a.from, a.to), heal: false, trigger: 'bench' });
  const checkSeconds = (performance.now() - tc) / 1000;
  const rssAfterCheck = mb(process.memoryUsage().rss);
  const daysComplete = check.days.filter((d) => d.complete).length;
  const timeStatus = async (to: string) => {
    const t1 = performance.now();
    await collectStatus(deps, { from: a.from, to });
    return (performance.now() - t1) / 1000;
  };
  const days = dayRange(a.from, a.to).length;
  // interleaved, 3 times each (the first call of a process pays its warm-up, whichever range it shows): medians
  const to10 = addDays(a.from, Math.min(days, 10) - 1);
  const t10: number[] = [];
  const tAll: number[] = [];
  for (let i = 0; i < 3; i++) {
    t10.push(await timeStatus(to10));
    tAll.push(await timeStatus(a.to));
  }
  // and as a user runs it: `billing-mart status` in a new process each time (process start and opening included)
  const c10: number[] = [];
  const cAll: number[] = [];
  for (let i = 0; i < 3; i++) {
    c10.push(await timeStatusCli(a, to10));
    cAll.push(await timeStatusCli(a, a.to));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { seconds, rows: s.rowsIn, detail: { runs: doneAt.length, days, sources: sources.length, doneAt, indexRowsRead, loadEvery100, memEvery100, rssAfterCheck, checkSeconds, daysComplete, status10Seconds: median(t10), statusAllSeconds: median(tAll), status10Runs: t10, statusAllRuns: tAll, statusCli10Seconds: median(c10), statusCliAllSeconds: median(cAll), statusCli10Runs: c10, statusCliAllRuns: cAll, rowsWritten: s.rowsWritten } };
}

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'billing-mart.js');

/** Seconds of `billing-mart status --from <from> --to <to> --json` in a new process (exit 0 or 1: problems found is fine). */
function timeStatusCli(a: PhaseArgs, to: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, '--landing', a.landing, '--warehouse', a.warehouse, 'status', '--from', a.from, '--to', to, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || code === 1 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`billing-mart status exited with ${code}: ${err}`))));
  });
}

export const PHASES = { ingest: ingestPhase, compact: compactPhase, completeness: completenessPhase, reference: referencePhase, copy: copyPhase, long: longPhase } as const;
export type PhaseName = keyof typeof PHASES;
