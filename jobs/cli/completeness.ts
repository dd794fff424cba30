import { checkCompleteness, formatOutcome } from '../checker.js';
import { checkCommand } from './check.js';
import { CliExit, EXIT, type Register } from './context.js';
import { requireLanding, requireWarehouse, rerunCommand } from './guards.js';
import { appFor, gracefulShutdown, notInFuture, yesterday } from './jobs-common.js';
import { daysFrom, selectSources } from './options.js';

/** `billing-mart check completeness [--date D | --from D --to D] [--sources a,b] [--json] [--no-heal]`. */
export const register: Register = (program, ctx) => {
  checkCommand(program)
    .command('completeness')
    .description('compare each day × source with the control totals and loaded windows; self-heal, then report; _SUCCESS for complete days (exit 1 if any day is not complete)')
    .option('--date <day>', 'one UTC day (default: yesterday)')
    .option('--from <day>', 'first day of a range')
    .option('--to <day>', 'last day of a range (inclusive)')
    .option('--no-heal', 'report without re-ingesting incomplete days first')
    .option('--sources <list>', 'comma-separated sources to check (default: all configured; a subset writes no _SUCCESS)')
    .action(async (o: { date?: string; from?: string; to?: string; heal: boolean; sources?: string }) => {
      daysFrom(o, () => []); // usage errors first, then the paths
      const sources = selectSources(o.sources, ctx.config().sources.map((s) => s.name));
      requireWarehouse(ctx);
      requireLanding(ctx, sources);
      const app = await appFor(ctx, { minLevel: 'warn' });
      const days = notInFuture(daysFrom(o, () => [yesterday(app.deps.clock)]), app.deps.clock, o.date ? '--date' : '--to');
      const stop = gracefulShutdown(() => undefined);
      try {
        const out = await checkCompleteness(app.deps, { days, heal: o.heal, trigger: 'manual', signal: stop.signal, sources });
        ctx.emit(out, () => formatOutcome(out));
        if (!o.date && !o.from && !o.to) {
          // the default (yesterday) holds no rows but the table does: say where the data is (as status does)
          const held = await app.table.days();
          if (held.length && !days.some((d) => held.includes(d))) {
            const cmd = rerunCommand(ctx, { set: { '--from': held[0]!, '--to': held.at(-1)! } });
            ctx.info(`billing-mart: no rows on ${days.join(', ')} (the default: yesterday); your data is in ${held[0]} … ${held.at(-1)} (${held.length} day(s)): ${cmd}`);
          }
        }
        if (stop.signal.aborted) throw new CliExit(EXIT.INTERRUPTED, `interrupted by ${stop.received()}: the days above were checked; run the same command again for the rest`);
        if (!out.ok) throw new CliExit(EXIT.PROBLEM, '');
      } finally {
        stop.dispose();
      }
    });
};
