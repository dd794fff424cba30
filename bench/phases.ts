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
}

export interface PhaseOutput {
  seconds: number;
  /** Rows the phase processed (ingest: events read; compaction: rows rewritten; reference: rows written). */
  rows: number;
  detail: Record<string, unknown>;
}

async function open(a: PhaseArgs): Promise<App> {
  const config = loadConfig({ landing: a.landing, warehouse: a.warehouse, env: {} });
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
  const s = await runBackfill(deps, plan, { parallel: a.parallel ?? 2, force: false, trigger: 'bench' });
  const seconds = (performance.now() - t0) / 1000;
  if (s.failed.length) throw new Error(`ingest failed for ${s.failed.length} run(s), first: ${s.failed[0]!.source} ${s.failed[0]!.window}: ${s.failed[0]!.error}`);
  return { seconds, rows: s.rowsIn, detail: { windows: s.succeeded, rowsIn: s.rowsIn, rowsWritten: s.rowsWritten, duplicates: s.duplicates, quarantined: s.quarantined } };
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
  const r = await runReference({ landing: a.landing, from: a.from, to: a.to, outDir: a.outDir, threads: a.threads ?? 2, memoryLimit: a.memoryLimit ?? '1GB' });
  return { seconds: r.seconds, rows: r.rows, detail: { files: r.files, rowsWithoutTs: r.rowsWithoutTs } };
}

export const PHASES = { ingest: ingestPhase, compact: compactPhase, completeness: completenessPhase, reference: referencePhase } as const;
export type PhaseName = keyof typeof PHASES;
