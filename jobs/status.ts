/**
 * Status at a glance: days × sources with completeness, windows loaded, rows, landing files and quarantined
 * records; per source the freshness (age of the last successful window); failed runs of those days and of the
 * newest runs. Reads only what it shows: the completeness journals and the run store's index of the days shown, and
 * the run store's newest records. collectStatus()
 * gathers (I/O), formatStatusGrid() renders text; the HTML report renders the same StatusData.
 */
import { alignedWindowsIn, dayRange, daysOfWindowText, landingDayOf, windowKey, windowOfKey, windowsOfDay } from '../partitions/index.js';
import { isoUtc } from './clock.js';
import { latestResults } from './checker.js';
import type { JobDeps } from './deps.js';
import { formatDuration } from './progress.js';
import type { RunRecord } from './runstore.js';

export interface Cell {
  /** Latest completeness status, or NOT_CHECKED. */
  status: string;
  detail: string;
  windowsLoaded: number;
  windowsTotal: number;
  rows: number;
  /** Landing files read by successful runs, by folder day. */
  files: number;
  quarantined: number;
  checkedAt: string | null;
  /** Warnings of the latest run of each window of the day (no files, unrecognised files, all quarantined). */
  warnings: string[];
}

export interface StatusData {
  now: string;
  from: string;
  to: string;
  sources: string[];
  /** `successLevel`: what the day's `_SUCCESS` proves (COMPLETE: every source reconciled; ARRIVED: some only arrived). */
  days: { day: string; success: boolean; successLevel: string | null; parquetFiles: number; rows: number; cells: Record<string, Cell> }[];
  freshness: { source: string; lastWindow: string | null; ageMs: number | null }[];
  /** Failed or abandoned runs; `resolved` when every window the run covered is loaded now (a later run succeeded). */
  failedRuns: (RunRecord & { resolved?: boolean })[];
  /** Latest runs per (source, window) that loaded nothing useful: a warning state, not a success. */
  warningRuns: RunRecord[];
  recentRuns: RunRecord[];
  factPath: string;
}

/** The UTC day a run's window (a window key or a bare day) starts on. */
const startDay = (window: string | null | undefined): string | null => daysOfWindowText(window)[0] ?? null;

