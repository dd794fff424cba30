import { describe, expect, it } from 'vitest';
import { planBilling, type FactEventRow } from '../../billing/assign.js';
import { calendarPeriod, changeTimeline, cycleId, dayOfMicros, periodAt, periodsBetween, type Timeline } from '../../billing/cycles.js';

const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
function ev(id: string, iso: string, extra: Partial<FactEventRow> = {}): FactEventRow {
  return { eventId: id, tsMicros: us(iso), billingSource: 'stripe', accountId: 'A', subscriptionId: 'S', currency: 'USD', amount: '1', mrrDelta: null, file: 'f', ...extra };
}

describe('billing periods (pure)', () => {
  it('calendar months and ISO weeks, across month and year ends', () => {
    expect(calendarPeriod('2024-02-29', 'monthly')).toEqual({ start: '2024-02-01', end: '2024-03-01' });
    expect(calendarPeriod('2024-12-31', 'monthly')).toEqual({ start: '2024-12-01', end: '2025-01-01' });
    expect(calendarPeriod('2024-01-07', 'weekly')).toEqual({ start: '2024-01-01', end: '2024-01-08' }); // Sunday
    expect(calendarPeriod('2024-01-01', 'weekly')).toEqual({ start: '2024-01-01', end: '2024-01-08' }); // Monday
    expect(calendarPeriod('2025-01-01', 'weekly')).toEqual({ start: '2024-12-30', end: '2025-01-06' });
    expect(() => calendarPeriod('2024-13-01', 'monthly')).toThrow(/"2024-13-01" is not a calendar day/);
  });

  it('periods are clipped at a change of logic: no overlap, no gap', () => {
    const t: Timeline = [
      { cycle: 'monthly', per: 'account', from: '2024-01-01' },
      { cycle: 'weekly', per: 'subscription', from: '2024-02-14' },
    ];
    expect(periodAt(t, '2023-12-31')).toBeUndefined();
    expect(periodAt(t, '2024-02-13')).toEqual({ cycle: 'monthly', per: 'account', start: '2024-02-01', end: '2024-02-14' });
    expect(periodAt(t, '2024-02-14')).toEqual({ cycle: 'weekly', per: 'subscription', start: '2024-02-14', end: '2024-02-19' });
    const ps = periodsBetween(t, '2024-01-01', '2024-03-01');
    expect(ps.map((p) => `${p.start}..${p.end}`)).toEqual(['2024-01-01..2024-02-01', '2024-02-01..2024-02-14', '2024-02-14..2024-02-19', '2024-02-19..2024-02-26']);
    for (let i = 1; i < ps.length; i++) expect(ps[i]!.start).toBe(ps[i - 1]!.end);
  });

  it('changeTimeline: first run, unchanged, change at the watermark, refusal before it, cancelling a future change', () => {
    const m = { cycle: 'monthly', per: 'account' } as const;
    const w = { cycle: 'weekly', per: 'account' } as const;
    expect(changeTimeline([], undefined, m, undefined, '2024-01-17')).toEqual({ timeline: [{ ...m, from: '2024-01-01' }], changed: true });
    expect(changeTimeline([], undefined, m, undefined, undefined).timeline).toEqual([]);
    const t1 = [{ ...m, from: '2024-01-01' }];
    expect(changeTimeline(t1, '2024-03-01', m, undefined, undefined)).toEqual({ timeline: t1, changed: false });
    expect(changeTimeline(t1, '2024-03-01', w, undefined, undefined).timeline).toEqual([...t1, { ...w, from: '2024-03-01' }]);
    expect(() => changeTimeline(t1, '2024-03-01', w, '2024-02-20', undefined)).toThrow(/cycles up to 2024-02-29 are already billed/);
    const t2 = [...t1, { ...w, from: '2024-03-15' }];
    expect(changeTimeline(t2, '2024-03-01', m, undefined, undefined)).toEqual({ timeline: t1, changed: true });
    expect(changeTimeline(t1, '2024-03-01', m, '2024-04-01', undefined).note).toMatch(/already monthly per account since 2024-01-01; --from 2024-04-01 ignored/);
  });

  it('dayOfMicros is UTC and exact at the last microsecond of a day', () => {
    expect(dayOfMicros(us('2024-01-31T00:00:00Z') + 86_400_000_000n - 1n)).toBe('2024-01-31');
    expect(dayOfMicros(-1n)).toBe('1969-12-31');
  });
});

describe('planBilling (pure)', () => {
  const t: Timeline = [{ cycle: 'weekly', per: 'account', from: '2024-01-01' }];
  it('on time, late (to the first closing period, pointing at the original), open and pending', () => {
    const p = planBilling({
      runId: 'r',
      timeline: t,
      watermark: '2024-01-08',
      endExclusive: '2024-01-15',
      events: [ev('a', '2024-01-09T00:00:00Z', { amount: '2.5' }), ev('b', '2024-01-02T00:00:00Z', { amount: '-1' }), ev('a', '2024-01-09T00:00:00Z'), ev('c', '2024-01-15T00:00:00Z')],
    });
    expect(p.watermarkAfter).toBe('2024-01-15');
    expect(p.records).toHaveLength(1);
    expect(p.records[0]).toMatchObject({ cycleId: 'weekly:account:stripe:A:2024-01-08..2024-01-15', eventCount: 2, amountSum: '1.500000000', lateEventCount: 1, lateAmountSum: '-1.000000000' });
    expect(p.assignments.find((a) => a.eventId === 'b')).toMatchObject({ late: true, originalCycleId: cycleId({ cycle: 'weekly', per: 'account', start: '2024-01-01', end: '2024-01-08' }, { billingSource: 'stripe', partyId: 'A' }) });
    expect(p.assignments.map((a) => a.eventId).sort()).toEqual(['a', 'b']); // duplicate 'a' once, 'c' still open

    const none = planBilling({ runId: 'r', timeline: t, watermark: '2024-01-08', endExclusive: '2024-01-10', events: [ev('b', '2024-01-02T00:00:00Z')] });
    expect(none).toMatchObject({ periods: [], records: [], latePending: 1, watermarkAfter: '2024-01-08' });
  });
});
