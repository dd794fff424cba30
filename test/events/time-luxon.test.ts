/**
 * Cross-checks the hand-written zone arithmetic (cached Intl offsets, own civil↔epoch maths) against luxon,
 * which builds a full DateTime per value: wall times and epochs across whole years in the five zones of the
 * issue (every 5 minutes around each transition), plus random values in zones with unusual histories.
 */
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../events/time.js';

const ZONES = ['America/Los_Angeles', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function wall(dt: DateTime): string {
  return dt.toFormat('yyyy-MM-dd HH:mm:ss');
}

function naive(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Checks one naive wall time (given as its "as if UTC" milliseconds) against luxon's zone rules. */
function check(localAsUtc: number, zone: string): { ambiguous: boolean; nonexistent: boolean } {
  const raw = naive(localAsUtc);
  const t = parseTimestamp(raw, zone);
  const ms = Number(t.utcMicros / 1000n);
  const at = DateTime.fromMillis(ms, { zone });
  // the two offsets around the wall time, from luxon
  const oBefore = at.zone.offset(localAsUtc - 86400000);
  const oAfter = at.zone.offset(localAsUtc + 86400000);
  const candidates = [...new Set([oBefore, oAfter])]
    .map((o) => localAsUtc - o * 60000)
    .filter((c) => wall(DateTime.fromMillis(c, { zone })) === raw)
    .sort((a, b) => a - b);
  if (candidates.length === 0) {
    expect(t.nonexistent, raw).toBe(true);
    expect(ms, raw).toBe(localAsUtc - oBefore * 60000); // read with the pre-transition offset
  } else {
    expect(t.nonexistent, raw).toBe(false);
    expect(ms, `${raw} in ${zone}`).toBe(candidates[0]);
    expect(t.ambiguous, raw).toBe(candidates.length === 2);
    expect(wall(at)).toBe(raw);
  }
  expect(t.utc).toBe(`${new Date(ms).toISOString().slice(0, -1)}000Z`);
  return { ambiguous: t.ambiguous, nonexistent: t.nonexistent };
}

/** UTC instants (ms) where the zone's offset changes during `year`, found with luxon. */
function transitions(zone: string, year: number): Array<{ at: number; before: number }> {
  const z = DateTime.now().setZone(zone).zone;
  const out: Array<{ at: number; before: number }> = [];
  for (let d = Date.UTC(year, 0, 1); d < Date.UTC(year + 1, 0, 1); d += 86400000) {
    if (z.offset(d) === z.offset(d + 86400000)) continue;
    let lo = d;
    let hi = d + 86400000;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (z.offset(mid) === z.offset(d)) lo = mid;
      else hi = mid;
    }
    out.push({ at: hi, before: z.offset(d) });
  }
  return out;
}

describe('naive wall times agree with luxon', () => {
  it.each(ZONES)('%s: through 2017 and 2024, densely around each transition (and the DST flags appear)', (zone) => {
    let ambiguous = 0;
    let nonexistent = 0;
    for (const year of [2017, 2024]) {
      for (let ms = Date.UTC(year, 0, 1); ms < Date.UTC(year + 1, 0, 1); ms += 97 * 60000) check(ms, zone);
      for (const tr of transitions(zone, year)) {
        const wallAt = tr.at + tr.before * 60000;
        for (let ms = wallAt - 3 * 3600000; ms < wallAt + 3 * 3600000; ms += 5 * 60000) {
          const f = check(ms, zone);
          if (f.ambiguous) ambiguous++;
          if (f.nonexistent) nonexistent++;
        }
      }
    }
    const perYear = zone === 'Asia/Kolkata' ? 0 : zone === 'Australia/Lord_Howe' ? 6 : 12; // 30 or 60 min in 5-min steps
    expect(ambiguous).toBe(2 * perYear);
    expect(nonexistent).toBe(2 * perYear);
  });

  it('random wall times 1900-2100 in zones with unusual histories', () => {
    const zones = [...ZONES, 'America/Sao_Paulo', 'Pacific/Apia', 'Asia/Kathmandu', 'Europe/Moscow', 'Africa/Casablanca', 'America/St_Johns'];
    let x = 42;
    for (let i = 0; i < 4000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const ms = Date.UTC(1900, 0, 1) + (x / 2147483648) * (Date.UTC(2100, 0, 1) - Date.UTC(1900, 0, 1));
      check(Math.floor(ms / 1000) * 1000, zones[i % zones.length]!);
    }
  });

  it('Pacific/Apia skipped 2011-12-30 entirely: the whole day is nonexistent', () => {
    const t = parseTimestamp('2011-12-30', 'Pacific/Apia');
    expect(t.nonexistent).toBe(true);
    expect(t.utc).toBe('2011-12-30T10:00:00.000000Z'); // read with the pre-transition offset -10:00
  });
});

describe('epochs agree with luxon on the source local date and the midnight flag', () => {
  it.each(ZONES)('%s: every 131 minutes over two years', (zone) => {
    for (let s = Date.UTC(2016, 0, 1) / 1000; s < Date.UTC(2018, 0, 1) / 1000; s += 131 * 60) {
      const t = parseTimestamp(s, zone);
      const dt = DateTime.fromSeconds(s, { zone });
      expect(t.sourceLocalDate).toBe(dt.toISODate());
      expect(t.truncatedToMidnight).toBe(dt.hour === 0 && dt.minute === 0 && dt.second === 0);
      expect(t.utcMicros).toBe(BigInt(s) * 1000000n);
    }
  });
  it.each(ZONES)('%s: every local midnight of 2017 is flagged', (zone) => {
    let dt = DateTime.fromObject({ year: 2017, month: 1, day: 1 }, { zone });
    for (let i = 0; i < 365; i++, dt = dt.plus({ days: 1 })) {
      const t = parseTimestamp(dt.toMillis(), zone);
      expect(t.truncatedToMidnight, dt.toISO() ?? '').toBe(true);
      expect(t.sourceLocalDate).toBe(dt.toISODate());
    }
  });
});
