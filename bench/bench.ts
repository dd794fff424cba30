/**
 * `npm run bench`: generates (once, cached) a landing zone with the project's generator, then measures, as the
 * median of --runs runs each in its own child process: the end-to-end ingest (the real backfill) into a fresh
 * warehouse, compaction of those days, the completeness check, and the DuckDB reference over the same files.
 * Prints a table and `ingest/duckdb ratio: X`; writes every figure to <out>/results.json. See docs/bench.md.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { assertDay } from '../partitions/index.js';
import { runPhase } from './child.js';
import { ensureLanding } from './landing.js';
import type { PhaseArgs, PhaseName } from './phases.js';
import { checkTargets, compactVsCopy, formatMemorySlopes, formatTable, formatTargets, indexRowsLine, ingestRatio, memorySlopes, parallelSpeedup, projectBackfill, summarise, TARGETS, type MemoryRow, type PhaseRun } from './stats.js';

interface Flags {
  events: string;
  days: string;
  runs: string;
  referenceRuns?: string;
  out: string;
  seed: string;
  from: string;
  parallel: string;
  profile?: boolean;
  keep?: boolean;
  memoryDay?: string;
  longDays?: string;
  eventsPerDay: string;
  config?: string;
}

/** A usage error: exit code 2, like the CLI. */
class UsageError extends Error {}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new UsageError(`${flag} "${v}" must be a whole number ≥ 1`);
  return n;
}

