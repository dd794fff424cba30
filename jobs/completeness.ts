/**
 * Completeness, the pure part: for one (source, UTC day), compare what the fact table holds (manifest totals per
 * event type and currency) with the source's control totals, and check every 4-hour window of the day was loaded.
 * Exact decimals only (decimal.js on strings); no float ever touches an amount.
 */
import { Decimal } from '../events/money.js';
import { dayStartMs, windowKey, windowsOfDay } from '../partitions/index.js';
import type { ControlTotals, TotalsRow } from './ports.js';

export type CompletenessStatus = 'COMPLETE' | 'INCOMPLETE' | 'MISSING_CONTROL' | 'LATE';

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
  /** Why, in words (for the grid and the report). */
  detail: string;
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
}): SourceDayResult {
  const own = o.manifest.filter((t) => t.billing_source === o.source);
  const totals = own
    .map((t) => ({ event_type: t.event_type, currency: t.currency, rows: t.rows, amount_sum: fix(new Decimal(t.amount_sum)) }))
    .sort((a, b) => a.event_type.localeCompare(b.event_type) || a.currency.localeCompare(b.currency));
  const rows = totals.reduce((a, t) => a + t.rows, 0);
  const missingWindows = windowsOfDay(o.day)
    .map(windowKey)
    .filter((k) => !o.loadedWindows.has(k));
  const withinGrace = o.nowMs < dayStartMs(o.day) + 86_400_000 + o.graceHours * 3_600_000;
  const base = { source: o.source, day: o.day, missingWindows, rows, totals, controlGeneratedAt: o.control?.generated_at ?? null };
  if (!o.control) {
    return withinGrace
      ? { ...base, status: 'LATE', diffs: [], detail: 'no control totals yet (within the grace period)' }
      : { ...base, status: 'MISSING_CONTROL', diffs: [], detail: `the source has not reported control totals for ${o.day}` };
  }
  const expected = new Map<string, { rows: number; amount: Decimal }>();
  for (const t of o.control.totals) {
    const k = `${t.event_type}|${t.currency.toUpperCase()}`;
    const cur = expected.get(k) ?? { rows: 0, amount: new Decimal(0) };
    expected.set(k, { rows: cur.rows + t.rows, amount: cur.amount.plus(new Decimal(t.amount_sum)) });
  }
  const actual = new Map(totals.map((t) => [`${t.event_type}|${t.currency}`, { rows: t.rows, amount: new Decimal(t.amount_sum) }]));
  const diffs: TotalsDiff[] = [];
  for (const k of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const e = expected.get(k) ?? { rows: 0, amount: new Decimal(0) };
    const a = actual.get(k) ?? { rows: 0, amount: new Decimal(0) };
    if (e.rows === a.rows && e.amount.equals(a.amount)) continue;
    const [event_type, currency] = k.split('|') as [string, string];
    diffs.push({ event_type, currency, expectedRows: e.rows, actualRows: a.rows, missingRows: e.rows - a.rows, expectedAmount: fix(e.amount), actualAmount: fix(a.amount), missingAmount: fix(e.amount.minus(a.amount)) });
  }
  if (!diffs.length && !missingWindows.length) return { ...base, status: 'COMPLETE', diffs, detail: `${rows} rows match the control totals` };
  const what = [
    diffs.length ? `${diffs.reduce((n, d) => n + d.missingRows, 0)} rows missing across ${diffs.length} event type/currency pair(s)` : '',
    missingWindows.length ? `${missingWindows.length} window(s) not loaded` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { ...base, status: withinGrace ? 'LATE' : 'INCOMPLETE', diffs, detail: withinGrace ? `${what} (within the grace period)` : what };
}

/** The verified totals a day's `_SUCCESS` carries. */
export function successPayload(day: string, results: SourceDayResult[], verifiedAt: string) {
  return {
    day,
    verifiedAt,
    sources: Object.fromEntries(results.map((r) => [r.source, { rows: r.rows, totals: r.totals, controlGeneratedAt: r.controlGeneratedAt }])),
  };
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
