/**
 * Completeness, the pure part: for one (source, UTC day), decide which level the day reached.
 * - COMPLETE: the source's own numbers (its declared control: export, query or recount) match the fact table
 *   exactly per event type and currency, and every 4-hour window of the day was loaded. Nothing else says COMPLETE.
 * - ARRIVED: every window delivered (folder with its marker) and loaded, and the day's volume within the source's
 *   usual range against its trailing days. The best a source with `control: none` can reach; also reported as the
 *   `level` of a controlled source whose numbers are missing or differ.
 * Exact decimals only (decimal.js on strings); no float ever touches an amount.
 */
import { Decimal } from '../events/money.js';
import { dayStartMs, windowKey, windowsOfDay } from '../partitions/index.js';
import type { ControlTotals, SourceCompleteness, TotalsRow, WindowDelivery } from './ports.js';

export type CompletenessStatus = 'COMPLETE' | 'ARRIVED' | 'INCOMPLETE' | 'NOT_ARRIVED' | 'UNUSUAL_VOLUME' | 'MISSING_CONTROL' | 'LATE';
/** What a day proved: reconciled with the source's numbers, only arrived, or neither. */
export type CompletenessLevel = 'COMPLETE' | 'ARRIVED' | 'NONE';
/** Statuses at which a source's day counts as done (the best its declaration allows). */
export const DONE_STATUSES: readonly CompletenessStatus[] = ['COMPLETE', 'ARRIVED'];

export interface VolumeJudgement {
  rows: number;
  /** Fully loaded trailing days the range was taken from. */
  historyDays: number;
  low: number | null;
  high: number | null;
  /** false: too little history to judge (fewer than `minHistory` days); the volume does not block ARRIVED. */
  judged: boolean;
  ok: boolean;
}

/** Delivery and volume evidence of one (source, day). */
export interface ArrivalEvidence {
  deliveries: WindowDelivery[];
  /** Rows of the source on each fully loaded trailing day (most recent first). */
  history: number[];
}

export interface TotalsDiff {
  event_type: string;
  currency: string;
  expectedRows: number;
  actualRows: number;
  /** expected − actual (negative: the table holds more than the source reported). */
  missingRows: number;
  expectedAmount: string;
  actualAmount: string;
  missingAmount: string;
}

export interface SourceDayResult {
  source: string;
  day: string;
  status: CompletenessStatus;
  /** Window keys of the day not loaded yet. */
  missingWindows: string[];
  /** Only the (event_type, currency) pairs that differ. */
  diffs: TotalsDiff[];
  /** What the table holds for the source and day. */
  rows: number;
  totals: { event_type: string; currency: string; rows: number; amount_sum: string }[];
  controlGeneratedAt: string | null;
  /** How the source proves a day (its declared control kind). */
  proof: SourceCompleteness['proof'];
  /** The level reached. */
  level: CompletenessLevel;
  /** Where the compared numbers came from (file, query), when compared. */
  controlOrigin: string | null;
  /** Windows of the day without delivery evidence (when it was looked at). */
  undeliveredWindows: string[];
  volume: VolumeJudgement | null;
  /** Why, in words (for the grid and the report). */
  detail: string;
}

export function judgeVolume(rows: number, history: number[], arrival: SourceCompleteness['arrival']): VolumeJudgement {
  if (history.length < arrival.minHistory) return { rows, historyDays: history.length, low: null, high: null, judged: false, ok: true };
  const low = Math.floor(Math.min(...history) * (1 - arrival.tolerance));
  const high = Math.ceil(Math.max(...history) * (1 + arrival.tolerance));
  return { rows, historyDays: history.length, low, high, judged: true, ok: rows >= low && rows <= high };
}