export async function collectStatus(deps: JobDeps, o: { from: string; to: string; recent?: number; sources?: string[] }): Promise<StatusData> {
  const days = dayRange(o.from, o.to);
  const sources = o.sources ?? deps.sourceNames;
  const now = deps.clock.now();
  const latest = await latestResults(deps, days); // the history journals of the days shown, nothing older
  // Only the runs of the days shown (the run store's day index) and the newest runs: never the whole store.
  const inScope = (r: RunRecord) => r.source === null || r.source === '_oltp' || sources.includes(r.source);
  const runs = await deps.runs.list({ days: { from: o.from, to: o.to } });
  const newest = (await deps.runs.recent(50)).filter(inScope);
  const ingests = runs.filter((r) => r.job === 'ingest' && inScope(r));
  const files = new Map<string, number>();
  const quarantined = new Map<string, number>();
  for (const r of ingests) {
    if (r.status !== 'succeeded') continue;
    for (const f of r.files) {
      const d = landingDayOf(f);
      if (d) files.set(`${r.source}|${d}`, (files.get(`${r.source}|${d}`) ?? 0) + 1);
    }
    const w = startDay(r.window);
    const byDay = r.quarantinedByDay ?? (w ? { [w]: Object.values(r.quarantined).reduce((a, b) => a + b, 0) } : {});
    for (const [d, q] of Object.entries(byDay)) if (q) quarantined.set(`${r.source}|${d}`, (quarantined.get(`${r.source}|${d}`) ?? 0) + q);
  }
  const latestRun = new Map<string, RunRecord>();
  for (const r of ingests) if (r.status !== 'running') latestRun.set(`${r.source}|${r.window}`, r);
  const warningRuns = [...latestRun.values()].filter((r) => r.status === 'succeeded' && r.warnings?.length);
  const warned = new Map<string, string[]>();
  for (const r of warningRuns) {
    const k = `${r.source}|${startDay(r.window)}`;
    warned.set(k, [...(warned.get(k) ?? []), ...r.warnings!]);
  }
  const loaded = new Map<string, Set<string>>();
  for (const s of sources) loaded.set(s, await deps.warehouse.loadedWindows(s));
  const marked = await deps.warehouse.markedDays();
  const outDays: StatusData['days'] = [];
  const manifests = await deps.warehouse.manifests(days); // one read of the table state, not one per day
  for (const day of days) {
    const manifest = manifests.get(day) ?? null;
    const keys = windowsOfDay(day).map(windowKey);
    const cells: Record<string, Cell> = {};
    for (const s of sources) {
      const h = latest.get(`${s}|${day}`);
      cells[s] = {
        status: h?.status ?? 'NOT_CHECKED',
        detail: h?.detail ?? 'not checked yet',
        windowsLoaded: keys.filter((k) => loaded.get(s)!.has(k)).length,
        windowsTotal: keys.length,
        rows: (manifest?.totals ?? []).filter((t) => t.billing_source === s).reduce((n, t) => n + t.rows, 0),
        files: files.get(`${s}|${day}`) ?? 0,
        quarantined: quarantined.get(`${s}|${day}`) ?? 0,
        checkedAt: h?.checkedAt ?? null,
        warnings: warned.get(`${s}|${day}`) ?? [],
      };
    }
    const levels = deps.sourceNames.map((src) => latest.get(`${src}|${day}`)?.level);
    const successLevel = marked.has(day) ? (levels.every((l) => l === 'COMPLETE') ? 'COMPLETE' : 'ARRIVED') : null;
    outDays.push({ day, success: marked.has(day), successLevel, parquetFiles: manifest?.files.length ?? 0, rows: Object.values(cells).reduce((n, c) => n + c.rows, 0), cells });
  }
  const freshness = sources.map((source) => {
    const ends = [...loaded.get(source)!].map((k) => windowOfKey(k)?.endMs).filter((x): x is number => x !== undefined);
    const last = ends.length ? Math.max(...ends) : null;
    const key = last === null ? null : [...loaded.get(source)!].find((k) => windowOfKey(k)?.endMs === last) ?? null;
    return { source, lastWindow: key, ageMs: last === null ? null : now - last };
  });
  const recent = o.recent ?? 10;
  const seen = new Map([...runs, ...newest].map((r) => [r.runId, r]));
  const failedRuns = [...seen.values()]
    .filter((r) => (r.status === 'failed' || r.status === 'abandoned') && inScope(r))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId))
    .slice(-recent)
    .map((r) => ({ ...r, resolved: isResolved(r, loaded) }));
  return { now: isoUtc(now), from: o.from, to: o.to, sources, days: outDays, freshness, failedRuns, warningRuns: warningRuns.slice(-recent), recentRuns: newest, factPath: deps.warehouse.factPath };
}

/** A failed ingest is resolved when every aligned window inside its span is loaded now (a later run did it). */
function isResolved(r: RunRecord, loaded: Map<string, Set<string>>): boolean {
  if (r.job !== 'ingest' || !r.source || !r.window) return false;
  const have = loaded.get(r.source);
  const span = windowOfKey(r.window);
  const windows = span && alignedWindowsIn(span);
  if (!have || !windows) return false;
  return windows.every((w) => have.has(windowKey(w)));
}

/**
 * What each completeness level means for `status`'s exit code (README "Exit codes"): 1 for every level that
 * needs someone (the day failed a check and survived a self-heal, or cannot be checked), 0 for the levels that
 * are done or resolve by themselves. Every level the checker or status can show is listed.
 */
