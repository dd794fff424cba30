import { describe, expect, it } from 'vitest';
import {
  addDays,
  closedWindowsBetween,
  dayRange,
  keys,
  lastClosedWindow,
  parseWindow,
  windowContaining,
  windowKey,
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
