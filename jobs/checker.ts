/**
 * The completeness checker: evaluates each (billing source, UTC day), self-heals before declaring INCOMPLETE
 * (re-ingests the day's windows and the next day's, with lookback — idempotent — then checks again), writes the
 * day's `_SUCCESS` with the verified totals when every source is COMPLETE, withdraws it when the day no longer
 * verifies, and appends every result to the completeness history (one journal per day in the jobs' state area,
 * jobs/check-history.ts).
 */
import { addDays, windowKey, windowsOfDay } from '../partitions/index.js';
import { isoUtc } from './clock.js';
import { compareDay, dayLevel, DONE_STATUSES, samePayload, successPayload, type ArrivalEvidence, type CompletenessLevel, type SourceDayResult } from './completeness.js';
import type { JobDeps } from './deps.js';
import { checkHistory } from './check-history.js';
import type { DayManifest } from './ports.js';
import { runIngest } from './ingest.js';

export type SuccessAction = 'written' | 'kept' | 'withdrawn' | 'none';

export interface CheckedSourceDay extends SourceDayResult {
  /** Status before self-heal, when a heal was attempted. */
  beforeHeal?: string;
  healRuns?: string[];
}

export interface DayOutcome {
  day: string;
  /** Every source reached the best level its declaration allows (COMPLETE, or ARRIVED for `control: none`). */
  complete: boolean;
  /** The weakest level of the day's sources (what `_SUCCESS` says). */
  level: CompletenessLevel;
  success: SuccessAction;
  results: CheckedSourceDay[];
}

export interface CheckOutcome {
  checkId: string;
  checkedAt: string;
  ok: boolean;
  days: DayOutcome[];
  /** The sources checked when a subset was asked for (`--sources`); absent when every configured source was. */
  sources?: string[];
}

export interface HistoryLine extends CheckedSourceDay {
  checkId: string;
  checkedAt: string;
  success: SuccessAction;
}

/** Per-check memo of table reads (the commit log is read once per source, a manifest once per day); a heal clears it. */
class TableView {
  private manifests = new Map<string, Promise<DayManifest | null>>();
  private loaded = new Map<string, Promise<Set<string>>>();
  constructor(private readonly deps: JobDeps) {}
  manifest(day: string) {
    let p = this.manifests.get(day);
    if (!p) this.manifests.set(day, (p = this.deps.warehouse.manifest(day)));
    return p;
  }
  loadedWindows(source: string) {
    let p = this.loaded.get(source);
    if (!p) this.loaded.set(source, (p = this.deps.warehouse.loadedWindows(source)));
    return p;
  }
  clear() {
    this.manifests.clear();
    this.loaded.clear();
  }
}

/** Delivery markers of the day's windows and the source's rows on its fully loaded trailing days. */
async function evidence(deps: JobDeps, view: TableView, source: string, day: string): Promise<ArrivalEvidence> {
  const port = deps.source(source);
  const [deliveries, loaded] = await Promise.all([port.deliveries(day), view.loadedWindows(source)]);
  const history: number[] = [];
  for (let i = 1; i <= port.completeness.arrival.trailingDays; i++) {
    const d = addDays(day, -i);
    if (!windowsOfDay(d).every((w) => loaded.has(windowKey(w)))) continue;
    const m = await view.manifest(d);
    history.push((m?.totals ?? []).filter((t) => t.billing_source === source).reduce((n, t) => n + t.rows, 0));
  }
  return { deliveries, history };
}

async function evaluate(deps: JobDeps, view: TableView, source: string, day: string): Promise<SourceDayResult> {
  const port = deps.source(source);
  const [manifest, control, loaded] = await Promise.all([view.manifest(day), port.controlTotals(day), view.loadedWindows(source)]);
  const input = { source, day, manifest: manifest?.totals ?? [], control, loadedWindows: loaded, nowMs: deps.clock.now(), graceHours: deps.settings.graceHours, completeness: port.completeness };
  const first = compareDay(input);
  // The source's own numbers settle it; otherwise say how far the day got (ARRIVED or not).
  if (port.completeness.proof !== 'none' && first.status === 'COMPLETE') return first;
  return compareDay({ ...input, evidence: await evidence(deps, view, source, day) });
}