export function machine() {
  const cpus = os.cpus();
  return { cpuModel: cpus[0]?.model ?? 'unknown', cpus: cpus.length, totalMemBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}`, loadAvgAtStart: os.loadavg() };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('bench')
    .description('billing-mart benchmark: ingest, compaction, completeness and the DuckDB reference')
    .option('--events <n>', 'events to generate over all days and sources', '2000000')
    .option('--days <n>', 'UTC days in the range', '7')
    .option('--runs <n>', 'runs of each phase (the median is reported)', '3')
    .option('--reference-runs <n>', 'runs of the DuckDB reference (default: --runs)')
    .option('--out <dir>', 'output directory (landing cache, warehouses, results.json)', 'bench-output')
    .option('--seed <s>', 'generator seed', 'bench')
    .option('--from <day>', 'first UTC day', '2024-01-01')
    .option('--parallel <n>', 'backfill --parallel for the ingest', '2')
    .option('--profile', 'run the ingest with node --cpu-prof (profiles in <out>/profiles)')
    .option('--keep', 'keep the last run\'s warehouse and reference output')
    .option('--long-days <n>', 'instead: a long backfill of <n> small days (--events-per-day over 4 sources): per-run cost vs age, status 10 days vs all, 7-year projection')
    .option('--events-per-day <n>', 'events per day of --long-days', '200')
    .option('--config <file>', 'a billing-mart configuration file for the measured phases of --memory-day (e.g. its tuning: memoryLimit, threads, spillRows, spillBytes)')
    .option('--memory-day <n[,n...]>', 'instead: ONE UTC day of <n> generated events over the 4 sources (cached like --events): peak RSS of its ingest and of its compaction; several sizes (e.g. 500000,1000000,2000000) print the slope of peak RSS against the size of the day')
    .parse(argv);
  const f = program.opts<Flags>();
  if (f.longDays) return longBackfill(positive('--long-days', f.longDays), positive('--events-per-day', f.eventsPerDay), positive('--parallel', f.parallel), path.resolve(f.out), f.seed, f.from);
  if (f.memoryDay) return memoryDays(f.memoryDay.split(',').map((x) => positive('--memory-day', x.trim())), path.resolve(f.out), f.seed, f.from, positive('--parallel', f.parallel), f.profile ?? false, f.config ? path.resolve(f.config) : undefined);
  const events = positive('--events', f.events);
  const days = positive('--days', f.days);
  const runs = positive('--runs', f.runs);
  const referenceRuns = f.referenceRuns ? positive('--reference-runs', f.referenceRuns) : runs;
  const parallel = positive('--parallel', f.parallel);
  try {
    assertDay(f.from);
  } catch (e) {
    throw new UsageError(`--from "${f.from}" is not a calendar day: expected YYYY-MM-DD, e.g. 2024-01-01`, { cause: e });
  }
  const out = path.resolve(f.out);
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  const m = machine(); // load average at the start of the runs
  mkdirSync(out, { recursive: true });

  const landing = await ensureLanding(out, { events, days, seed: f.seed, from: f.from }, log);
  const base: PhaseArgs = { landing: landing.dir, warehouse: '', from: landing.from, to: landing.to, parallel };
  const results: Record<Exclude<PhaseName, 'long'>, PhaseRun[]> & { serial: PhaseRun[] } = { ingest: [], serial: [], copy: [], compact: [], completeness: [], reference: [] };
  const profileDir = path.join(out, 'profiles');
  const work = path.join(out, 'work');
  for (let i = 0; i < Math.max(runs, referenceRuns); i++) {
    if (i < referenceRuns) {
      const outDir = path.join(work, 'reference');
      log(`run ${i + 1}: DuckDB reference`);
      results.reference.push(await runPhase('reference', { ...base, outDir, threads: os.cpus().length, memoryLimit: '1GB' }));
      if (!f.keep || i < referenceRuns - 1) rmSync(outDir, { recursive: true, force: true });
    }
    if (i < runs) {
      const warehouse = path.join(work, `warehouse-${i + 1}`);
      rmSync(warehouse, { recursive: true, force: true });
      const args = { ...base, warehouse };
      log(`run ${i + 1}: ingest`);
      results.ingest.push(await runPhase('ingest', args, { nodeFlags: f.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] }));
      if (parallel > 1) {
        // the same ingest with --parallel 1, right after: the speedup of the worker-thread prepares (issue 11 item 2)
        const serialWh = path.join(work, `warehouse-serial-${i + 1}`);
        rmSync(serialWh, { recursive: true, force: true });
        log(`run ${i + 1}: ingest --parallel 1`);
        results.serial.push(await runPhase('ingest', { ...args, warehouse: serialWh, parallel: 1 }));
        rmSync(serialWh, { recursive: true, force: true });
      }
      log(`run ${i + 1}: plain DuckDB COPY of the same days (compaction's yardstick)`);
      results.copy.push(await runPhase('copy', { ...args, outDir: path.join(work, 'copy') }));
      log(`run ${i + 1}: compaction`);
      results.compact.push(await runPhase('compact', args));
      log(`run ${i + 1}: completeness`);
      results.completeness.push(await runPhase('completeness', args));
      if (!f.keep || i < runs - 1) rmSync(warehouse, { recursive: true, force: true });
    }
  }

  const ingest = summarise(results.ingest);
  const compact = summarise(results.compact);
  const copy = summarise(results.copy);
  const completeness = summarise(results.completeness);
  const reference = summarise(results.reference);
  const serial = results.serial.length ? summarise(results.serial) : null;
  const ratio = ingestRatio(ingest, reference);
  const eventsPerDay = ingest.rows / days;
  const targets = checkTargets({ ingest, compact, copy, reference, ratio, eventsPerDay, serial });
  const table = formatTable([
    { phase: `ingest (backfill --parallel ${parallel})`, s: ingest, unit: 'events' },
    ...(serial ? [{ phase: 'ingest (backfill --parallel 1)', s: serial, unit: 'events' }] : []),
    { phase: 'plain DuckDB COPY', s: copy, unit: 'rows' },
    { phase: 'compaction', s: compact, unit: 'rows' },
    { phase: 'completeness check', s: completeness, unit: '' },
    { phase: 'DuckDB reference', s: reference, unit: 'rows' },
  ]);
  process.stdout.write(
    [
      `billing-mart bench: ${landing.summary.events} events (${landing.summary.records} landing records, ${landing.summary.files} files) over ${days} day(s) from ${landing.from}`,
      `machine: ${m.cpus} × ${m.cpuModel}, ${(m.totalMemBytes / 2 ** 30).toFixed(1)} GiB, node ${m.node}, load average at start ${m.loadAvgAtStart.map((x) => x.toFixed(2)).join(' ')}`,
      '',
      table,
      '',
      `ingest/duckdb ratio: ${ratio.toFixed(3)}`,
      `compaction/COPY ratio: ${compactVsCopy(compact, copy).toFixed(2)} (compaction time over a plain DuckDB COPY of the same days)`,
      ...phaseLines(`--parallel ${parallel}`, results.ingest),
      ...(serial ? phaseLines('--parallel 1', results.serial) : []),
      ...results.reference.flatMap((r, i) => {
        const cpu = (r.detail as { cpuSeconds?: number }).cpuSeconds;
        return cpu === undefined ? [] : [`DuckDB reference run ${i + 1}: ${r.seconds.toFixed(2)} s wall (process CPU ${cpu.toFixed(2)} s, ${(cpu / r.seconds).toFixed(2)} cores, ${((cpu * 1e6) / r.rows).toFixed(1)} µs per landing record)`];
      }),
      ...(serial ? [`--parallel ${parallel} / --parallel 1 speedup: ${parallelSpeedup(ingest, serial).toFixed(2)}× (ingest time with --parallel 1 over with --parallel ${parallel}, same run)`] : []),
      `load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
      formatTargets(targets),
      '',
    ].join('\n'),
  );
  const doc = {
    at: new Date().toISOString(),
    machine: m,
    params: { events, days, runs, referenceRuns, parallel, seed: f.seed, from: landing.from, to: landing.to },
    landing: { dir: landing.dir, summary: landing.summary, generatedSeconds: landing.generatedSeconds },
    summary: { ingest, serial, copy, compact, completeness, reference },
    parallelSpeedup: serial ? parallelSpeedup(ingest, serial) : null,
    compactVsCopy: compactVsCopy(compact, copy),
    loadAvgAtEnd: os.loadavg(),
    ratio,
    targets,
    runs: results,
  };
  writeFileSync(path.join(out, 'results.json'), JSON.stringify(doc, null, 1) + '\n');
  log(`figures written to ${path.join(out, 'results.json')}`);
}

interface IngestPhases {
  runs: number;
  prepareMs: number;
  lockWaitMs: number;
  publishMs: number;
  maxPublishMs: number;
}

/**
 * Where each ingest run's time went (issue 11 item 2): its runs' prepares (worker threads + Parquet conversion,
 * no lock), waits for the writer lock and publishes under it, summed per run of the phase; the publishes are the
 * serial part, the wall time is bounded below by their sum.
 */
export function phaseLines(label: string, runs: readonly PhaseRun[]): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return runs.flatMap((r, i) => {
    const p = (r.detail as { phases?: IngestPhases }).phases;
    const cpu = (r.detail as { cpuSeconds?: number }).cpuSeconds;
    if (!p || p.runs === 0) return [];
    return [
      `ingest ${label} run ${i + 1}: ${r.seconds.toFixed(2)} s wall${cpu !== undefined ? ` (process CPU ${cpu.toFixed(2)} s, ${(cpu / r.seconds).toFixed(2)} cores, ${((cpu * 1e6) / r.rows).toFixed(1)} µs per event)` : ''}, ${p.runs} commits: prepare ${s(p.prepareMs)} (summed over commits, no lock), writer-lock wait ${s(p.lockWaitMs)}, publish under the lock ${s(p.publishMs)} (${s(p.publishMs / p.runs)} per commit, max ${s(p.maxPublishMs)}; ${((100 * p.publishMs) / 1000 / r.seconds).toFixed(0)} % of the wall time)`,
    ];
  });
}

/** 7 years of daily runs: 4 sources × 2 557 days (the unit of a backfill is one source-day). */
const SEVEN_YEARS_DAYS = 7 * 365 + 2;

/** A long backfill of small days: does a commit cost more as the table ages? Projects 7 years from the fit. */
async function longBackfill(days: number, perDay: number, parallel: number, out: string, seed: string, from: string): Promise<void> {
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  mkdirSync(out, { recursive: true });
  const landing = await ensureLanding(out, { events: days * perDay, days, seed, from }, log);
  const m = machine(); // load average at the start of the backfill
  const warehouse = path.join(out, 'work', 'warehouse-long');
  rmSync(warehouse, { recursive: true, force: true });
  log(`long backfill: ${days} days × ${perDay} events/day, --parallel ${parallel}`);
  const r = await runPhase('long', { landing: landing.dir, warehouse, from: landing.from, to: landing.to, parallel });
  rmSync(warehouse, { recursive: true, force: true });
  const d = r.detail as { runs: number; sources: number; doneAt: number[]; indexRowsRead: number[]; loadEvery100: number[]; memEvery100: { rss: number; heap: number }[]; rssAfterCheck: number; checkSeconds: number; daysComplete: number; status10Seconds: number; statusAllSeconds: number; statusCli10Seconds: number; statusCliAllSeconds: number };
  const totalRuns = SEVEN_YEARS_DAYS * d.sources;
  const p = projectBackfill(d.doneAt, totalRuns);
  const doc = { at: new Date().toISOString(), machine: m, loadAvgAtEnd: os.loadavg(), params: { days, perDay, parallel, seed, from }, run: r, projection: { totalRuns, ...p } };
  writeFileSync(path.join(out, `long-${days}.json`), JSON.stringify(doc, null, 1) + '\n');
  const k = Math.min(100, Math.floor(d.runs / 2));
  process.stdout.write(
    [
      `long backfill: ${days} days × ${perDay} events/day × ${d.sources} sources = ${d.runs} runs in ${r.seconds.toFixed(1)} s (--parallel ${parallel}), peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MB`,
      `machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, load average at start ${m.loadAvgAtStart.map((x) => x.toFixed(2)).join(' ')}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
      `last ${k} runs / first ${k} runs: ${p.firstToLast.toFixed(2)}× (target ≤ 1.5); 1-minute load average every 100 runs: ${d.loadEvery100.map((x) => x.toFixed(0)).join(' ')}`,
      `per-run time fit: ${(p.a * 1000).toFixed(0)} ms + ${(p.b * 1000).toFixed(3)} ms × run number`,
      indexRowsLine(d.indexRowsRead, k),
      `RSS / V8 heap in use every 100 runs (MB): ${d.memEvery100.map((x) => `${x.rss}/${x.heap}`).join(' ')}; after the completeness check ${d.rssAfterCheck}`,
      `check completeness of all ${days} days (no self-heal): ${d.checkSeconds.toFixed(1)} s, ${d.daysComplete}/${days} complete`,
      `status over 10 days: ${d.status10Seconds.toFixed(2)} s; over ${days} days: ${d.statusAllSeconds.toFixed(2)} s (${(d.statusAllSeconds / d.status10Seconds).toFixed(2)}×, target ≤ 3× at 150 days; in the backfill's process, medians of 3 interleaved)`,
      `billing-mart status (a new process each): over 10 days ${d.statusCli10Seconds.toFixed(2)} s; over ${days} days ${d.statusCliAllSeconds.toFixed(2)} s (${(d.statusCliAllSeconds / d.statusCli10Seconds).toFixed(2)}×)`,
      `7-year projection (${totalRuns} daily source runs at this size): ${(p.seconds / 3600).toFixed(1)} h`,
      '',
    ].join('\n'),
  );
}

