/**
 * The vocabulary of time partitions (after Dagster), as values both ways; the one place that spells them:
 * - a UTC day `YYYY-MM-DD` partitions the fact table (`dayOf`, `dayStartMs`, `epochDay`, `dayRange`, …);
 * - a half-open UTC window is the unit of ingest, keyed `2024-01-03T04:00Z/2024-01-03T08:00Z`
 *   (`windowKey` ↔ `parseWindow`/`windowOfKey`), aligned on 4-hour boundaries (00, 04, … 20 UTC);
 * - the landing zone's folder of a window: `<source>/<YYYY-MM-DD>/<HH>` (`landingFolder`, `landingFolderStart`,
 *   `landingDayOf`).
 * missing = expected − committed, and so on: pure functions, no I/O, time always passed in.
 */

export const WINDOW_HOURS = 4;
export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

export const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar day in `YYYY-MM-DD` (2024-02-29 yes, 2023-02-29 and 2024-1-3 no). */
export function isDay(d: string): boolean {
  if (!DAY_RE.test(d)) return false;
  const ms = Date.parse(`${d}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === d;
}

export function assertDay(d: string): string {
  if (!isDay(d)) throw new Error(`"${d}" is not a calendar day: expected YYYY-MM-DD`);
  return d;
}

/** Days since 1970-01-01 of a UTC day (Parquet/Arrow DATE, Iceberg's day transform). */
export function epochDay(day: string): number {
  return dayStartMs(day) / DAY_MS;
}

/** The UTC day `n` days after 1970-01-01. */
export function dayOfEpochDay(n: number): string {
  return dayOf(n * DAY_MS);
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

/** A canonical window key (what `windowKey` writes) back to its window; null for any other text. */
export function windowOfKey(key: string): Window | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})Z\/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})Z$/.exec(key);
  if (!m) return null;
  const startMs = Date.parse(`${m[1]}:00Z`);
  const endMs = Date.parse(`${m[2]}:00Z`);
  if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs <= startMs || windowKey({ startMs, endMs }) !== key) return null;
  return { startMs, endMs };
}

/**
 * The UTC days a run's window text touches: a bare day is itself; a window key (or any `START/END` that
 * `parseWindow` reads) gives every day it overlaps, half-open (…T20:00Z/…+1T00:00Z is one day); else [].
 */
export function daysOfWindowText(text: string | null | undefined): string[] {
  if (!text) return [];
  if (isDay(text)) return [text];
  let w: Window;
  try {
    w = parseWindow(text);
  } catch {
    return []; // not a window: the caller falls back to other evidence
  }
  return daysOfWindow(w);
}

/** The UTC days a window overlaps (half-open: a window ending at midnight does not touch the next day). */
export function daysOfWindow(w: Window): string[] {
  return dayRange(dayOf(w.startMs), dayOf(w.endMs - 1));
}

/** True when `w` is one aligned window (starts on a boundary, lasts `hours`). */
export function isAlignedWindow(w: Window, hours = WINDOW_HOURS): boolean {
  const c = windowContaining(w.startMs, hours);
  return c.startMs === w.startMs && c.endMs === w.endMs;
}

/** The aligned windows that tile `w` exactly, oldest first; null when `w` does not start and end on boundaries. */
export function alignedWindowsIn(w: Window, hours = WINDOW_HOURS): Window[] | null {
  const size = hours * HOUR_MS;
  if (w.startMs % size !== 0 || w.endMs % size !== 0 || w.endMs <= w.startMs) return null;
  const out: Window[] = [];
  for (let t = w.startMs; t < w.endMs; t += size) out.push({ startMs: t, endMs: t + size });
  return out;
}

/** The landing folder of a window, relative to the landing zone: `<source>/<YYYY-MM-DD>/<HH>` (UTC day and hour of its start). */
export function landingFolder(source: string, w: Window | number): string {
  const ms = typeof w === 'number' ? w : w.startMs;
  return `${source}/${dayOf(ms)}/${String(new Date(ms).getUTCHours()).padStart(2, '0')}`;
}

/** The start instant of a landing folder `<day>/<HH>` (its two path segments), or null when they are not a day and an hour 00–23. */
export function landingFolderStart(day: string, hh: string): number | null {
  if (!isDay(day) || !/^\d{2}$/.test(hh) || Number(hh) > 23) return null;
  return dayStartMs(day) + Number(hh) * HOUR_MS;
}

/** The folder day of a landing path `<source>/<YYYY-MM-DD>/…` (relative to the landing zone), or null. */
export function landingDayOf(relPath: string): string | null {
  const day = /^[^/]+\/(\d{4}-\d{2}-\d{2})\//.exec(relPath)?.[1];
  return day !== undefined && isDay(day) ? day : null;
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