/** Statuses a self-heal may fix: data or windows missing after the grace period. */
const HEALABLE = new Set(['INCOMPLETE', 'NOT_ARRIVED', 'UNUSUAL_VOLUME']);

/**
 * One idempotent run (one commit) for the day's windows, reading the day plus the next day's closed windows and the
 * lookback: late files of the day may sit in its own folders or in the next day's.
 */
async function heal(deps: JobDeps, source: string, day: string, signal?: AbortSignal): Promise<string[]> {
  const now = deps.clock.now();
  const covers = windowsOfDay(day).filter((w) => w.endMs <= now);
  const reach = [...covers, ...windowsOfDay(addDays(day, 1)).filter((w) => w.endMs <= now)];
  if (!covers.length) return [];
  const r = await runIngest(deps, { source, window: { startMs: reach[0]!.startMs, endMs: reach.at(-1)!.endMs }, covers, trigger: 'heal', signal });
  return [r.runId];
}

/**
 * Checks (and heals) each day × source. `sources` limits the check to a subset: a day is then complete when those
 * are, and no `_SUCCESS` is written (it vouches for every source), but one is withdrawn when a checked source fails.
 */
export async function checkCompleteness(deps: JobDeps, o: { days: string[]; heal?: boolean; trigger: string; signal?: AbortSignal; sources?: string[] }): Promise<CheckOutcome> {
  const checkedAt = isoUtc(deps.clock.now());
  let run = await deps.runs.start({ job: 'completeness', window: o.days.length === 1 ? o.days[0]! : `${o.days[0]}/${o.days.at(-1)}`, trigger: o.trigger });
  const log = deps.log.child({ runId: run.runId, job: 'completeness' });
  const subset = o.sources && o.sources.length < deps.sourceNames.length ? o.sources : undefined;
  const out: CheckOutcome = { checkId: run.runId, checkedAt, ok: true, days: [], ...(subset ? { sources: subset } : {}) };
  const view = new TableView(deps);
  try {
    for (const day of o.days) {
      // the day's results are journalled under its lock: the last line of a (source, day) is its latest result
      const dayOut = await deps.locks.withLock(
        `completeness:${day}`,
        async () => {
          const d = await checkDay(deps, view, day, { ...o, sources: subset }, log);
          await checkHistory(deps).append(d.results.map((r) => ({ checkId: run.runId, checkedAt, success: d.success, ...r }) satisfies HistoryLine));
          return d;
        },
        `completeness check ${run.runId}`,
      );
      out.days.push(dayOut);
      if (!dayOut.complete) out.ok = false;
      log.info('completeness.day', { day, complete: dayOut.complete, success: dayOut.success, statuses: Object.fromEntries(dayOut.results.map((r) => [r.source, r.status])) });
    }
    const notComplete = out.days.filter((d) => !d.complete).length;
    run = await deps.runs.finish(run, 'succeeded', { note: `${out.days.length - notComplete}/${out.days.length} day(s) complete` });
  } catch (e) {
    run = await deps.runs.finish(run, 'failed', { error: (e as Error)?.message ?? String(e) });
    log.error('run.failed', { error: run.error });
    throw e;
  }
  return out;
}