/**
 * The single-day memory check (issue 11 item 3): one UTC day of `events` generated events over the 4 sources (the
 * generator's landing cache), ingested by the real backfill, then compacted, each phase in its own child process:
 * the peak RSS of each (target ≤ 512 MB whatever the size of the day).
 */
async function memoryDays(sizes: number[], out: string, seed: string, from: string, parallel: number, profile: boolean, configFile?: string): Promise<void> {
  const rows: MemoryRow[] = [];
  for (const events of [...new Set(sizes)].sort((a, b) => a - b)) rows.push(await memoryDay(events, out, seed, from, parallel, profile, configFile));
  if (rows.length < 2) return;
  const doc = { at: new Date().toISOString(), sizes: rows, slopes: memorySlopes(rows) };
  writeFileSync(path.join(out, `memory-slope-${rows.map((r) => r.events).join('-')}.json`), JSON.stringify(doc, null, 1) + '\n');
  process.stdout.write(formatMemorySlopes(rows) + '\n');
}

async function memoryDay(events: number, out: string, seed: string, from: string, parallel: number, profile: boolean, configFile?: string): Promise<MemoryRow> {
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  mkdirSync(out, { recursive: true });
  const landing = await ensureLanding(out, { events, days: 1, seed, from }, log);
  const m = machine(); // load average at the start of the measured phases
  const warehouse = path.join(out, 'work', 'warehouse-memory');
  rmSync(warehouse, { recursive: true, force: true });
  const args: PhaseArgs = { landing: landing.dir, warehouse, from: landing.from, to: landing.to, parallel, ...(configFile ? { configFile } : {}) };
  log(`memory day: ingest of ${landing.summary.events} events (${landing.summary.records} landing records) of ${from}, --parallel ${parallel}`);
  const ingest = await runPhase('ingest', args, { nodeFlags: profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(out, 'profiles')}`] : [] });
  const loadAfterIngest = os.loadavg();
  log('memory day: compaction');
  const compact = await runPhase('compact', args);
  rmSync(warehouse, { recursive: true, force: true });
  const target = TARGETS.peakRssBytes;
  const phases = { ingest, compact };
  const doc = { at: new Date().toISOString(), machine: m, loadAvgAfterIngest: loadAfterIngest, loadAvgAtEnd: os.loadavg(), params: { events, seed, from, parallel, configFile: configFile ?? null }, summary: landing.summary, phases, target, met: ingest.maxRssBytes <= target && compact.maxRssBytes <= target };
  writeFileSync(path.join(out, `memory-${events}.json`), JSON.stringify(doc, null, 1) + '\n');
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(
    [
      `memory day: ${landing.summary.events} events (${landing.summary.records} landing records, ${landing.summary.files} files) in one UTC day (${from}) over 4 sources`,
      `machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, load average at start ${load(m.loadAvgAtStart)}, after ingest ${load(loadAfterIngest)}, at end ${load(os.loadavg())}`,
      `ingest:     ${ingest.seconds.toFixed(1)} s, ${Math.round(ingest.rows / ingest.seconds)} events/s, peak RSS ${mb(ingest.maxRssBytes)}`,
      `compaction: ${compact.seconds.toFixed(1)} s, ${compact.rows} rows, peak RSS ${mb(compact.maxRssBytes)}`,
      `${ingest.maxRssBytes <= target ? 'MET    ' : 'NOT MET'}  ingest peak RSS: ${mb(ingest.maxRssBytes)} (target ≤ ${mb(target)})`,
      `${compact.maxRssBytes <= target ? 'MET    ' : 'NOT MET'}  compaction peak RSS: ${mb(compact.maxRssBytes)} (target ≤ ${mb(target)})`,
      '',
    ].join('\n'),
  );
  return { events: landing.summary.events, ingestRssBytes: ingest.maxRssBytes, compactRssBytes: compact.maxRssBytes, compactRows: compact.rows, loadAvg: os.loadavg() };
}

main(process.argv).catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error)?.message ?? String(e)}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 3;
});