function arrivalOf(rows: number, missingWindows: string[], ev: ArrivalEvidence | null, arrival: SourceCompleteness['arrival']) {
  if (!ev) return { arrived: false, undelivered: [] as string[], volume: null, why: 'delivery evidence not looked at' };
  const undelivered = ev.deliveries.filter((d) => !d.delivered).map((d) => d.window);
  const volume = judgeVolume(rows, ev.history, arrival);
  const why = [
    missingWindows.length ? `${missingWindows.length} window(s) not loaded` : '',
    undelivered.length ? `${undelivered.length} window(s) not delivered (no folder or no marker)` : '',
    volume.ok ? '' : `${rows} rows is outside the usual ${volume.low}–${volume.high} of the last ${volume.historyDays} days`,
  ]
    .filter(Boolean)
    .join('; ');
  return { arrived: !missingWindows.length && !undelivered.length && volume.ok, undelivered, volume, why };
}

function volumeNote(v: VolumeJudgement | null): string {
  if (!v) return '';
  return v.judged ? `, volume within ${v.low}–${v.high} (last ${v.historyDays} days)` : `, volume not judged (${v.historyDays} trailing day(s) of history)`;
}

const fix = (d: Decimal) => d.toFixed(9);

export function compareDay(o: {
  source: string;
  day: string;
  manifest: TotalsRow[];
  control: ControlTotals | null;
  loadedWindows: Set<string>;
  nowMs: number;
  graceHours: number;
  /** How the source proves a day (default: a control export, as before levels existed). */
  completeness?: SourceCompleteness;
  /** Delivery and volume evidence; needed for ARRIVED (always for `none`, else when the control does not settle it). */
  evidence?: ArrivalEvidence | null;
}): SourceDayResult {
  const sc: SourceCompleteness = o.completeness ?? { proof: 'export', origin: null, arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 } };
  const own = o.manifest.filter((t) => t.billing_source === o.source);
  const totals = own
    .map((t) => ({ event_type: t.event_type, currency: t.currency, rows: t.net_rows ?? t.rows, amount_sum: fix(new Decimal(t.amount_sum)) }))
    .sort((a, b) => a.event_type.localeCompare(b.event_type) || a.currency.localeCompare(b.currency));
  const rows = totals.reduce((a, t) => a + t.rows, 0);
  const missingWindows = windowsOfDay(o.day)
    .map(windowKey)
    .filter((k) => !o.loadedWindows.has(k));
  const withinGrace = o.nowMs < dayStartMs(o.day) + 86_400_000 + o.graceHours * 3_600_000;
  const arr = arrivalOf(rows, missingWindows, o.evidence ?? null, sc.arrival);
  const base = {
    source: o.source,
    day: o.day,
    missingWindows,
    rows,
    totals,
    controlGeneratedAt: o.control?.generated_at ?? null,
    proof: sc.proof,
    controlOrigin: o.control?.origin ?? null,
    undeliveredWindows: arr.undelivered,
    volume: arr.volume,
  };
  const reached = arr.arrived ? ('ARRIVED' as const) : ('NONE' as const);
  const arrivedNote = arr.arrived ? `; the day has ARRIVED (every window delivered and loaded${volumeNote(arr.volume)})` : '';

  if (sc.proof === 'none') {
    if (arr.arrived) return { ...base, status: 'ARRIVED', level: 'ARRIVED', diffs: [], detail: `${rows} rows; every window delivered and loaded${volumeNote(arr.volume)}; not reconciled (no control declared)` };
    const status = withinGrace ? 'LATE' : missingWindows.length || arr.undelivered.length ? 'NOT_ARRIVED' : 'UNUSUAL_VOLUME';
    return { ...base, status, level: 'NONE', diffs: [], detail: withinGrace ? `${arr.why} (within the grace period)` : arr.why };
  }
  if (!o.control) {
    const what = sc.proof === 'query' ? 'the control query' : sc.proof === 'recount' ? 'the recount' : 'the control export';
    return withinGrace
      ? { ...base, status: 'LATE', level: reached, diffs: [], detail: `no control totals yet from ${what} (within the grace period)${arrivedNote}` }
      : { ...base, status: 'MISSING_CONTROL', level: reached, diffs: [], detail: `the source has not reported control totals for ${o.day} (${what}${sc.origin ? `: ${sc.origin}` : ''})${arrivedNote}` };
  }
  const expected = new Map<string, { rows: number; amount: Decimal }>();
  for (const t of o.control.totals) {
    const k = `${t.event_type}|${t.currency.toUpperCase()}`;
    const cur = expected.get(k) ?? { rows: 0, amount: new Decimal(0) };
    expected.set(k, { rows: cur.rows + t.rows, amount: cur.amount.plus(new Decimal(t.amount_sum)) });
  }
  // MRR_CHANGED rows are billing-mart's own derivation from subscription states (events/mrr.ts), not source events:
  // compared only when the source's numbers speak of them.
  const derivedCompared = o.control.totals.some((t) => t.event_type === 'MRR_CHANGED');
  const vouched = o.control.eventTypes ? new Set(o.control.eventTypes) : null;
  const actual = new Map(totals.filter((t) => (derivedCompared || t.event_type !== 'MRR_CHANGED') && (!vouched || vouched.has(t.event_type))).map((t) => [`${t.event_type}|${t.currency}`, { rows: t.rows, amount: new Decimal(t.amount_sum) }]));
  const diffs: TotalsDiff[] = [];
  for (const k of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const e = expected.get(k) ?? { rows: 0, amount: new Decimal(0) };
    const a = actual.get(k) ?? { rows: 0, amount: new Decimal(0) };
    if (e.rows === a.rows && e.amount.equals(a.amount)) continue;
    const [event_type, currency] = k.split('|') as [string, string];
    diffs.push({ event_type, currency, expectedRows: e.rows, actualRows: a.rows, missingRows: e.rows - a.rows, expectedAmount: fix(e.amount), actualAmount: fix(a.amount), missingAmount: fix(e.amount.minus(a.amount)) });
  }
  if (!diffs.length && !missingWindows.length) return { ...base, status: 'COMPLETE', level: 'COMPLETE', diffs, detail: `${rows} rows match the control totals (${sc.proof}${o.control.origin ? `: ${o.control.origin}` : ''})` };
  const what = [
    diffs.length ? `${diffs.reduce((n, d) => n + d.missingRows, 0)} rows missing across ${diffs.length} event type/currency pair(s)` : '',
    missingWindows.length ? `${missingWindows.length} window(s) not loaded` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { ...base, status: withinGrace ? 'LATE' : 'INCOMPLETE', level: reached, diffs, detail: (withinGrace ? `${what} (within the grace period)` : what) + arrivedNote };
}

/** The verified totals a day's `_SUCCESS` carries. */
export function successPayload(day: string, results: SourceDayResult[], verifiedAt: string) {
  return {
    day,
    verifiedAt,
    /** The weakest level of the day's sources: COMPLETE only when every source was reconciled with its own numbers. */
    level: dayLevel(results),
    sources: Object.fromEntries(
      results.map((r) => [r.source, { level: r.level, proof: r.proof, rows: r.rows, totals: r.totals, controlGeneratedAt: r.controlGeneratedAt, controlOrigin: r.controlOrigin }]),
    ),
  };
}

/** The day's level: the weakest of its sources' (NONE when there are none). */
export function dayLevel(results: readonly SourceDayResult[]): CompletenessLevel {
  if (!results.length) return 'NONE';
  if (results.some((r) => r.level === 'NONE')) return 'NONE';
  return results.every((r) => r.level === 'COMPLETE') ? 'COMPLETE' : 'ARRIVED';
}

/** Same verified content (ignoring when it was verified). */
export function samePayload(a: unknown, b: unknown): boolean {
  const strip = (x: unknown) => {
    if (!x || typeof x !== 'object') return x;
    const { verifiedAt: _v, ...rest } = x as Record<string, unknown>;
    return rest;
  };
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