async function checkDay(deps: JobDeps, view: TableView, day: string, o: { heal?: boolean; signal?: AbortSignal; sources?: string[] }, log: JobDeps['log']): Promise<DayOutcome> {
  const results: CheckedSourceDay[] = [];
  for (const source of o.sources ?? deps.sourceNames) {
    let r: CheckedSourceDay = await evaluate(deps, view, source, day);
    if (HEALABLE.has(r.status) && o.heal !== false) {
      log.info('completeness.heal', { source, day, detail: r.detail });
      const healRuns = await heal(deps, source, day, o.signal);
      view.clear();
      const again = await evaluate(deps, view, source, day);
      // Only a heal that did not help is a warning; one that completed the day is routine.
      if (again.status !== 'COMPLETE') log.warn('completeness.heal_incomplete', { source, day, status: again.status, detail: again.detail });
      r = { ...again, beforeHeal: r.status, healRuns };
    }
    results.push(r);
  }
  const complete = results.length > 0 && results.every((r) => DONE_STATUSES.includes(r.status));
  const existing = await deps.warehouse.readSuccess(day);
  let success: SuccessAction = 'none';
  if (complete && o.sources) {
    success = existing !== null ? 'kept' : 'none';
  } else if (complete) {
    const payload = successPayload(day, results, isoUtc(deps.clock.now()));
    if (existing !== null && samePayload(existing, payload)) success = 'kept';
    else {
      await deps.warehouse.writeSuccess(day, payload);
      success = 'written';
    }
  } else if (existing !== null) {
    await deps.warehouse.clearSuccess(day);
    success = 'withdrawn';
    log.warn('completeness.success_withdrawn', { day, reason: results.filter((r) => r.status !== 'COMPLETE').map((r) => `${r.source}: ${r.status}`).join(', ') });
  }
  return { day, complete, level: dayLevel(results), success, results };
}

/** Every stored result, oldest first. */
export function readHistory(deps: Pick<JobDeps, 'state' | 'log'>): Promise<HistoryLine[]> {
  return checkHistory(deps).all();
}

/** The latest stored result per `source|day` of `days` (only those days' journals are read). */
export function latestResults(deps: Pick<JobDeps, 'state' | 'log'>, days: readonly string[]): Promise<Map<string, HistoryLine>> {
  return checkHistory(deps).latest(days);
}

/** Diffs listed per source-day in text (JSON has them all). */
const DIFFS_SHOWN = 12;

export function formatOutcome(out: CheckOutcome): string {
  const lines: string[] = [];
  for (const d of out.days) {
    const head = d.complete ? (d.level === 'COMPLETE' ? 'COMPLETE' : 'ARRIVED (not reconciled with the source\'s numbers)') : 'NOT COMPLETE';
    const marker = d.success === 'written' ? '  (_SUCCESS written)' : d.success === 'kept' ? '  (_SUCCESS in place)' : d.success === 'withdrawn' ? '  (_SUCCESS withdrawn)' : d.complete && out.sources ? '  (no _SUCCESS: it needs every source checked, not only --sources)' : '';
    lines.push(`${d.day}  ${head}${out.sources ? ` for ${out.sources.join(', ')}` : ''}${marker}`);
    for (const r of d.results) {
      const healed = r.beforeHeal ? `  [was ${r.beforeHeal}; self-heal re-ingested the day (run ${r.healRuns?.join(', ') || 'none'})]` : '';
      lines.push(`  ${r.source.padEnd(12)} ${r.status.padEnd(15)} ${r.detail}${healed}`);
      for (const x of r.diffs.slice(0, DIFFS_SHOWN)) {
        lines.push(`      ${x.event_type} ${x.currency}: expected ${x.expectedRows} rows / ${x.expectedAmount}, table has ${x.actualRows} / ${x.actualAmount} → missing ${x.missingRows} rows / ${x.missingAmount}`);
      }
      if (r.diffs.length > DIFFS_SHOWN) lines.push(`      … ${r.diffs.length - DIFFS_SHOWN} more (--json lists them all)`);
      if (r.missingWindows.length) lines.push(`      windows not loaded: ${r.missingWindows.join(', ')}`);
      if (r.undeliveredWindows.length) lines.push(`      windows not delivered (no folder or no marker): ${r.undeliveredWindows.join(', ')}`);
    }
  }
  if (!out.ok) {
    lines.push('', 'Some days are not complete. LATE resolves by itself within the grace period; MISSING_CONTROL waits for the source\'s control totals',
      '(its completeness.control: an export file, a query or a recount); INCOMPLETE / NOT_ARRIVED / UNUSUAL_VOLUME survived a self-heal: check the',
      'landing zone for missing files and markers (billing-mart status), then `billing-mart backfill --from D --to D --force`.');
  }
  return lines.join('\n');
}
