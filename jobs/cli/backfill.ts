import { formatPlan, formatSummary, planBackfill, runBackfill } from '../backfill.js';
import { progressReporter } from '../progress.js';
import { CliExit, EXIT, type Register } from './context.js';
import { noteNewWarehouse, requireLanding, rerunCommand } from './guards.js';
import { appFor, gracefulShutdown } from './jobs-common.js';
import { dayPair, positiveInt, selectSources } from './options.js';

interface Flags {
  from: string;
  to: string;
  sources?: string;
  parallel: string;
  batchDays: string;
  dryRun?: boolean;
  force?: boolean;
}

/** `billing-mart backfill --from D --to D [--sources a,b] [--parallel N] [--dry-run] [--force]`. */
export const register: Register = (program, ctx) => {
  program
    .command('backfill')
    .description('load every 4-hour window of a day range (resumable: windows already loaded are skipped unless --force)')
    .requiredOption('--from <day>', 'first UTC day, YYYY-MM-DD')
    .requiredOption('--to <day>', 'last UTC day, YYYY-MM-DD (inclusive)')
    .option('--sources <list>', 'comma-separated sources (default: all configured)')
    .option('--parallel <n>', 'windows loaded at the same time', '2')
    .option('--batch-days <n>', "days of one source's windows loaded per run (one commit each); larger = fewer, bigger commits", '1')
    .option('--dry-run', 'print the plan and stop')
    .option('--force', 're-run windows already loaded (idempotent: nothing is duplicated)')
    .action(async (f: Flags) => {
      const { from, to } = dayPair(f);
      const parallel = positiveInt('--parallel', f.parallel);
      const batchDays = positiveInt('--batch-days', f.batchDays);
      const app = await appFor(ctx, { minLevel: ctx.json || ctx.config().log.format === 'json' ? 'info' : 'warn' });
      const { deps } = app;
      const sources = selectSources(f.sources, deps.sourceNames) ?? deps.sourceNames;
      requireLanding(ctx, sources);
      if (!f.dryRun) noteNewWarehouse(ctx);
      const loaded = new Map<string, Set<string>>();
      for (const s of sources) loaded.set(s, await deps.warehouse.loadedWindows(s));
      const plan = planBackfill({ from, to, sources, loaded, force: Boolean(f.force), nowMs: deps.clock.now() });
      if (f.dryRun) {
        ctx.emit({ plan: plan.map((p) => ({ source: p.source, window: p.key, action: p.action, reason: p.reason ?? null })) }, () => formatPlan(plan));
        return;
      }
      const stop = gracefulShutdown((sig) => process.stderr.write(`\nbilling-mart: ${sig}: finishing the windows in progress, starting no new ones (send again to stop now)\n`));
      try {
        const tty = Boolean(process.stderr.isTTY) && !ctx.json;
        const progress = ctx.json ? undefined : progressReporter({ tty, write: (s) => process.stderr.write(s), clock: deps.clock, everyMs: 2000 });
        const summary = await runBackfill(deps, plan, { parallel, force: Boolean(f.force), signal: stop.signal, progress, group: batchDays });
        const rerun = rerunCommand(ctx, { drop: ['--force'] });
        ctx.emit({ ...summary, rerun }, () => formatSummary(summary, rerun, stop.received()));
        if (summary.interrupted) throw new CliExit(EXIT.INTERRUPTED, '');
        // a backfill that found no files or unrecognised ones is not a success (a typo in --landing looks like this)
        if (summary.failed.length || summary.warnings.length) throw new CliExit(EXIT.PROBLEM, '');
      } finally {
        stop.dispose();
      }
    });
};
