/**
 * Wall-clock helpers for rendering instants the way sources write them, and for resolving a naive wall time
 * the way the timestamp policy does (docs: issue 2 rules 3–5): an ambiguous wall time (fall-back overlap) is
 * the earlier instant; a nonexistent one (spring-forward gap) is read with the pre-transition offset.
 * The generator uses this to know the exact UTC instant a naive value will be read back as.
 */
import { IANAZone } from 'luxon';
import { dayStartMs, dayOf, DAY_MS } from '../../partitions/index.js';

const zones = new Map<string, IANAZone>();
function zone(name: string): IANAZone {
  let z = zones.get(name);
  if (!z) {
    z = IANAZone.create(name);
    if (!z.isValid) throw new Error(`unknown time zone ${JSON.stringify(name)}`);
    zones.set(name, z);
  }
  return z;
}

const offsetCache = new Map<string, Map<number, number>>();
const BUCKET_MS = 15 * 60_000;

/**
 * Offset of `zoneName` at instant `ms`, in minutes east of UTC. Cached per 15-minute bucket: zone transitions
 * happen on quarter-hour boundaries, and Intl lookups are the generator's hot spot.
 */
export function offsetMinutes(zoneName: string, ms: number): number {
  let cache = offsetCache.get(zoneName);
  if (!cache) offsetCache.set(zoneName, (cache = new Map()));
  const bucket = Math.floor(ms / BUCKET_MS);
  let off = cache.get(bucket);
  if (off === undefined) {
    if (cache.size > 200_000) cache.clear();
    off = zone(zoneName).offset(bucket * BUCKET_MS);
    cache.set(bucket, off);
  }
  return off;
}

export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall time of an instant in a zone. */
export function wallOf(ms: number, zoneName: string): Wall {
  const d = new Date(ms + offsetMinutes(zoneName, ms) * 60_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

function wallAsUtcMs(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

export interface Resolved {
  ms: number;
  ambiguous: boolean;
  nonexistent: boolean;
}

/** The instant a naive wall time in `zoneName` denotes under the project's policy. */
export function resolveWall(w: Wall, zoneName: string): Resolved {
  const local = wallAsUtcMs(w);
  const before = offsetMinutes(zoneName, local - 86_400_000 / 2);
  const after = offsetMinutes(zoneName, local + 86_400_000 / 2);
  const candidates = [...new Set([before, after])]
    .map((off) => local - off * 60_000)
    .filter((ms) => wallAsUtcMs(wallOf(ms, zoneName)) === local)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return { ms: candidates[0]!, ambiguous: candidates.length > 1, nonexistent: false };
  return { ms: local - before * 60_000, ambiguous: false, nonexistent: true };
}

/** UTC instant of local midnight on `localDate` (YYYY-MM-DD) in the zone (policy-resolved). */
export function localMidnightMs(localDate: string, zoneName: string): number {
  const [y, m, d] = localDate.split('-').map(Number) as [number, number, number];
  return resolveWall({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0 }, zoneName).ms;
}

const p2 = (n: number) => String(n).padStart(2, '0');

export function wallDate(w: Wall): string {
  return `${w.year}-${p2(w.month)}-${p2(w.day)}`;
}

/** `YYYY-MM-DD HH:MM:SS` followed by `fraction` (e.g. '.000000'). */
export function wallText(w: Wall, fraction = ''): string {
  return `${wallDate(w)} ${p2(w.hour)}:${p2(w.minute)}:${p2(w.second)}${fraction}`;
}

export function isMidnight(w: Wall): boolean {
  return w.hour === 0 && w.minute === 0 && w.second === 0;
}

/** The local date of an instant in a zone. */
export function localDateOf(ms: number, zoneName: string): string {
  return wallDate(wallOf(ms, zoneName));
}

/** Is `day` (local) a DST transition day in the zone? Returns the transition instant, else null. */
export function dstTransition(day: string, zoneName: string): { ms: number; gapMinutes: number } | null {
  const start = dayStartMs(day) - 14 * 3_600_000;
  let prev = offsetMinutes(zoneName, start);
  for (let h = 1; h <= 52; h++) {
    const t = start + h * 3_600_000;
    const off = offsetMinutes(zoneName, t);
    if (off !== prev) {
      // refine to the minute
      let lo = t - 3_600_000;
      let hi = t;
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (offsetMinutes(zoneName, mid) === prev) lo = mid;
        else hi = mid;
      }
      if (localDateOf(hi, zoneName) === day || localDateOf(hi - 1, zoneName) === day) return { ms: hi, gapMinutes: off - prev };
      prev = off;
    }
  }
  return null;
}

/** Local midnight of the zone that falls inside the UTC day starting at `dayStartMs` (nightly bill runs), or null. */
export function nightlyInstant(zoneName: string, dayStartMs: number): number | null {
  for (const offset of [0, 1, -1]) {
    const d = dayOf(dayStartMs + offset * DAY_MS);
    const ms = localMidnightMs(d, zoneName);
    if (ms >= dayStartMs && ms < dayStartMs + DAY_MS) return ms;
  }
  return null; // e.g. Europe/London's fall-back day: 00:00 BST is the previous UTC day, 00:00 GMT the next
}
