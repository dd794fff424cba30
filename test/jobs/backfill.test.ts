import { describe, expect, it } from 'vitest';
import { RetriableError } from '../../events/errors.js';
import { formatPlan, formatSummary, planBackfill, runBackfill, unitsOf } from '../../jobs/backfill.js';
import { ManualClock } from '../../jobs/clock.js';
import { formatBar, formatDuration, formatLinePlain, progressReporter } from '../../jobs/progress.js';
import type { CommitRequest } from '../../jobs/ports.js';
import { ev, harness, type Harness } from './fakes.js';
import { tempDirsPerTest } from './helpers.js';

const dir = tempDirsPerTest();

/** One file per (source, window) with two events, for 2024-01-01..02. */
function fill(h: Harness) {
  let n = 0;
  for (const source of ['zuora', 'stripe']) {
    for (const day of ['2024-01-01', '2024-01-02']) {
      for (const hh of ['00', '04', '08', '12', '16', '20']) {
        const t = `${day}T${hh}:00:00Z`;
        const at = (m: number) => new Date(Date.parse(t) + m * 60_000).toISOString();
        h.landing.deliver(source, t, { name: 'invoice.csv', events: [ev(source, `r${n++}`, at(10), '1.10'), ev(source, `r${n++}`, at(20), '2.20')] });
      }
    }
  }
}

async function plan(h: Harness, force = false) {
  const loaded = new Map<string, Set<string>>();
  for (const s of h.deps.sourceNames) loaded.set(s, await h.wh.loadedWindows(s));
  return planBackfill({ from: '2024-01-01', to: '2024-01-02', sources: h.deps.sourceNames, loaded, force, nowMs: h.clock.now() });
}

describe('backfill planning', () => {
  it('plans every closed window of the range oldest first, and prints the plan', () => {
    const p = planBackfill({ from: '2024-01-01', to: '2024-01-01', sources: ['a', 'b'], loaded: new Map([['a', new Set(['2024-01-01T00:00Z/2024-01-01T04:00Z'])]]), force: false, nowMs: Date.parse('2024-01-01T12:30:00Z') });
    expect(p.map((i) => `${i.action}:${i.source}:${i.key.slice(11, 13)}`)).toEqual(['skip:a:00', 'run:b:00', 'run:a:04', 'run:b:04', 'run:a:08', 'run:b:08']);
    expect(formatPlan(p)).toContain('SKIP  a            2024-01-01T00:00Z/2024-01-01T04:00Z  (already loaded)');
    expect(formatPlan(p)).toMatch(/plan: 6 windows, 5 to run, 1 to skip$/);
    const forced = planBackfill({ from: '2024-01-01', to: '2024-01-01', sources: ['a'], loaded: new Map([['a', new Set(['2024-01-01T00:00Z/2024-01-01T04:00Z'])]]), force: true, nowMs: Date.parse('2024-01-02T00:00:00Z') });
    expect(forced.filter((i) => i.action === 'run')).toHaveLength(6);
    expect(forced[0]!.reason).toBe('forced');
  });

  it('rejects a reversed range', () => {
    expect(() => planBackfill({ from: '2024-01-05', to: '2024-01-01', sources: ['a'], loaded: new Map(), force: false, nowMs: 0 })).toThrow(/ends before it starts/);
  });
});

