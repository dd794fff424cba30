import { Scheduler } from '../scheduler.js';
import { scheduledJobs } from '../schedule-jobs.js';
import { CliExit, EXIT, type Register } from './context.js';
import { appFor, gracefulShutdown } from './jobs-common.js';

/** `billing-mart schedule [--once]`: the long-lived scheduler (cron from config.schedule, UTC unless configured). */
export const register: Register = (program, ctx) => {
  program
    .command('schedule')
    .description('run the scheduler: billing windows every 4 h, OLTP daily, completeness daily; catches up missed windows after downtime; SIGTERM/SIGINT stop it gracefully')
    .option('--once', 'run what is due now (including catch-up) and exit — for cron or an orchestrator')
    .action(async (o: { once?: boolean }) => {
      const app = await appFor(ctx);
      const { deps, config } = app;
      const lock = await deps.locks.tryAcquire('scheduler', `scheduler pid ${process.pid}`);
      if (!lock) {
        const h = await deps.locks.holder('scheduler');
        throw new CliExit(EXIT.FAILED, `another scheduler is already running (pid ${h?.pid} on ${h?.host}); stop it first, or use it`);
      }
      const stop = gracefulShutdown((sig) => deps.log.warn('shutdown.requested', { signal: sig, note: 'finishing the current run, starting nothing new (send again to exit now)' }));
      const beatStop = new AbortController();
      const beat = lock.heartbeat(beatStop.signal).catch((e: unknown) => {
        deps.log.error('scheduler.lock_lost', { error: (e as Error).message });
      });
      try {
        const scheduler = new Scheduler({
          jobs: scheduledJobs(deps, config.schedule),
          clock: deps.clock,
          state: deps.state,
          catchUpHorizonHours: config.schedule.catchUpHorizonHours,
          log: deps.log,
        });
        if (o.once) {
          const n = await scheduler.tick(stop.signal);
          ctx.emit({ fires: n }, () => `ran ${n} due fire(s)`);
        } else await scheduler.run(stop.signal);
      } finally {
        stop.dispose();
        beatStop.abort();
        await beat;
        await lock.release();
      }
    });
};
