import { describe, expect, it } from 'vitest';
import {
  addDays,
  alignedWindowsIn,
  closedWindowsBetween,
  dayOfEpochDay,
  dayRange,
  daysOfWindow,
  daysOfWindowText,
  epochDay,
  isAlignedWindow,
  isDay,
  landingDayOf,
  landingFolder,
  landingFolderStart,
  keys,
  lastClosedWindow,
  parseWindow,
  windowContaining,
  windowKey,
  windowOfKey,
  windowsOfDay,
} from '../../partitions/index.js';

const ms = (iso: string) => Date.parse(iso);

describe('partitions', () => {
  it('ranges days across month, leap day and year ends', () => {
    expect(dayRange('2023-12-30', '2024-01-02')).toEqual(['2023-12-30', '2023-12-31', '2024-01-01', '2024-01-02']);
    expect(dayRange('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(addDays('2024-03-10', 1)).toBe('2024-03-11'); // US DST day: UTC days are always 24 h
    expect(() => dayRange('2024-01-02', '2024-01-01')).toThrow(/ends before/);
    expect(() => dayRange('2023-02-29', '2023-03-01')).toThrow(/not a calendar day/);
  });

  it('cuts a day into six aligned 4-hour UTC windows', () => {
    const w = windowsOfDay('2024-01-03');
    expect(w).toHaveLength(6);
    expect(windowKey(w[0]!)).toBe('2024-01-03T00:00Z/2024-01-03T04:00Z');
    expect(windowKey(w[5]!)).toBe('2024-01-03T20:00Z/2024-01-04T00:00Z');
  });

  it('finds the window that just closed and the ones missed during downtime', () => {
    expect(windowKey(lastClosedWindow(ms('2024-01-03T09:15:00Z')))).toBe('2024-01-03T04:00Z/2024-01-03T08:00Z');
    expect(windowKey(windowContaining(ms('2024-01-03T08:00:00Z')))).toBe('2024-01-03T08:00Z/2024-01-03T12:00Z');
    const missed = closedWindowsBetween(ms('2024-01-03T04:00:00Z'), ms('2024-01-03T17:00:00Z')).map(windowKey);
    expect(missed).toEqual(['2024-01-03T04:00Z/2024-01-03T08:00Z', '2024-01-03T08:00Z/2024-01-03T12:00Z', '2024-01-03T12:00Z/2024-01-03T16:00Z']);
  });

  it('parses START/END windows and rejects naive or reversed bounds', () => {
    expect(windowKey(parseWindow('2024-01-03T04:00Z/2024-01-03T08:00Z'))).toBe('2024-01-03T04:00Z/2024-01-03T08:00Z');
    expect(windowKey(parseWindow('2024-01-03/2024-01-04'))).toBe('2024-01-03T00:00Z/2024-01-04T00:00Z');
    expect(() => parseWindow('2024-01-03T04:00/2024-01-03T08:00')).toThrow(/end it with Z/);
    expect(() => parseWindow('2024-01-03T08:00Z/2024-01-03T04:00Z')).toThrow(/reversed/);
    expect(() => parseWindow('2024-01-03T08:00Z')).toThrow(/START\/END/);
  });

  it('computes missing = expected − committed as set operations', () => {
    expect(keys.minus(['d3', 'd1', 'd2'], ['d2'])).toEqual(['d1', 'd3']);
    expect(keys.union(['b'], ['a', 'b'])).toEqual(['a', 'b']);
    expect(keys.intersect(['a', 'b', 'c'], ['c', 'a', 'z'])).toEqual(['a', 'c']);
  });
});

describe('the vocabulary: days, window keys, landing folders (partitions/index.ts is the one place that spells them)', () => {
  it('isDay accepts real calendar days only: leap day yes, 29 Feb of a common year, month 13, short forms no', () => {
    expect(['2024-02-29', '2000-02-29', '1970-01-01', '2023-12-31'].every(isDay)).toBe(true);
    expect(['2023-02-29', '1900-02-29', '2024-13-01', '2024-04-31', '2024-1-03', '20240103', '2024-01-03T00:00Z', ''].some(isDay)).toBe(false);
  });

  it('epoch days both ways, across the leap day and the year end', () => {
    expect(epochDay('1970-01-01')).toBe(0);
    expect(epochDay('2024-02-29')).toBe(19782);
    expect(dayOfEpochDay(19782)).toBe('2024-02-29');
    expect(dayOfEpochDay(epochDay('2023-12-31') + 1)).toBe('2024-01-01');
    expect(dayOfEpochDay(-1)).toBe('1969-12-31');
    expect(() => epochDay('2023-02-29')).toThrow(/not a calendar day/);
  });

  it('windowOfKey reads back exactly what windowKey writes, and nothing else', () => {
    for (const w of [...windowsOfDay('2024-02-29'), ...windowsOfDay('2023-12-31'), { startMs: ms('2024-01-03T22:00:00Z'), endMs: ms('2024-01-04T02:00:00Z') }]) {
      expect(windowOfKey(windowKey(w))).toEqual(w);
    }
    expect(windowOfKey('2023-12-31T20:00Z/2024-01-01T00:00Z')).toEqual({ startMs: ms('2023-12-31T20:00:00Z'), endMs: ms('2024-01-01T00:00:00Z') });
    for (const bad of ['2024-01-03', '2024-01-03T04:00/2024-01-03T08:00Z', '2024-01-03T08:00Z/2024-01-03T04:00Z', '2024-02-30T00:00Z/2024-03-01T04:00Z', '2024-01-03T04:00:00Z/2024-01-03T08:00:00Z', 'x/y', '']) {
      expect(windowOfKey(bad), bad).toBeNull();
    }
  });

  it('the days a window or a run window text touches: half-open at midnight, a window spanning midnight touches both days', () => {
    expect(daysOfWindow(windowsOfDay('2024-01-03')[5]!)).toEqual(['2024-01-03']); // 20:00–24:00 ends at midnight: one day
    expect(daysOfWindowText('2024-02-28T22:00Z/2024-02-29T02:00Z')).toEqual(['2024-02-28', '2024-02-29']);
    expect(daysOfWindowText('2023-12-31T20:00Z/2024-01-01T04:00Z')).toEqual(['2023-12-31', '2024-01-01']);
    expect(daysOfWindowText('2024-01-03')).toEqual(['2024-01-03']);
    expect(daysOfWindowText('2024-02-29T00:00Z/2024-03-02T00:00Z')).toEqual(['2024-02-29', '2024-03-01']);
    expect(daysOfWindowText('2023-02-29')).toEqual([]);
    expect(daysOfWindowText('not a window')).toEqual([]);
    expect(daysOfWindowText(null)).toEqual([]);
  });

  it('aligned windows: one aligned window, the windows tiling a span, null for a span off the boundaries', () => {
    const day = windowsOfDay('2024-02-29');
    expect(isAlignedWindow(day[2]!)).toBe(true);
    expect(isAlignedWindow({ startMs: day[2]!.startMs, endMs: day[3]!.endMs })).toBe(false);
    expect(isAlignedWindow({ startMs: ms('2024-01-03T02:00:00Z'), endMs: ms('2024-01-03T06:00:00Z') })).toBe(false);
    expect(alignedWindowsIn({ startMs: ms('2024-02-28T20:00:00Z'), endMs: ms('2024-02-29T08:00:00Z') })!.map(windowKey)).toEqual([
      '2024-02-28T20:00Z/2024-02-29T00:00Z',
      '2024-02-29T00:00Z/2024-02-29T04:00Z',
      '2024-02-29T04:00Z/2024-02-29T08:00Z',
    ]);
    expect(alignedWindowsIn({ startMs: ms('2024-01-03T02:00:00Z'), endMs: ms('2024-01-03T08:00:00Z') })).toBeNull();
  });

  it('landing folders: <source>/<day>/<HH> of a window start, and back', () => {
    expect(landingFolder('stripe', windowsOfDay('2024-02-29')[1]!)).toBe('stripe/2024-02-29/04');
    expect(landingFolder('zuora', ms('2023-12-31T20:00:00Z'))).toBe('zuora/2023-12-31/20');
    expect(landingFolderStart('2024-02-29', '20')).toBe(ms('2024-02-29T20:00:00Z'));
    expect(landingFolderStart('2024-02-29', '24')).toBeNull();
    expect(landingFolderStart('2024-02-29', '4')).toBeNull();
    expect(landingFolderStart('2023-02-29', '00')).toBeNull();
    expect(landingFolderStart('_control', '00')).toBeNull();
    expect(landingDayOf('stripe/2024-02-29/04/charge.csv')).toBe('2024-02-29');
    expect(landingDayOf('_late/stripe/2024-02-29/04/charge.csv')).toBeNull();
    expect(landingDayOf('stripe/2023-02-29/04/charge.csv')).toBeNull();
    expect(landingDayOf('charge.csv')).toBeNull();
  });
});
