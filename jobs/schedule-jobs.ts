/**
 * The scheduler's jobs: billing ingest of the window that closed at each fire (every source), the daily OLTP
 * snapshot, and the daily completeness check of the days the lookback can still change.
 */
import { addDays, dayOf, lastClosedWindow } from '../partitions/index.js';
import { checkCompleteness } from './checker.js';
import type { JobDeps } from './deps.js';
import { runIngest, runOltp } from './ingest.js';
import type { ScheduledJob } from './scheduler.js';

export interface ScheduleSettings {
  billing: string;
  oltp: string;
  completeness: string;
  timezone: string;
}

export function scheduledJobs(deps: JobDeps, s: ScheduleSettings): ScheduledJob[] {
  return [
    {
      name: 'billing',
      cron: s.billing,
      timezone: s.timezone,
      async run(fireMs, ctx) {
        const window = lastClosedWindow(fireMs + 1); // the window that closed at (or just before) the fire time
        let failed = 0;
        for (const source of deps.sourceNames) {
          if (ctx.signal.aborted) break;
          const r = await runIngest(deps, { source, window, trigger: ctx.trigger, signal: ctx.signal });
          if (r.status === 'failed') failed++;
        }
        if (failed) throw new Error(`${failed} of ${deps.sourceNames.length} source(s) failed for this window (see the run store); later windows still run`);
      },
    },
    {
      name: 'oltp',
      cron: s.oltp,
      timezone: s.timezone,
      async run(fireMs, ctx) {
        const r = await runOltp(deps, { trigger: ctx.trigger, snapshotDate: dayOf(fireMs) });
        if (r.status === 'failed') throw new Error(`OLTP snapshot failed: ${r.error}`);
      },
    },
    {
      name: 'completeness',
      cron: s.completeness,
      timezone: s.timezone,
      async run(fireMs, ctx) {
        const last = addDays(dayOf(fireMs), -1);
        const back = Math.max(0, Math.ceil(deps.settings.lookbackHours / 24));
        const days = Array.from({ length: back + 1 }, (_, i) => addDays(last, i - back));
        const out = await checkCompleteness(deps, { days, trigger: ctx.trigger, signal: ctx.signal });
        const bad = out.days.filter((d) => !d.complete).map((d) => d.day);
        if (bad.length) deps.log.warn('completeness.not_complete', { days: bad });
      },
    },
  ];
}
