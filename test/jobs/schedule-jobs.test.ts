import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RetriableError } from '../../events/errors.js';
import { Scheduler } from '../../jobs/scheduler.js';
import { scheduledJobs } from '../../jobs/schedule-jobs.js';
import { ev, harness } from './fakes.js';
import { tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
const SCHEDULE = { billing: '0 */4 * * *', oltp: '0 1 * * *', completeness: '30 6 * * *', timezone: 'UTC' };

describe('scheduled jobs', () => {
  it('after an outage, catch-up loads every missed window of every source oldest first; a failing window does not block the next', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const h = harness(t.dir, { sources: ['zuora', 'stripe'], now: '2024-01-03T00:00:10Z' });
    for (const hh of ['00', '04', '08', '12', '16', '20']) {
      for (const s of ['zuora', 'stripe']) h.landing.deliver(s, `2024-01-02T${hh}:00:00Z`, { name: 'invoice.csv', events: [ev(s, `${s}-${hh}`, `2024-01-02T${hh}:10:00Z`, '1.00')] });
    }
    h.landing.control('zuora', '2024-01-02', [...h.landing.folders.entries()].filter(([k]) => k.startsWith('zuora|')).flatMap(([, f]) => f.flatMap((x) => x.events)));
    // stripe's commit fails for good once (3 attempts) — the 12:00 window, say
    let commits = 0;
    const orig = h.wh.commitIngest.bind(h.wh);
    h.wh.commitIngest = async (req) => {
      commits++;
      if (req.source === 'stripe' && req.windows[0]!.startMs === Date.parse('2024-01-02T12:00:00Z')) {
        for await (const _ of req.events) void _;
        throw new RetriableError('disk quota exceeded');
      }
      return orig(req);
    };
    const s = new Scheduler({ jobs: scheduledJobs(h.deps, SCHEDULE), clock: h.clock, statePath: path.join(t.dir, 'scheduler.json'), catchUpHorizonHours: 24, log: h.log });
    const fires = await s.tick(new AbortController().signal);
    expect(fires).toBe(8); // six billing fires (04:00 … 00:00), the 01:00 OLTP fire and the 06:30 completeness fire
    const runs = (await h.deps.runs.list({ job: 'ingest' })).sort((a, b) => a.window!.localeCompare(b.window!)); // same-instant starts: order by window
    expect(runs.filter((r) => r.source === 'zuora').map((r) => [r.window?.slice(11, 16), r.status, r.trigger])).toEqual([
      ['00:00', 'succeeded', 'catch-up'], ['04:00', 'succeeded', 'catch-up'], ['08:00', 'succeeded', 'catch-up'],
      ['12:00', 'succeeded', 'catch-up'], ['16:00', 'succeeded', 'catch-up'], ['20:00', 'succeeded', 'schedule'],
    ]);
    expect(runs.filter((r) => r.source === 'stripe').map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded', 'succeeded']);
    expect(h.wh.count('zuora')).toBe(6);
    expect(h.wh.count('stripe')).toBe(6); // the failed window's file was picked up by the next window's lookback
    expect(h.log.lines.some((l) => l.includes('"event":"fire.failed"') && l.includes('1 of 2 source(s) failed for this window'))).toBe(true);
    expect((await h.deps.runs.list({ job: 'oltp' })).map((r) => r.window)).toEqual(['2024-01-02']);
    expect(commits).toBe(14);
  });

  it('the completeness fire checks yesterday and the days the lookback can still change', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const h = harness(t.dir, { sources: ['zuora'], now: '2024-01-05T06:30:00Z' });
    const job = scheduledJobs(h.deps, SCHEDULE).find((j) => j.name === 'completeness')!;
    await job.run(Date.parse('2024-01-05T06:30:00Z'), { trigger: 'schedule', signal: new AbortController().signal });
    const [check] = await h.deps.runs.list({ job: 'completeness' });
    expect(check!.window).toBe('2024-01-03/2024-01-04');
  });
});