describe('backfill execution', () => {
  it('runs with bounded parallelism and summarises', async () => {
    const h = harness(dir());
    fill(h);
    let inFlight = 0;
    let peak = 0;
    let started = 0;
    let waiting: (() => void)[] = [];
    const orig = h.wh.commitIngest.bind(h.wh);
    h.wh.commitIngest = async (req: CommitRequest) => {
      inFlight++;
      started++;
      peak = Math.max(peak, inFlight);
      // hold every commit until 3 are in flight (or the last ones started): proves 3 run at once, never 4
      await new Promise<void>((r) => {
        waiting.push(r);
        if (inFlight === 3 || started === 24) {
          waiting.forEach((w) => w());
          waiting = [];
        }
      });
      try {
        return await orig(req);
      } finally {
        inFlight--;
      }
    };
    const lines: string[] = [];
    const s = await runBackfill(h.deps, await plan(h), { parallel: 3, force: false, group: 'window', progress: progressReporter({ tty: false, write: (l) => lines.push(l), clock: h.clock }) });
    expect(s).toMatchObject({ planned: 24, succeeded: 24, skipped: 0, failed: [], rowsWritten: 48, interrupted: false });
    expect(peak).toBe(3);
    expect(lines.at(-1)).toMatch(/^progress done=24 total=24 pct=100 rows=48 rows_per_s=\d+ eta_s=0 failed=0\n$/);
    expect(formatSummary(s, 'billing-mart backfill …')).toContain('24 planned, 24 loaded, 0 skipped (already loaded), 0 failed');
  });

  it('interrupted part-way, then started again, skips what was loaded and finishes; the table holds each row once', async () => {
    const h = harness(dir());
    fill(h);
    const ac = new AbortController();
    const first = await runBackfill(h.deps, await plan(h), {
      parallel: 2,
      force: false,
      signal: ac.signal,
      progress: { update: (p) => void (p.done >= 7 && ac.abort()), finish() {} },
    });
    expect(first.interrupted).toBe(true);
    expect(first.succeeded).toBeGreaterThanOrEqual(7);
    expect(first.notRun).toBe(24 - first.run);
    expect(formatSummary(first, 'billing-mart backfill --from 2024-01-01 --to 2024-01-02')).toMatch(/INTERRUPTED[\s\S]*run the same command again — `billing-mart backfill --from 2024-01-01 --to 2024-01-02`/);
    const loadedAfterFirst = h.wh.count();

    const second = await plan(h);
    expect(second.filter((i) => i.action === 'skip')).toHaveLength(first.succeeded);
    const s2 = await runBackfill(h.deps, second, { parallel: 2, force: false });
    expect(s2.succeeded).toBe(24 - first.succeeded);
    expect(s2.skipped).toBe(first.succeeded);
    expect(h.wh.count()).toBe(48);
    expect(loadedAfterFirst).toBe(first.succeeded * 2);

    // --force re-runs everything: idempotent, no new rows, no duplicates written.
    const s3 = await runBackfill(h.deps, await plan(h, true), { parallel: 4, force: true });
    expect(s3).toMatchObject({ succeeded: 24, rowsWritten: 0 });
    expect(h.wh.count()).toBe(48);
  });

  it('a failing window is reported with what to do, and the other windows still load', async () => {
    const h = harness(dir(), { failRead: () => undefined });
    fill(h);
    let calls = 0;
    const orig = h.wh.commitIngest.bind(h.wh);
    h.wh.commitIngest = async (req: CommitRequest) => {
      calls++;
      if (req.source === 'stripe' && req.windows[0]!.startMs === Date.parse('2024-01-02T08:00:00Z')) {
        for await (const _ of req.events) void _;
        throw new RetriableError('warehouse volume read-only');
      }
      return orig(req);
    };
    const s = await runBackfill(h.deps, await plan(h), { parallel: 2, force: false, group: 'window' });
    expect(s.failed).toEqual([expect.objectContaining({ source: 'stripe', window: '2024-01-02T08:00Z/2024-01-02T12:00Z', error: expect.stringMatching(/failed after 3 attempts: warehouse volume read-only/) })]);
    expect(s.succeeded).toBe(23);
    expect(calls).toBe(26);
    expect(formatSummary(s, 'billing-mart backfill')).toMatch(/FAILED stripe 2024-01-02T08:00Z\/2024-01-02T12:00Z[\s\S]*next: fix the cause above/);
  });
});

