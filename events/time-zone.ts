/**
 * IANA zone offsets without building a DateTime per value.
 *
 * Zone rules come from Intl (the same ICU data luxon uses); never a fixed offset for a zone name. Offsets are
 * cached per zone in one-day UTC buckets: the first value in a bucket asks Intl for the offset at the bucket's
 * first and last second; when they agree the bucket holds one constant offset, otherwise the transition second
 * is found by binary search (about 17 more Intl calls, once per transition). tzdb has no two transitions
 * within one UTC day of each other, so a bucket holds at most one.
 *
 * Wall time → UTC (`resolveLocal`) follows policies 3 and 4 of docs/timestamps.md: an overlap takes the earlier
 * instant (the pre-transition, daylight offset) and is flagged ambiguous; a gap is read with the pre-transition
 * offset (i.e. shifted forward by the gap) and flagged nonexistent.
 */
import { daysFromCivil, END_EPOCH_SECONDS, MIN_EPOCH_SECONDS } from './time-civil.js';

const BUCKET = 86400;

interface Transition {
  /** First UTC second that has offset `after`. */
  at: number;
  before: number;
  after: number;
}

export interface ZoneInfo {
  readonly name: string;
  readonly fmt: Intl.DateTimeFormat;
  /** UTC bucket index → constant offset (seconds) or the one transition inside the bucket. */
  readonly buckets: Map<number, number | Transition>;
}

const zones = new Map<string, ZoneInfo>();

/** The cached zone, or undefined when `name` is not an IANA zone name Intl knows. */
export function getZone(name: string): ZoneInfo | undefined {
  const hit = zones.get(name);
  if (hit) return hit;
  const c = name.charCodeAt(0);
  const isLetter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (!isLetter) return undefined; // offsets such as "+05:00" are not zone names
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
  const info: ZoneInfo = { name, fmt, buckets: new Map() };
  zones.set(name, info);
  return info;
}

/**
 * Offset (seconds east of UTC) at a UTC second, straight from Intl. Clamped to the supported years.
 * Reads `format()` output ("7/14/2017, 19:40:00" in en-US) by pulling out its six numbers in order, which is
 * several times cheaper than formatToParts.
 */
function intlOffset(zone: ZoneInfo, t: number): number {
  const tc = Math.min(Math.max(t, MIN_EPOCH_SECONDS + 2 * 86400), END_EPOCH_SECONDS - 2 * 86400);
  const text = zone.fmt.format(tc * 1000);
  const f = [0, 0, 0, 0, 0, 0]; // month, day, year, hour, minute, second
  let k = -1;
  let inNum = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (!inNum) {
        k++;
        inNum = true;
      }
      if (k < 6) f[k] = f[k]! * 10 + (c - 48);
    } else {
      inNum = false;
    }
  }
  if (k !== 5) throw new Error(`unexpected Intl output ${JSON.stringify(text)} for zone ${zone.name}`);
  return daysFromCivil(f[2]!, f[0]!, f[1]!) * 86400 + f[3]! * 3600 + f[4]! * 60 + f[5]! - tc;
}

function loadBucket(zone: ZoneInfo, b: number): number | Transition {
  const start = b * BUCKET;
  const end = start + BUCKET - 1;
  const o0 = intlOffset(zone, start);
  const o1 = intlOffset(zone, end);
  let entry: number | Transition;
  if (o0 === o1) {
    entry = o0;
  } else {
    let lo = start;
    let hi = end;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (intlOffset(zone, mid) === o0) lo = mid;
      else hi = mid;
    }
    entry = { at: hi, before: o0, after: intlOffset(zone, hi) };
  }
  zone.buckets.set(b, entry);
  return entry;
}

/** Offset in seconds east of UTC at UTC second `t`. */
export function offsetAt(zone: ZoneInfo, t: number): number {
  const b = Math.floor(t / BUCKET);
  const e = zone.buckets.get(b) ?? loadBucket(zone, b);
  if (typeof e === 'number') return e;
  return t < e.at ? e.before : e.after;
}

/** Result of resolving a wall-clock time; reused by the caller to avoid allocation. */
export interface Resolved {
  epochSeconds: number;
  ambiguous: boolean;
  nonexistent: boolean;
}

/**
 * UTC second of a wall-clock time `local` (the wall time's seconds counted as if it were UTC).
 * Overlap → earlier instant + ambiguous; gap → pre-transition offset + nonexistent.
 */
export function resolveLocal(zone: ZoneInfo, local: number, out: Resolved): Resolved {
  const oBefore = offsetAt(zone, local - 86400);
  const oAfter = offsetAt(zone, local + 86400);
  const c1 = local - oBefore;
  const ok1 = offsetAt(zone, c1) === oBefore;
  if (oBefore === oAfter && ok1) {
    out.epochSeconds = c1;
    out.ambiguous = false;
    out.nonexistent = false;
    return out;
  }
  const c2 = local - oAfter;
  const ok2 = oAfter !== oBefore && offsetAt(zone, c2) === oAfter;
  if (ok1 && ok2) {
    out.epochSeconds = Math.min(c1, c2);
    out.ambiguous = true;
    out.nonexistent = false;
  } else if (ok1 || ok2) {
    out.epochSeconds = ok1 ? c1 : c2;
    out.ambiguous = false;
    out.nonexistent = false;
  } else {
    out.epochSeconds = c1;
    out.ambiguous = false;
    out.nonexistent = true;
  }
  return out;
}

/**
 * THE zone validator: true when `name` is an IANA zone name the timestamp parser accepts. Configuration (source
 * zones, the schedule zone) is checked with this one function, so a zone that passes `config` is a zone every
 * record can be parsed in.
 */
export function isValidZone(name: unknown): boolean {
  return typeof name === 'string' && name !== '' && getZone(name) !== undefined;
}
