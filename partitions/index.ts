/**
 * Partitions as values with set operations (after Dagster): a UTC day ('YYYY-MM-DD') partitions the fact
 * table; a 4-hour UTC window ('YYYY-MM-DDTHH') is the unit of ingest for billing sources.
 * missing = expected − committed, and so on: pure functions, no I/O, time always passed in.
 */

export const WINDOW_HOURS = 4;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

export function assertDay(d: string): string {
  if (!DAY_RE.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`)) || new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) !== d) {
    throw new Error(`"${d}" is not a calendar day: expected YYYY-MM-DD`);
  }
  return d;
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function dayStartMs(day: string): number {
  return Date.parse(`${assertDay(day)}T00:00:00Z`);
}

export function addDays(day: string, n: number): string {
  return dayOf(dayStartMs(day) + n * DAY_MS);
}

/** Inclusive range of days, ascending. */
export function dayRange(from: string, to: string): string[] {
  const a = dayStartMs(from);
  const b = dayStartMs(to);
  if (b < a) throw new Error(`range ${from}..${to} ends before it starts`);
  const out: string[] = [];
  for (let t = a; t <= b; t += DAY_MS) out.push(dayOf(t));
  return out;
}

/** A half-open UTC interval [startMs, endMs). */
export interface Window {
  readonly startMs: number;
  readonly endMs: number;
}

/** Canonical key of a window: `2024-01-03T04:00Z/2024-01-03T08:00Z`. */
export function windowKey(w: Window): string {
  return `${isoMinute(w.startMs)}/${isoMinute(w.endMs)}`;
}

function isoMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16) + 'Z';
}

/** Parses `START/END` (ISO instants; a bare day means its UTC midnight). */
export function parseWindow(text: string): Window {
  const parts = text.split('/');
  if (parts.length !== 2) throw new Error(`window "${text}" must be START/END, e.g. 2024-01-03T04:00Z/2024-01-03T08:00Z`);
  const [s, e] = parts.map((p) => {
    const v = DAY_RE.test(p) ? `${p}T00:00:00Z` : p;
    const ms = Date.parse(v);
    if (Number.isNaN(ms) || !/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) throw new Error(`window bound "${p}" is not an ISO 8601 UTC instant (end it with Z)`);
    return ms;
  });
  if (e! <= s!) throw new Error(`window "${text}" is empty or reversed`);
  return { startMs: s!, endMs: e! };
}

/** The aligned 4-hour windows (00, 04, … 20 UTC) of a day. */
export function windowsOfDay(day: string, hours = WINDOW_HOURS): Window[] {
  const start = dayStartMs(day);
  const out: Window[] = [];
  for (let h = 0; h < 24; h += hours) out.push({ startMs: start + h * HOUR_MS, endMs: start + (h + hours) * HOUR_MS });
  return out;
}

/** The aligned window that contains instant `ms`. */
export function windowContaining(ms: number, hours = WINDOW_HOURS): Window {
  const size = hours * HOUR_MS;
  const start = Math.floor(ms / size) * size;
  return { startMs: start, endMs: start + size };
}

/** The last window that has fully closed at `nowMs`. */
export function lastClosedWindow(nowMs: number, hours = WINDOW_HOURS): Window {
  const cur = windowContaining(nowMs, hours);
  return { startMs: cur.startMs - hours * HOUR_MS, endMs: cur.startMs };
}

/** All aligned windows that closed in (sinceMs, nowMs], oldest first. */
export function closedWindowsBetween(sinceMs: number, nowMs: number, hours = WINDOW_HOURS): Window[] {
  const out: Window[] = [];
  let w = lastClosedWindow(nowMs, hours);
  while (w.endMs > sinceMs) {
    out.push(w);
    w = { startMs: w.startMs - hours * HOUR_MS, endMs: w.startMs };
  }
  return out.reverse();
}

/** Set operations on partition keys. */
export const keys = {
  minus(a: Iterable<string>, b: Iterable<string>): string[] {
    const drop = new Set(b);
    return [...new Set(a)].filter((k) => !drop.has(k)).sort();
  },
  union(...sets: Iterable<string>[]): string[] {
    const out = new Set<string>();
    for (const s of sets) for (const k of s) out.add(k);
    return [...out].sort();
  },
  intersect(a: Iterable<string>, b: Iterable<string>): string[] {
    const keep = new Set(b);
    return [...new Set(a)].filter((k) => keep.has(k)).sort();
  },
};
