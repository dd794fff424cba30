import { describe, expect, it } from 'vitest';
import { parseWindow, windowKey, windowsOfDay } from '../../partitions/index.js';
import { checkCompleteness, formatOutcome, latestResults, readHistory } from '../../jobs/checker.js';
import { compareDay } from '../../jobs/completeness.js';
import { runIngest } from '../../jobs/ingest.js';
import { ev, harness, type Harness } from './fakes.js';
import { tempDirsPerTest } from './helpers.js';
import type { BillingEvent } from '../../events/model.js';

const dir = tempDirsPerTest();
const DAY = '2024-01-03';
const allWindows = new Set(windowsOfDay(DAY).map(windowKey));

describe('compareDay', () => {
  const control = { source: 'zuora', date: DAY, totals: [
    { event_type: 'INVOICE_POSTED', currency: 'USD', rows: 3, amount_sum: '100.000000001' },
    { event_type: 'REFUND_PROCESSED', currency: 'usd', rows: 1, amount_sum: '-5.5' },
  ] };
  const manifest = [
    { billing_source: 'zuora', event_type: 'INVOICE_POSTED', currency: 'USD', rows: 2, amount_sum: '60.000000001' },
    { billing_source: 'zuora', event_type: 'REFUND_PROCESSED', currency: 'USD', rows: 1, amount_sum: '-5.500000000' },
    { billing_source: 'stripe', event_type: 'INVOICE_POSTED', currency: 'USD', rows: 9, amount_sum: '1' },
  ];
  const after = Date.parse('2024-01-05T00:00:00Z');

  it('is COMPLETE when totals match exactly and every window is loaded', () => {
    const r = compareDay({ source: 'zuora', day: DAY, manifest: [...manifest.slice(1), { ...manifest[0]!, rows: 3, amount_sum: '100.000000001' }], control, loadedWindows: allWindows, nowMs: after, graceHours: 6 });
    expect(r).toMatchObject({ status: 'COMPLETE', diffs: [], missingWindows: [], rows: 4 });
  });

  it('is INCOMPLETE with the exact missing rows and amount per event type', () => {
    const r = compareDay({ source: 'zuora', day: DAY, manifest, control, loadedWindows: allWindows, nowMs: after, graceHours: 6 });
    expect(r.status).toBe('INCOMPLETE');
    expect(r.diffs).toEqual([{ event_type: 'INVOICE_POSTED', currency: 'USD', expectedRows: 3, actualRows: 2, missingRows: 1, expectedAmount: '100.000000001', actualAmount: '60.000000001', missingAmount: '40.000000000' }]);
  });

  it('flags windows that were not loaded even when totals match', () => {
    const some = new Set([...allWindows].slice(0, 5));
    const r = compareDay({ source: 'zuora', day: DAY, manifest: [], control: { ...control, totals: [] }, loadedWindows: some, nowMs: after, graceHours: 6 });
    expect(r.status).toBe('INCOMPLETE');
    expect(r.missingWindows).toEqual(['2024-01-03T20:00Z/2024-01-04T00:00Z']);
  });

  it('is LATE within the grace period and MISSING_CONTROL after it when the source has not reported', () => {
    const inGrace = Date.parse('2024-01-04T05:59:00Z');
    expect(compareDay({ source: 'zuora', day: DAY, manifest, control, loadedWindows: allWindows, nowMs: inGrace, graceHours: 6 }).status).toBe('LATE');
    expect(compareDay({ source: 'zuora', day: DAY, manifest, control: null, loadedWindows: allWindows, nowMs: inGrace, graceHours: 6 }).status).toBe('LATE');
    expect(compareDay({ source: 'zuora', day: DAY, manifest, control: null, loadedWindows: allWindows, nowMs: Date.parse('2024-01-04T06:00:00Z'), graceHours: 6 }).status).toBe('MISSING_CONTROL');
  });
});

/** Six windows of zuora files for DAY; the 16:00 file is held back (arrives late). */
function setup(h: Harness): { all: BillingEvent[]; late: BillingEvent[] } {
  const all: BillingEvent[] = [];
  let late: BillingEvent[] = [];
  for (const hh of ['00', '04', '08', '12', '16', '20']) {
    const es = [ev('zuora', `inv-${hh}`, `${DAY}T${hh}:30:00Z`, '19.99'), ev('zuora', `ref-${hh}`, `${DAY}T${hh}:45:00Z`, '-0.01', { type: 'REFUND_PROCESSED' })];
    all.push(...es);
    if (hh === '16') late = es;
    else h.landing.deliver('zuora', `${DAY}T${hh}:00:00Z`, { name: 'invoice.csv', events: es });
  }
  h.landing.control('zuora', DAY, all);
  return { all, late };
}

