/**
 * Backfills: plan the (source, window) runs of a day range, run them with bounded parallelism, report progress,
 * and end with a summary. Resumable: windows already loaded are skipped (unless force) — at planning time and
 * again under each window's lock, so a backfill beside the scheduler never loads a window twice.
 */
import { dayRange, HOUR_MS, WINDOW_HOURS, windowKey, windowOfKey, windowsOfDay, type Window } from '../partitions/index.js';
import { isoUtc } from './clock.js';
import type { JobDeps } from './deps.js';
import { runIngest } from './ingest.js';
import { silentProgress, type ProgressReporter, type ProgressState } from './progress.js';
import type { RunRecord } from './runstore.js';

export interface PlanItem {
  source: string;
  window: Window;
  key: string;
  action: 'run' | 'skip';
  reason?: string;
}

export interface PlanInput {
  from: string;
  to: string;
  sources: string[];
  loaded: Map<string, Set<string>>;
  force: boolean;
  nowMs: number;
}

/** Oldest window first, sources in the given order within a window. Windows not closed yet are left out. */
export function planBackfill(p: PlanInput): PlanItem[] {
  const out: PlanItem[] = [];
  for (const day of dayRange(p.from, p.to)) {
    for (const w of windowsOfDay(day)) {
      if (w.endMs > p.nowMs) continue;
      for (const source of p.sources) {
        const key = windowKey(w);
        const loaded = p.loaded.get(source)?.has(key) ?? false;
        out.push(loaded && !p.force ? { source, window: w, key, action: 'skip', reason: 'already loaded' } : { source, window: w, key, action: 'run', reason: loaded ? 'forced' : undefined });
      }
    }
  }
  return out;
}

export function formatPlan(plan: PlanItem[]): string {
  const run = plan.filter((p) => p.action === 'run').length;
  const lines = plan.map((p) => `${p.action === 'run' ? 'RUN ' : 'SKIP'}  ${p.source.padEnd(12)} ${p.key}${p.reason ? `  (${p.reason})` : ''}`);
  return `${lines.join('\n')}${lines.length ? '\n' : ''}plan: ${plan.length} windows, ${run} to run, ${plan.length - run} to skip`;
}

export interface BackfillSummary {
  planned: number;
  run: number;
  succeeded: number;
  skipped: number;
  /** Failed runs (a run may cover several windows of a day). */
  failed: { source: string; window: string; runId: string; error: string | null }[];
  failedWindows: number;
  notRun: number;
  rowsIn: number;
  rowsWritten: number;
  duplicates: number;
  quarantined: number;
  /** Records read from the input files. */
  recordsRead: number;
  /** Windows whose run found no files: not marked loaded, so a corrected rerun loads them. */
  noFiles: number;
  /** Runs that did not fail but loaded nothing useful (no files, unrecognised files, all quarantined). */
  warnings: { source: string; window: string; runId: string; warnings: string[] }[];
  interrupted: boolean;
  durationMs: number;
  /**
   * Where the runs' time went, summed over the runs that committed (ms): prepares (on the worker threads, and the
   * Parquet conversion), waits for the writer lock, and publishes under it (serial: one at a time).
   */
  phases: { runs: number; prepareMs: number; lockWaitMs: number; publishMs: number; maxPublishMs: number };
}

export interface Unit {
  source: string;
  /** Contiguous windows of one source and day, loaded by one run (one commit). */
  covers: Window[];
}

/**
 * Groups the windows to run: contiguous windows of one source within a batch of `group` days (UTC days counted
 * from the first day to run) form one run; 'window' = one window per run, 'day' = 1.
 */
export function unitsOf(plan: PlanItem[], group: 'day' | 'window' | number): Unit[] {
  const todo = plan.filter((p) => p.action === 'run');
  if (group === 'window') return todo.map((p) => ({ source: p.source, covers: [p.window] }));
  const days = group === 'day' ? 1 : Math.max(1, Math.floor(group));
  const base = todo.length ? Math.floor(todo[0]!.window.startMs / 86_400_000) : 0;
  const byKey = new Map<string, Unit[]>();
  const order: string[] = [];
  for (const p of todo) {
    const k = `${Math.floor((Math.floor(p.window.startMs / 86_400_000) - base) / days)}|${p.source}`;
    let list = byKey.get(k);
    if (!list) {
      byKey.set(k, (list = []));
      order.push(k);
    }
    const last = list.at(-1);
    if (last && last.covers.at(-1)!.endMs === p.window.startMs) last.covers.push(p.window);
    else list.push({ source: p.source, covers: [p.window] });
  }
  return order.flatMap((k) => byKey.get(k)!);
}