export const STATUS_EXIT: Readonly<Record<string, { exit: 0 | 1; why: string }>> = {
  COMPLETE: { exit: 0, why: 'reconciled with the source\'s own numbers' },
  ARRIVED: { exit: 0, why: 'done: every window delivered and loaded at the usual volume (the source has no control to reconcile with)' },
  LATE: { exit: 0, why: 'inside the grace period: resolves by itself' },
  NOT_CHECKED: { exit: 0, why: 'not checked yet (today, or before the daily check ran)' },
  INCOMPLETE: { exit: 1, why: 'rows or amounts differ from the control totals after a self-heal' },
  NOT_ARRIVED: { exit: 1, why: 'a window was not delivered or not loaded after the grace period and a self-heal' },
  UNUSUAL_VOLUME: { exit: 1, why: 'every window arrived but the volume is outside its usual range' },
  MISSING_CONTROL: { exit: 1, why: 'the source\'s control totals are missing: nothing to reconcile with' },
};

/** Source-days that need attention (exit 1 of `status`, by STATUS_EXIT; an unknown level counts), per level, and unresolved failed runs. */
export function statusProblems(d: StatusData): { cells: number; byStatus: Record<string, number>; failedRuns: number } {
  let cells = 0;
  const byStatus: Record<string, number> = {};
  for (const day of d.days) {
    for (const s of d.sources) {
      const st = day.cells[s]!.status;
      if ((STATUS_EXIT[st]?.exit ?? 1) === 0) continue;
      cells++;
      byStatus[st] = (byStatus[st] ?? 0) + 1;
    }
  }
  return { cells, byStatus, failedRuns: d.failedRuns.filter((r) => !r.resolved).length };
}

/** The one line `status` ends with when it exits 1: what needs attention, by level. */
export function problemSummary(p: ReturnType<typeof statusProblems>): string {
  const parts = Object.entries(p.byStatus).sort().map(([k, n]) => `${n} ${k}`);
  if (p.failedRuns) parts.push(`${p.failedRuns} unresolved failed run(s)`);
  return `needs attention: ${parts.join(', ')} (exit 1; LATE, NOT_CHECKED, ARRIVED and COMPLETE alone are exit 0)`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The grid's cells use the status names of JSON and HTML (COMPLETE, INCOMPLETE, MISSING_CONTROL, LATE, NOT_CHECKED). */
export function formatStatusGrid(d: StatusData): string {
  const text = (c: Cell) => `${c.status} ${c.windowsLoaded}/${c.windowsTotal}w ${c.rows}r ${c.files}f${c.quarantined ? ` ${c.quarantined}q` : ''}${c.warnings.length ? ' WARN' : ''}`;
  const w = Math.max(12, ...d.sources.map((s) => s.length), ...d.days.flatMap((x) => d.sources.map((s) => text(x.cells[s]!).length)));
  const out: string[] = [];
  out.push(`billing-mart status ${d.from} … ${d.to} (now ${d.now}); cell = completeness · windows loaded · rows · landing files · quarantined`);
  out.push('');
  out.push(`${pad('day', 11)} ${d.sources.map((s) => pad(s, w)).join('  ')}  _SUCCESS`);
  for (const day of d.days) {
    const cells = d.sources.map((s) => pad(text(day.cells[s]!), w));
    out.push(`${pad(day.day, 11)} ${cells.join('  ')}  ${day.success ? `yes (${day.successLevel})` : 'no'}`);
  }
  out.push('');
  out.push('freshness (age of the last loaded window):');
  for (const f of d.freshness) out.push(`  ${pad(f.source, 12)} ${f.lastWindow ? `${f.lastWindow}  ${formatDuration(f.ageMs!)} ago` : 'nothing loaded yet'}`);
  out.push('');
  if (d.failedRuns.length) {
    out.push(`recent failed runs (${d.failedRuns.length}):`);
    for (const r of d.failedRuns) out.push(`  ${r.startedAt} ${r.job} ${r.source ?? ''} ${r.window ?? ''} ${r.status}${r.resolved ? ' (resolved: loaded by a later run)' : ''}: ${r.error ?? ''}  (run ${r.runId})`);
  } else out.push('recent failed runs: none');
  if (d.warningRuns.length) {
    out.push(`runs that loaded nothing useful (${d.warningRuns.length}; WARN in the grid):`);
    for (const r of d.warningRuns) out.push(`  ${r.startedAt} ${r.job} ${r.source ?? ''} ${r.window ?? ''}: ${r.warnings!.join(' | ')}  (run ${r.runId})`);
  }
  return out.join('\n');
}
