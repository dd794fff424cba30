import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../jobs/clock.js';
import { memoryLogger } from '../../jobs/log.js';
import { compileCron, dueFires, fireTimesBetween, Scheduler, type ScheduledJob } from '../../jobs/scheduler.js';
import { tempDir, until } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const at = (s: string) => Date.parse(s);

function recorder(name: string, cron: string, opts: { timezone?: string; failAt?: Set<string> } = {}) {
  const runs: { fire: string; trigger: string }[] = [];
  const job: ScheduledJob = {
    name,
    cron,
    timezone: opts.timezone,
    async run(fireMs, ctx) {
      runs.push({ fire: iso(fireMs), trigger: ctx.trigger });
      if (opts.failAt?.has(iso(fireMs))) throw new Error(`window at ${iso(fireMs)} failed after retries`);
    },
  };
  return { job, runs };
}

describe('cron evaluation', () => {
  it('runs billing every 4 hours in UTC', () => {
    const c = compileCron('0 */4 * * *');
    expect(fireTimesBetween(c, at('2024-03-09T00:00:00Z'), at('2024-03-10T00:00:00Z')).map(iso)).toEqual([
      '2024-03-09T04:00:00Z', '2024-03-09T08:00:00Z', '2024-03-09T12:00:00Z', '2024-03-09T16:00:00Z', '2024-03-09T20:00:00Z', '2024-03-10T00:00:00Z',
    ]);
  });

  it('never skips a run in a spring-forward gap nor doubles one in a fall-back overlap', () => {
    const spring = compileCron('30 2 * * *', 'America/New_York'); // 02:30 does not exist on 2024-03-10
    expect(fireTimesBetween(spring, at('2024-03-09T00:00:00Z'), at('2024-03-12T00:00:00Z')).map(iso)).toEqual([
      '2024-03-09T07:30:00Z', '2024-03-10T07:00:00Z', '2024-03-11T06:30:00Z',
    ]);
    const fall = compileCron('30 1 * * *', 'America/New_York'); // 01:30 happens twice on 2024-11-03
    expect(fireTimesBetween(fall, at('2024-11-02T00:00:00Z'), at('2024-11-05T00:00:00Z')).map(iso)).toEqual([
      '2024-11-02T05:30:00Z', '2024-11-03T05:30:00Z', '2024-11-04T06:30:00Z',
    ]);
  });

  it('rejects a bad expression with a clear message', () => {
    expect(() => compileCron('0 */4 * *x *')).toThrow(/invalid cron expression "0 \*\/4 \* \*x \*"/);
  });
});

describe('catch-up', () => {
  it('after an outage runs the missed fires oldest first, bounded by the horizon', () => {
    const billing = recorder('billing', '0 */4 * * *').job;
    const daily = recorder('oltp', '0 1 * * *').job;
    const state = { lastFire: { billing: at('2024-01-03T08:00:00Z'), oltp: at('2024-01-03T01:00:00Z') } };
    const now = at('2024-01-04T04:00:20Z');
    const all = dueFires([billing, daily], state, now, 72 * 3_600_000);
    expect(all.map((f) => `${f.job.name}@${iso(f.fireMs)}:${f.trigger}`)).toEqual([
      'billing@2024-01-03T12:00:00Z:catch-up',
      'billing@2024-01-03T16:00:00Z:catch-up',
      'billing@2024-01-03T20:00:00Z:catch-up',
      'billing@2024-01-04T00:00:00Z:catch-up',
      'oltp@2024-01-04T01:00:00Z:catch-up',
      'billing@2024-01-04T04:00:00Z:schedule',
    ]);
    const bounded = dueFires([billing], state, now, 10 * 3_600_000);
    expect(bounded.map((f) => iso(f.fireMs))).toEqual(['2024-01-03T20:00:00Z', '2024-01-04T00:00:00Z', '2024-01-04T04:00:00Z']);
  });

  it('a scheduler restarted after downtime catches up, a failure does not stop later windows, and nothing runs twice', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const clock = new ManualClock('2024-01-03T08:00:00Z');
    const log = memoryLogger(clock);
    const { job, runs } = recorder('billing', '0 */4 * * *', { failAt: new Set(['2024-01-03T16:00:00Z']) });
    const statePath = path.join(t.dir, 'scheduler.json');
    const mk = () => new Scheduler({ jobs: [job], clock, statePath, catchUpHorizonHours: 24, log });
    const ac = new AbortController();
    // First life: state says 04:00 ran; at 08:00 the 08:00 fire is due.
    await mk().tick(ac.signal); // never ran: catches up the whole horizon
    runs.length = 0;
    // Outage: the process is down from 08:00 to 00:00:30 the next day.
    await clock.set(at('2024-01-04T00:00:30Z'));
    expect(await mk().tick(ac.signal)).toBe(4);
    expect(runs).toEqual([
      { fire: '2024-01-03T12:00:00Z', trigger: 'catch-up' },
      { fire: '2024-01-03T16:00:00Z', trigger: 'catch-up' },
      { fire: '2024-01-03T20:00:00Z', trigger: 'catch-up' },
      { fire: '2024-01-04T00:00:00Z', trigger: 'schedule' },
    ]);
    expect(log.lines.some((l) => l.includes('"event":"fire.failed"') && l.includes('2024-01-03T16:00:00Z failed after retries'))).toBe(true);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).lastFire.billing).toBe(at('2024-01-04T00:00:00Z'));
    expect(await mk().tick(ac.signal)).toBe(0);
  });
});

describe('the loop', () => {
  it('sleeps until the next fire on the injected clock and stops on abort', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const clock = new ManualClock('2024-01-03T03:59:00Z');
    const log = memoryLogger(clock);
    const { job, runs } = recorder('billing', '0 */4 * * *');
    const s = new Scheduler({ jobs: [job], clock, statePath: path.join(t.dir, 's.json'), catchUpHorizonHours: 0, log });
    const ac = new AbortController();
    const loop = s.run(ac.signal);
    await until(() => clock.pending > 0, 'the loop to sleep');
    expect(runs).toEqual([]);
    expect(clock.pending).toBe(1);
    await clock.set(at('2024-01-03T04:00:00Z'));
    await until(() => runs.length > 0 && clock.pending > 0, 'the fire and the next sleep');
    expect(runs).toEqual([{ fire: '2024-01-03T04:00:00Z', trigger: 'schedule' }]);
    ac.abort();
    await loop;
    expect(log.lines.at(-1)).toContain('"event":"scheduler.stop"');
    expect(runs).toHaveLength(1);
  });
});
