/**
 * The scheduler pulls API sources every 4 hours like any other source: each billing fire pulls the window that
 * closed and loads it; after an outage the missed windows are pulled oldest first.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../jobs/scheduler.js';
import { scheduledJobs } from '../../jobs/schedule-jobs.js';
import { tempDirsPerTest } from '../jobs/helpers.js';
import { pullEnv, sec, standInPerTest, tableState } from './helpers.js';
import { stripeStore, stripeTruth } from './scale.js';

const dir = tempDirsPerTest('bm-api-sched-');
const standIns = standInPerTest();

describe('schedule with a pulled source', () => {
  it('every 4-hour fire pulls the window that closed; a catch-up after an outage pulls the missed ones oldest first', async () => {
    const standin = await standIns.start({ stripe: stripeStore({ fromSec: sec('2024-03-05T00:00:00Z'), toSec: sec('2024-03-05T23:59:59Z'), per: { charge: 90, refund: 12 } }) });
    const e = await pullEnv(dir(), standin, { now: '2024-03-06T00:00:30Z', pull: { stripe: { vendor: 'stripe', baseUrl: standin.url, objects: ['charge', 'refund'], pageSize: 25 } } });
    const schedule = { billing: '0 */4 * * *', oltp: '0 1 * * *', completeness: '30 6 * * *', timezone: 'UTC' };
    const s = new Scheduler({ jobs: scheduledJobs(e.app.deps, schedule), clock: e.clock, statePath: path.join(e.dir, 'scheduler.json'), catchUpHorizonHours: 24, log: e.app.deps.log });
    await s.tick(new AbortController().signal);
    const runs = (await e.app.deps.runs.list({ job: 'ingest' })).filter((r) => r.source === 'stripe');
    expect(runs.map((r) => r.window).sort()).toEqual(['00', '04', '08', '12', '16', '20'].map((h) => `2024-03-05T${h}:00Z/${h === '20' ? '2024-03-06T00' : `2024-03-05T${String(Number(h) + 4).padStart(2, '0')}`}:00Z`));
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    // each fire listed its own window (and the lookback): the last one asked for 20:00–24:00
    expect(standin.requests.some((r) => r.path === '/v1/charges' && r.query['created[gte]'] === String(sec('2024-03-05T20:00:00Z')))).toBe(true);
    const state = await tableState(e, 'stripe');
    const truth = stripeTruth(standin.stripe, ['charge', 'refund']);
    expect(state.eventIds.sort()).toEqual([...truth.eventIds].sort());
    expect(state.quarantined.sort()).toEqual([...truth.quarantined].sort());
  });
});