export async function runBackfill(
  deps: JobDeps,
  plan: PlanItem[],
  o: { parallel: number; force: boolean; signal?: AbortSignal; progress?: ProgressReporter; trigger?: string; group?: 'day' | 'window' | number },
): Promise<BackfillSummary> {
  const parallel = Math.max(1, Math.floor(o.parallel));
  const progress = o.progress ?? silentProgress;
  const todo = plan.filter((p) => p.action === 'run');
  const startedMs = deps.clock.now();
  const state: ProgressState = { done: 0, total: todo.length, rows: 0, failed: 0, startedMs };
  const s: BackfillSummary = {
    planned: plan.length, run: 0, succeeded: 0, skipped: plan.length - todo.length, failed: [], failedWindows: 0, notRun: 0,
    rowsIn: 0, rowsWritten: 0, duplicates: 0, quarantined: 0, recordsRead: 0, noFiles: 0, warnings: [], interrupted: false, durationMs: 0,
    phases: { runs: 0, prepareMs: 0, lockWaitMs: 0, publishMs: 0, maxPublishMs: 0 },
  };
  const log = deps.log.child({ job: 'backfill' });
  log.info('backfill.start', { windows: plan.length, toRun: todo.length, parallel });
  progress.update(state);
  const units = unitsOf(plan, o.group ?? 'day');
  let next = 0;
  const account = (r: RunRecord, windows: number) => {
    s.run += windows;
    s.rowsIn += r.rowsIn;
    s.recordsRead += r.records?.read ?? 0;
    if (r.warnings?.length) s.warnings.push({ source: r.source ?? '?', window: r.window ?? '?', runId: r.runId, warnings: r.warnings });
    s.rowsWritten += r.rowsWritten;
    if (r.timing) {
      s.phases.runs++;
      s.phases.prepareMs += r.timing.prepareMs;
      s.phases.lockWaitMs += r.timing.lockWaitMs;
      s.phases.publishMs += r.timing.publishMs;
      s.phases.maxPublishMs = Math.max(s.phases.maxPublishMs, r.timing.publishMs);
    }
    s.duplicates += r.duplicates;
    s.quarantined += Object.values(r.quarantined).reduce((a, b) => a + b, 0);
    if (r.status === 'succeeded' && r.files.length === 0 && r.filesSkipped === 0 && r.commitId === null && r.warnings?.length) s.noFiles += windows;
    else if (r.status === 'succeeded') s.succeeded += windows;
    else if (r.status === 'skipped') s.skipped += windows;
    else s.failed.push({ source: r.source ?? '?', window: r.window ?? '?', runId: r.runId, error: r.error });
    state.done += windows;
    state.rows = s.rowsWritten;
    state.failed = s.failed.length;
    progress.update(state);
  };
  // prepares on other cores: one worker thread per unit at once (at most one per core); publishes stay here
  const prepareIn = deps.prepares?.(parallel);
  const worker = async () => {
    while (next < units.length && !o.signal?.aborted) {
      const u = units[next++]!;
      const span = { startMs: u.covers[0]!.startMs, endMs: u.covers.at(-1)!.endMs };
      // Each window's own folders only (lookback 0): the backfill visits every window anyway, and parallel runs
      // must not read each other's folders. Late files in loaded windows are the scheduler's lookback's job.
      const rec = await runIngest(deps, { source: u.source, window: span, covers: u.covers, lookbackHours: 0, trigger: o.trigger ?? 'backfill', skipIfLoaded: !o.force, signal: o.signal, ...(prepareIn ? { prepareIn } : {}) });
      account(rec, u.covers.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, units.length)) }, worker));
  } finally {
    await prepareIn?.close();
  }
  s.notRun = todo.length - s.run;
  s.failedWindows = s.failed.reduce((n, f) => n + windowsIn(f.window), 0);
  s.interrupted = Boolean(o.signal?.aborted) && s.notRun > 0;
  s.durationMs = deps.clock.now() - startedMs;
  progress.finish(state);
  log.info('backfill.end', { ...s, failed: s.failed.length, at: isoUtc(deps.clock.now()) });
  return s;
}

function windowsIn(key: string): number {
  const w = windowOfKey(key);
  return w ? Math.max(1, Math.round((w.endMs - w.startMs) / (WINDOW_HOURS * HOUR_MS))) : 1;
}

/** The summary for people; `rerun` is the command to paste (built from the real arguments), `signal` the interrupt received. */
export function formatSummary(s: BackfillSummary, rerun: string, signal: string | null = null): string {
  const lines = [
    `backfill ${s.interrupted ? 'INTERRUPTED' : s.failed.length ? 'finished with failures' : 'finished'} in ${(s.durationMs / 1000).toFixed(1)}s`,
    `  windows: ${s.planned} planned, ${s.succeeded} loaded, ${s.skipped} skipped (already loaded), ${s.noFiles ? `${s.noFiles} found no files (not marked loaded), ` : ''}${s.failedWindows} failed${s.notRun ? `, ${s.notRun} not started` : ''}`,
    `  records: ${s.recordsRead} read; rows: ${s.rowsIn} events, ${s.rowsWritten} written, ${s.duplicates} duplicates, ${s.quarantined} quarantined`,
  ];
  if (s.warnings.length) {
    lines.push(`  ${s.warnings.length} run(s) loaded nothing useful (their windows are not marked loaded when no files were found):`);
    for (const w of s.warnings.slice(0, 20)) lines.push(`  WARNING ${w.source} ${w.window} (run ${w.runId}): ${w.warnings.join(' | ')}`);
    if (s.warnings.length > 20) lines.push(`  … and ${s.warnings.length - 20} more (billing-mart status shows them)`);
  }
  for (const f of s.failed.slice(0, 20)) lines.push(`  FAILED ${f.source} ${f.window} (run ${f.runId}): ${f.error ?? 'unknown error'}`);
  if (s.failed.length > 20) lines.push(`  … and ${s.failed.length - 20} more failed windows (billing-mart status shows them)`);
  if (s.failed.length) {
    lines.push(`  next: fix the cause above, then run the same command again — \`${rerun}\` — loaded windows are skipped, the rest run.`);
  } else if (s.interrupted) {
    lines.push(`  stopped by ${signal ?? 'an interrupt'} after the runs in progress; nothing partial is visible. To resume, run the same command again — \`${rerun}\` — loaded windows are skipped, the rest run.`);
  }
  return lines.join('\n');
}