async function loadDay(h: Harness) {
  for (const w of windowsOfDay(DAY)) expect((await runIngest(h.deps, { source: 'zuora', window: w, trigger: 'backfill' })).status).toBe('succeeded');
}

describe('checkCompleteness', () => {
  it('--sources checks only the sources named: complete for them is reported but writes no _SUCCESS; a failing one withdraws it', async () => {
    const h = harness(dir(), { sources: ['zuora', 'stripe'], now: '2024-01-04T12:00:00Z' });
    const { late } = setup(h);
    h.landing.deliver('zuora', `${DAY}T16:00:00Z`, { name: 'invoice.csv', events: late });
    await loadDay(h);
    // stripe has nothing for the day (MISSING_CONTROL); zuora alone is complete
    const zuora = await checkCompleteness(h.deps, { days: [DAY], trigger: 'manual', sources: ['zuora'] });
    expect(zuora).toMatchObject({ ok: true, sources: ['zuora'], days: [{ day: DAY, complete: true, success: 'none' }] });
    expect(zuora.days[0]!.results.map((r) => `${r.source}:${r.status}`)).toEqual(['zuora:COMPLETE']);
    expect(h.wh.success.has(DAY)).toBe(false);
    expect(formatOutcome(zuora)).toContain(`${DAY}  COMPLETE for zuora  (no _SUCCESS: it needs every source checked, not only --sources)`);
    const all = await checkCompleteness(h.deps, { days: [DAY], trigger: 'manual', heal: false });
    expect(all.sources).toBeUndefined();
    expect(all.days[0]!.results.map((r) => `${r.source}:${r.status}`)).toEqual(['zuora:COMPLETE', 'stripe:MISSING_CONTROL']);
    expect(all.ok).toBe(false);
    // a marker in place (written by a full check) is kept by a passing subset and withdrawn by a failing one
    h.wh.success.set(DAY, { day: DAY });
    expect((await checkCompleteness(h.deps, { days: [DAY], trigger: 'manual', sources: ['zuora'] })).days[0]!.success).toBe('kept');
    const stripe = await checkCompleteness(h.deps, { days: [DAY], trigger: 'manual', heal: false, sources: ['stripe'] });
    expect(stripe).toMatchObject({ ok: false, sources: ['stripe'], days: [{ complete: false, success: 'withdrawn' }] });
    expect(h.wh.success.has(DAY)).toBe(false);
  });

  it('a day that is INCOMPLETE heals, becomes COMPLETE and gets _SUCCESS; late data withdraws it; history is kept', async () => {
    const h = harness(dir(), { sources: ['zuora'], now: '2024-01-04T12:00:00Z' });
    const { all, late } = setup(h);
    await loadDay(h);

    // First check with self-heal off: the missing file makes the day INCOMPLETE with exact numbers.
    const first = await checkCompleteness(h.deps, { days: [DAY], heal: false, trigger: 'manual' });
    expect(first.ok).toBe(false);
    expect(first.days[0]!.results[0]!.diffs).toEqual([
      { event_type: 'INVOICE_POSTED', currency: 'USD', expectedRows: 6, actualRows: 5, missingRows: 1, expectedAmount: '119.940000000', actualAmount: '99.950000000', missingAmount: '19.990000000' },
      { event_type: 'REFUND_PROCESSED', currency: 'USD', expectedRows: 6, actualRows: 5, missingRows: 1, expectedAmount: '-0.060000000', actualAmount: '-0.050000000', missingAmount: '-0.010000000' },
    ]);
    expect(h.wh.success.has(DAY)).toBe(false);
    expect(formatOutcome(first)).toMatch(/INVOICE_POSTED USD: expected 6 rows \/ 119.940000000, table has 5 \/ 99.950000000 → missing 1 rows \/ 19.990000000/);

    // The late file lands in its window's folder; the next check self-heals before reporting.
    h.landing.deliver('zuora', `${DAY}T16:00:00Z`, { name: 'invoice.csv', events: late });
    const second = await checkCompleteness(h.deps, { days: [DAY], trigger: 'schedule' });
    const r = second.days[0]!.results[0]!;
    expect(r).toMatchObject({ status: 'COMPLETE', beforeHeal: 'INCOMPLETE', rows: 12 });
    expect(r.healRuns!.length).toBe(1); // one run over the day's 6 windows + the 3 closed windows of the next day
    expect((await h.deps.runs.get(r.healRuns![0]!))).toMatchObject({ trigger: 'heal', window: '2024-01-03T00:00Z/2024-01-04T12:00Z', status: 'succeeded', rowsWritten: 2 });
    expect(second).toMatchObject({ ok: true, days: [{ day: DAY, complete: true, success: 'written' }] });
    expect(h.wh.success.get(DAY)).toMatchObject({ day: DAY, sources: { zuora: { rows: 12, totals: [
      { event_type: 'INVOICE_POSTED', currency: 'USD', rows: 6, amount_sum: '119.940000000' },
      { event_type: 'REFUND_PROCESSED', currency: 'USD', rows: 6, amount_sum: '-0.060000000' },
    ] } } });
    expect(formatOutcome(second)).toMatch(/was INCOMPLETE; self-heal re-ingested the day \(run /);
    // issue 14: a heal that completes the day is routine (info), never a WARN; only one that did not help warns
    const logged = h.log.lines.map((l) => JSON.parse(l) as { level: string; event: string });
    expect(logged.filter((l) => l.event === 'completeness.heal').map((l) => l.level)).toEqual(['info']);
    expect(logged.filter((l) => l.level === 'warn' && l.event.startsWith('completeness.'))).toEqual([]);

    // Checking again changes nothing.
    expect((await checkCompleteness(h.deps, { days: [DAY], trigger: 'schedule' })).days[0]!.success).toBe('kept');

    // Late data after _SUCCESS: an ingest that writes into the day withdraws the marker...
    const extra = ev('zuora', 'inv-extra', `${DAY}T23:59:59Z`, '1.00');
    h.landing.deliver('zuora', `${DAY}T20:00:00Z`, { name: 'invoice-late.csv', events: [extra] });
    const rec = await runIngest(h.deps, { source: 'zuora', window: parseWindow('2024-01-04T08:00Z/2024-01-04T12:00Z'), trigger: 'schedule' });
    expect(rec.note).toBe(`withdrew _SUCCESS of ${DAY}`);
    expect(h.wh.success.has(DAY)).toBe(false);
    // ...and the day is checked again: the source now reports the extra row, so it verifies and is re-marked.
    h.landing.control('zuora', DAY, [...all, extra]);
    const third = await checkCompleteness(h.deps, { days: [DAY], trigger: 'schedule' });
    expect(third.days[0]).toMatchObject({ complete: true, success: 'written' });
    expect((h.wh.success.get(DAY) as { sources: { zuora: { rows: number } } }).sources.zuora.rows).toBe(13);

    const history = await readHistory(h.deps);
    expect(history.map((x) => x.status)).toEqual(['INCOMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect((await latestResults(h.deps, [DAY])).get(`zuora|${DAY}`)?.checkId).toBe(third.checkId);
    expect((await h.deps.runs.list({ job: 'completeness' })).map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  it('stays INCOMPLETE when the heal cannot find the data, withdraws an old _SUCCESS, and says what to do', async () => {
    const h = harness(dir(), { sources: ['zuora'], now: '2024-01-04T12:00:00Z' });
    setup(h);
    await loadDay(h);
    h.wh.success.set(DAY, { day: DAY, sources: {} });
    const out = await checkCompleteness(h.deps, { days: [DAY], trigger: 'manual' });
    expect(out.ok).toBe(false);
    expect(out.days[0]).toMatchObject({ complete: false, success: 'withdrawn', results: [{ status: 'INCOMPLETE', beforeHeal: 'INCOMPLETE' }] });
    expect(h.wh.success.has(DAY)).toBe(false);
    expect(formatOutcome(out)).toMatch(/INCOMPLETE \/ NOT_ARRIVED \/ UNUSUAL_VOLUME survived a self-heal/);
  });

  it('does not heal or mark a day that is only LATE, and needs every source COMPLETE for _SUCCESS', async () => {
    const h = harness(dir(), { sources: ['zuora', 'stripe'], now: '2024-01-04T03:00:00Z' });
    setup(h);
    await loadDay(h);
    const out = await checkCompleteness(h.deps, { days: [DAY], trigger: 'schedule' });
    expect(out.days[0]!.results.map((r) => [r.source, r.status, r.beforeHeal])).toEqual([['zuora', 'LATE', undefined], ['stripe', 'LATE', undefined]]);
    expect(out.days[0]!.success).toBe('none');
    expect(h.landing.reads).toBe(6);
  });
});

describe('completeness levels', () => {
  const after = Date.parse('2024-01-05T00:00:00Z');
  const none = { proof: 'none' as const, origin: null, arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 } };
  const delivered = windowsOfDay(DAY).map((w) => ({ window: windowKey(w), delivered: true, folders: [`acme/${DAY}/x`] }));
  const manifest = [{ billing_source: 'acme', event_type: 'INVOICE_POSTED', currency: 'USD', rows: 100, amount_sum: '1' }];
  const base = { source: 'acme', day: DAY, manifest, control: null, loadedWindows: allWindows, nowMs: after, graceHours: 6, completeness: none };

  it('without a control, a day delivered, loaded and of usual volume is ARRIVED — never COMPLETE', () => {
    const r = compareDay({ ...base, evidence: { deliveries: delivered, history: [90, 120, 80] } });
    expect(r).toMatchObject({ status: 'ARRIVED', level: 'ARRIVED', proof: 'none', volume: { rows: 100, low: 40, high: 180, judged: true, ok: true } });
    expect(r.detail).toMatch(/not reconciled \(no control declared\)/);
  });

  it('a window without its delivery marker is NOT_ARRIVED; a volume outside the trailing range is UNUSUAL_VOLUME', () => {
    const unmarked = delivered.map((d, i) => (i === 2 ? { ...d, delivered: false, reason: 'no marker' } : d));
    expect(compareDay({ ...base, evidence: { deliveries: unmarked, history: [100, 100, 100] } })).toMatchObject({ status: 'NOT_ARRIVED', level: 'NONE', undeliveredWindows: [windowKey(windowsOfDay(DAY)[2]!)] });
    const low = compareDay({ ...base, evidence: { deliveries: delivered, history: [250, 300, 400] } });
    expect(low).toMatchObject({ status: 'UNUSUAL_VOLUME', level: 'NONE' });
    expect(low.detail).toBe('100 rows is outside the usual 125–600 of the last 3 days');
    expect(compareDay({ ...base, evidence: { deliveries: delivered, history: [250, 300, 400] }, nowMs: Date.parse('2024-01-04T05:00:00Z') }).status).toBe('LATE');
  });

  it('with too little history the volume is not judged, and says so', () => {
    const r = compareDay({ ...base, evidence: { deliveries: delivered, history: [5000] } });
    expect(r).toMatchObject({ status: 'ARRIVED', volume: { judged: false, historyDays: 1 } });
    expect(r.detail).toMatch(/volume not judged \(1 trailing day\(s\) of history\)/);
  });

  it('compares derived MRR_CHANGED rows only when the control speaks of them, and only the event types a recount vouches for', () => {
    const table = [
      { billing_source: 'acme', event_type: 'INVOICE_POSTED', currency: 'USD', rows: 2, amount_sum: '3' },
      { billing_source: 'acme', event_type: 'MRR_CHANGED', currency: 'USD', rows: 5, amount_sum: '0' },
      { billing_source: 'acme', event_type: 'INVOICE_PAID', currency: 'USD', rows: 1, amount_sum: '3' },
    ];
    const export_ = { ...none, proof: 'export' as const };
    const invoices = { source: 'acme', date: DAY, totals: [{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 2, amount_sum: '3' }, { event_type: 'INVOICE_PAID', currency: 'USD', rows: 1, amount_sum: '3' }] };
    expect(compareDay({ ...base, manifest: table, completeness: export_, control: invoices }).status).toBe('COMPLETE');
    const withMrr = { ...invoices, totals: [...invoices.totals, { event_type: 'MRR_CHANGED', currency: 'USD', rows: 4, amount_sum: '0' }] };
    expect(compareDay({ ...base, manifest: table, completeness: export_, control: withMrr }).diffs.map((d) => [d.event_type, d.missingRows])).toEqual([['MRR_CHANGED', -1]]);
    const recount = { source: 'acme', date: DAY, eventTypes: ['INVOICE_POSTED'], totals: [invoices.totals[0]!] };
    expect(compareDay({ ...base, manifest: table, completeness: { ...none, proof: 'recount' }, control: recount }).status).toBe('COMPLETE');
    expect(compareDay({ ...base, manifest: table, completeness: { ...none, proof: 'recount' }, control: { ...recount, totals: [] } }).status).toBe('INCOMPLETE');
  });

  it('a declared control that is missing stays MISSING_CONTROL, and reports how far the day got', () => {
    const r = compareDay({ ...base, completeness: { ...none, proof: 'export', origin: 'acme/_control/<day>.json' }, evidence: { deliveries: delivered, history: [100, 100, 100] } });
    expect(r).toMatchObject({ status: 'MISSING_CONTROL', level: 'ARRIVED' });
    expect(r.detail).toMatch(/the control export: acme\/_control\/<day>\.json\); the day has ARRIVED/);
  });
});

describe('checkCompleteness with levels', () => {
  /** `days` consecutive days of stripe, 6 windows each, `perWindow` invoices per window (override per day). */
  function stripeDays(h: Harness, days: string[], perWindow: (day: string) => number) {
    for (const day of days) {
      for (const hh of ['00', '04', '08', '12', '16', '20']) {
        const es = Array.from({ length: perWindow(day) }, (_, i) => ev('stripe', `in-${day}-${hh}-${i}`, `${day}T${hh}:0${i % 10}:00Z`, '1.00'));
        h.landing.deliver('stripe', `${day}T${hh}:00:00Z`, { name: 'invoice.csv', events: es });
      }
    }
  }
  const days = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'];

  it('a source with control: none gets ARRIVED days and _SUCCESS saying level ARRIVED; a volume drop is not marked', async () => {
    const h = harness(dir(), { sources: ['stripe'], now: '2024-01-07T00:00:00Z' });
    h.landing.proofs.set('stripe', { proof: 'none', origin: null, arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 } });
    stripeDays(h, days, (d) => (d === '2024-01-05' ? 1 : 3));
    for (const d of days) for (const w of windowsOfDay(d)) expect((await runIngest(h.deps, { source: 'stripe', window: w, trigger: 'backfill', lookbackHours: 0 })).status).toBe('succeeded');
    const out = await checkCompleteness(h.deps, { days, trigger: 'manual' });
    expect(out.days.map((d) => [d.day, d.results[0]!.status, d.level, d.success])).toEqual([
      ['2024-01-01', 'ARRIVED', 'ARRIVED', 'written'],
      ['2024-01-02', 'ARRIVED', 'ARRIVED', 'written'],
      ['2024-01-03', 'ARRIVED', 'ARRIVED', 'written'],
      ['2024-01-04', 'ARRIVED', 'ARRIVED', 'written'],
      ['2024-01-05', 'UNUSUAL_VOLUME', 'NONE', 'none'],
    ]);
    expect(out.days[3]!.results[0]!.volume).toMatchObject({ judged: true, historyDays: 3, low: 9, high: 27 });
    expect(h.wh.success.get('2024-01-04')).toMatchObject({ level: 'ARRIVED', sources: { stripe: { level: 'ARRIVED', proof: 'none', rows: 18 } } });
    expect(out.days[4]!.results[0]!.beforeHeal).toBe('UNUSUAL_VOLUME'); // a heal was tried first
    expect(formatOutcome(out)).toMatch(/2024-01-01 {2}ARRIVED \(not reconciled with the source's numbers\) {2}\(_SUCCESS written\)/);

    // An unmarked window is not delivered: the day is not ARRIVED and loses its marker.
    h.landing.unmarked.add(`stripe|${Date.parse('2024-01-04T08:00:00Z')}`);
    const again = await checkCompleteness(h.deps, { days: ['2024-01-04'], trigger: 'manual' });
    expect(again.days[0]).toMatchObject({ complete: false, success: 'withdrawn', results: [{ status: 'NOT_ARRIVED', undeliveredWindows: ['2024-01-04T08:00Z/2024-01-04T12:00Z'] }] });
  });

  it('a day is COMPLETE only when every source was reconciled; with one source only ARRIVED the day says ARRIVED', async () => {
    const h = harness(dir(), { sources: ['zuora', 'stripe'], now: '2024-01-07T00:00:00Z' });
    h.landing.proofs.set('stripe', { proof: 'none', origin: null, arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 } });
    const { all } = setup(h);
    h.landing.deliver('zuora', `${DAY}T16:00:00Z`, { name: 'invoice.csv', events: all.filter((e) => e.sourceRecordId.endsWith('-16')) });
    stripeDays(h, [DAY], () => 2);
    for (const s of ['zuora', 'stripe']) for (const w of windowsOfDay(DAY)) await runIngest(h.deps, { source: s, window: w, trigger: 'backfill', lookbackHours: 0 });
    const out = await checkCompleteness(h.deps, { days: [DAY], trigger: 'manual' });
    expect(out.days[0]).toMatchObject({ complete: true, level: 'ARRIVED', success: 'written' });
    expect(out.days[0]!.results.map((r) => [r.source, r.status, r.level])).toEqual([['zuora', 'COMPLETE', 'COMPLETE'], ['stripe', 'ARRIVED', 'ARRIVED']]);
    expect(h.wh.success.get(DAY)).toMatchObject({ level: 'ARRIVED', sources: { zuora: { level: 'COMPLETE', proof: 'export' }, stripe: { level: 'ARRIVED', proof: 'none' } } });
  });
});
