import { describe, expect, it } from 'vitest';
import { dstTransition, localMidnightMs, resolveWall } from '../../tools/generator/wall.js';
import { Rng } from '../../tools/generator/rng.js';

const LA = 'America/Los_Angeles';
const iso = (ms: number) => new Date(ms).toISOString();

describe('wall-time resolution (the timestamp policy, as the generator predicts it)', () => {
  it('takes the earlier instant for an ambiguous fall-back time and shifts a spring-forward gap', () => {
    const amb = resolveWall({ year: 2024, month: 11, day: 3, hour: 1, minute: 30, second: 0 }, LA);
    expect(iso(amb.ms)).toBe('2024-11-03T08:30:00.000Z');
    expect(amb).toMatchObject({ ambiguous: true, nonexistent: false });
    const gap = resolveWall({ year: 2017, month: 3, day: 12, hour: 2, minute: 30, second: 0 }, LA);
    expect(iso(gap.ms)).toBe('2017-03-12T10:30:00.000Z');
    expect(gap).toMatchObject({ ambiguous: false, nonexistent: true });
    expect(iso(resolveWall({ year: 2024, month: 1, day: 3, hour: 12, minute: 0, second: 0 }, LA).ms)).toBe('2024-01-03T20:00:00.000Z');
    expect(iso(resolveWall({ year: 2024, month: 10, day: 6, hour: 2, minute: 15, second: 0 }, 'Australia/Lord_Howe').ms)).toBe('2024-10-05T15:45:00.000Z');
  });

  it('finds local midnights and DST transition days', () => {
    expect(iso(localMidnightMs('2024-07-01', LA))).toBe('2024-07-01T07:00:00.000Z');
    expect(iso(localMidnightMs('2024-07-01', 'Europe/London'))).toBe('2024-06-30T23:00:00.000Z');
    expect(dstTransition('2024-03-10', LA)).toEqual({ ms: Date.parse('2024-03-10T10:00:00Z'), gapMinutes: 60 });
    expect(dstTransition('2024-10-27', 'Europe/London')).toEqual({ ms: Date.parse('2024-10-27T01:00:00Z'), gapMinutes: -60 });
    expect(dstTransition('2024-03-11', LA)).toBeNull();
    expect(dstTransition('2024-03-10', 'UTC')).toBeNull();
  });
});

describe('Rng', () => {
  it('is reproducible per (seed, label) and spreads values', () => {
    const a = new Rng('seed', 'x');
    const b = new Rng('seed', 'x');
    const c = new Rng('seed', 'y');
    const sa = Array.from({ length: 20 }, () => a.nextU32());
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.nextU32())).not.toEqual(sa);
    const r = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[r.int(4)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(850);
    expect(() => r.int(0)).toThrow(/n >= 1/);
    expect(() => r.pick([])).toThrow(/empty/);
  });
});