describe('day grouping', () => {
  it("loads a source's contiguous windows of a day in one run that takes every window's lock and marks each loaded", async () => {
    const h = harness(dir());
    fill(h);
    const p = planBackfill({ from: '2024-01-01', to: '2024-01-02', sources: ['zuora', 'stripe'], loaded: new Map([['zuora', new Set(['2024-01-01T08:00Z/2024-01-01T12:00Z'])]]), force: false, nowMs: h.clock.now() });
    const units = unitsOf(p, 'day');
    expect(units.map((u) => `${u.source} ${u.covers.map((w) => new Date(w.startMs).toISOString().slice(5, 13)).join(',')}`)).toEqual([
      'zuora 01-01T00,01-01T04',
      'zuora 01-01T12,01-01T16,01-01T20',
      'stripe 01-01T00,01-01T04,01-01T08,01-01T12,01-01T16,01-01T20',
      'zuora 01-02T00,01-02T04,01-02T08,01-02T12,01-02T16,01-02T20',
      'stripe 01-02T00,01-02T04,01-02T08,01-02T12,01-02T16,01-02T20',
    ]);
    expect(unitsOf(p, 2).map((u) => `${u.source} ${u.covers.length}`)).toEqual(['zuora 2', 'zuora 9', 'stripe 12']); // 2-day batches
    const s = await runBackfill(h.deps, p, { parallel: 2, force: false });
    expect(s).toMatchObject({ planned: 24, succeeded: 23, skipped: 1, failedWindows: 0 });
    expect(h.wh.commits).toHaveLength(5);
    expect(h.wh.count()).toBe(46); // the window marked loaded beforehand was skipped, its file not read
    expect((await h.wh.loadedWindows('stripe')).size).toBe(12);
    const runs = await h.deps.runs.list({ source: 'stripe' });
    expect(runs.map((r) => r.window)).toContain('2024-01-01T00:00Z/2024-01-02T00:00Z');
  });
});

describe('progress formatting', () => {
  it('shows done/total, rows/s and ETA from the injected clock', () => {
    const p = { done: 12, total: 48, rows: 6000, failed: 1, startedMs: 0 };
    expect(formatBar(p, 20_000, 8)).toBe('[##······] 12/48 25%  300 rows/s  ETA 1m00s  1 failed');
    expect(formatLinePlain(p, 20_000)).toBe('progress done=12 total=48 pct=25 rows=6000 rows_per_s=300 eta_s=60 failed=1');
    expect([0, 59_000, 61_000, 3_600_000, 90_061_000].map(formatDuration)).toEqual(['0s', '59s', '1m01s', '1h00m', '1d01h']);
    const out: string[] = [];
    const tty = progressReporter({ tty: true, write: (s) => out.push(s), clock: new ManualClock(20_000) });
    tty.update(p);
    tty.finish({ ...p, done: 48 });
    expect(out[0]).toMatch(/^\r\[#+·+\] 12\/48/);
    expect(out[1]).toMatch(/48\/48 100%.*ETA 0s.*\n$/);
  });
});

describe('a backfill that finds no files (issue 14 item 1, issue 15 item 7)', () => {
  it('says so, marks nothing loaded, and the corrected rerun loads every window', async () => {
    const h = harness(dir());
    // a typo in --landing: the landing zone the run looks at is empty
    const first = await runBackfill(h.deps, await plan(h), { parallel: 1, force: false });
    expect(first.succeeded).toBe(0);
    expect(first.noFiles).toBe(24);
    expect(first.warnings).toHaveLength(4); // one run per (source, day)
    expect(first.warnings[0]!.warnings[0]).toMatch(/no data files in|no delivery folder/);
    expect(formatSummary(first, 'billing-mart backfill …')).toMatch(/24 found no files \(not marked loaded\)[\s\S]*4 run\(s\) loaded nothing useful/);
    expect((await h.wh.loadedWindows('zuora')).size).toBe(0);
    expect(h.wh.commits).toHaveLength(0);

    fill(h); // the right landing zone
    const again = await plan(h);
    expect(again.filter((p) => p.action === 'run')).toHaveLength(24);
    const second = await runBackfill(h.deps, again, { parallel: 1, force: false });
    expect(second).toMatchObject({ succeeded: 24, noFiles: 0, warnings: [], rowsWritten: 48 });
  });
});
