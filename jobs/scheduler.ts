/**
 * The scheduler core: cron expressions (croner) evaluated in UTC unless a job names a zone, catch-up of missed
 * fire times after downtime (oldest first, bounded by a horizon), and a loop that stops taking work when its
 * signal aborts. Croner computes instants in the job's zone: in a DST gap a fixed-time job runs once at the first
 * valid instant, in an overlap once — so a DST change never skips or doubles a run (tested).
 * The last fire time per job is persisted, so a restart knows what it missed.
 */
import path from 'node:path';
import type { Cron } from 'croner';
import { cronProblem, newCron } from '../config/cron.js';
import { ConfigError } from '../events/errors.js';
import type { Clock } from './clock.js';
import { isoUtc } from './clock.js';
import { StateArea } from '../warehouse/state-area.js';
import type { Logger } from './log.js';

export type FireTrigger = 'schedule' | 'catch-up';

export interface ScheduledJob {
  name: string;
  cron: string;
  /** IANA zone the cron expression is read in (default UTC). */
  timezone?: string;
  run(fireMs: number, ctx: { trigger: FireTrigger; signal: AbortSignal }): Promise<void>;
}

/** Compiles a job's expression the way configuration validated it (config/cron.ts); a bad one is a ConfigError. */
export function compileCron(expr: string, timezone = 'UTC'): Cron {
  const problem = cronProblem(expr, timezone);
  if (problem) throw new ConfigError(problem);
  return newCron(expr, timezone);
}

/** Fire instants in (afterMs, untilMs], ascending. */
export function fireTimesBetween(cron: Cron, afterMs: number, untilMs: number, limit = 100_000): number[] {
  const out: number[] = [];
  let prev = new Date(afterMs);
  for (;;) {
    const next = cron.nextRun(prev);
    if (!next || next.getTime() > untilMs) break;
    if (out.length && next.getTime() <= out[out.length - 1]!) throw new Error('cron iteration did not advance');
    out.push(next.getTime());
    if (out.length >= limit) break;
    prev = next;
  }
  return out;
}

/** The scheduler's key in the jobs' state area. */
export const SCHEDULER_STATE = 'scheduler.json';

export interface SchedulerState {
  lastFire: Record<string, number>;
}

export interface Fire {
  job: ScheduledJob;
  fireMs: number;
  trigger: FireTrigger;
}

/**
 * What is due at `nowMs`: every fire after the job's last fire (or, never run, after now − horizon), not older
 * than the horizon, oldest first across jobs. All but the latest fire of a job are catch-up.
 */
export function dueFires(jobs: ScheduledJob[], state: SchedulerState, nowMs: number, horizonMs: number): Fire[] {
  const out: Fire[] = [];
  for (const job of jobs) {
    const cron = compileCron(job.cron, job.timezone);
    const floor = nowMs - horizonMs;
    const after = Math.max(state.lastFire[job.name] ?? floor - 1, floor - 1);
    const times = fireTimesBetween(cron, after, nowMs);
    times.forEach((t, i) => out.push({ job, fireMs: t, trigger: i === times.length - 1 && nowMs - t < 60_000 ? 'schedule' : 'catch-up' }));
  }
  return out.sort((a, b) => a.fireMs - b.fireMs || a.job.name.localeCompare(b.job.name));
}

export function nextFireAfter(jobs: ScheduledJob[], nowMs: number): number | undefined {
  let best: number | undefined;
  for (const job of jobs) {
    const n = compileCron(job.cron, job.timezone).nextRun(new Date(nowMs))?.getTime();
    if (n !== undefined && (best === undefined || n < best)) best = n;
  }
  return best;
}

export interface SchedulerOptions {
  jobs: ScheduledJob[];
  clock: Clock;
  /** The jobs' state area: SchedulerState is its `scheduler.json`. */
  state?: StateArea;
  /** Or a local file holding SchedulerState (tests). */
  statePath?: string;
  catchUpHorizonHours: number;
  log: Logger;
}

export class Scheduler {
  private readonly area: StateArea;
  private readonly key: string;
  constructor(private readonly o: SchedulerOptions) {
    for (const j of o.jobs) compileCron(j.cron, j.timezone); // fail fast on a bad expression
    if (!o.state && !o.statePath) throw new Error('Scheduler needs a state area or a statePath');
    this.area = o.state ?? StateArea.open(path.dirname(o.statePath!));
    this.key = o.state ? SCHEDULER_STATE : path.basename(o.statePath!);
  }

  async state(): Promise<SchedulerState> {
    return (await this.area.readJson<SchedulerState>(this.key)) ?? { lastFire: {} };
  }

  /** Runs everything due now, oldest first; a failing fire is logged and the next ones still run. Returns fires run. */
  async tick(signal: AbortSignal): Promise<number> {
    const state = await this.state();
    const fires = dueFires(this.o.jobs, state, this.o.clock.now(), this.o.catchUpHorizonHours * 3_600_000);
    let ran = 0;
    for (const f of fires) {
      if (signal.aborted) break;
      const log = this.o.log.child({ job: f.job.name, fire: isoUtc(f.fireMs), trigger: f.trigger });
      log.info('fire.start');
      try {
        await f.job.run(f.fireMs, { trigger: f.trigger, signal });
        log.info('fire.done');
      } catch (e) {
        log.error('fire.failed', { error: (e as Error)?.message ?? String(e) });
      }
      ran++;
      state.lastFire[f.job.name] = f.fireMs;
      await this.area.writeDurable(this.key, JSON.stringify(state, null, 2) + '\n');
    }
    return ran;
  }

  /** The long-lived loop: tick, sleep until the next fire, repeat until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.o.log.info('scheduler.start', { jobs: this.o.jobs.map((j) => `${j.name}@${j.cron}${j.timezone && j.timezone !== 'UTC' ? ' ' + j.timezone : ''}`) });
    while (!signal.aborted) {
      await this.tick(signal);
      if (signal.aborted) break;
      const next = nextFireAfter(this.o.jobs, this.o.clock.now());
      if (next === undefined) break;
      this.o.log.debug('scheduler.sleep', { until: isoUtc(next) });
      await this.o.clock.sleep(next - this.o.clock.now(), signal);
    }
    this.o.log.info('scheduler.stop', { reason: signal.aborted ? 'signal' : 'no more fires' });
  }
}
