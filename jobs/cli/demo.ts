import path from 'node:path';
import { loadConfig } from '../../config/index.js';
import { openApp } from '../app.js';
import { systemClock } from '../clock.js';
import { demoLayout, formatTotals, formatMrr, mrrMovementsSql, prepareDemoDir, runDemo, totalsSql } from '../demo.js';
import { createLogger } from '../log.js';
import { progressReporter } from '../progress.js';
import { CliExit, EXIT, type GlobalOptions, type Register } from './context.js';
import { positiveInt } from './options.js';

interface Flags {
  dir: string;
  eventsPerDay: string;
  days: string;
  seed: string;
  lateSource: string;
  parallel: string;
  batchDays: string;
}

/** `billing-mart demo [--dir DIR]`: the README's main command. */
export const register: Register = (program, ctx) => {
  program
    .command('demo')
    .description('generate two weeks of sample data (4 billing systems + OLTP), backfill, compact, check completeness (a late day heals), print status, write an HTML report, query totals with DuckDB')
    .option('--dir <dir>', 'directory for the demo (landing zone, warehouse, report)', 'billing-mart-demo')
    .option('--events-per-day <n>', 'sample events per day over all sources (approximate)', '200')
    .option('--days <n>', 'days of data', '14')
    .option('--seed <s>', 'generator seed', 'demo')
    .option('--late-source <name>', 'the source whose last day arrives late', 'chargebee')
    .option('--parallel <n>', 'backfill runs at the same time', '2')
    .option('--batch-days <n>', "days of one source's windows loaded per backfill run (one commit each)", '7')
    .action(async (f: Flags) => {
      const started = Date.now();
      const layout = demoLayout(f.dir);
      const g = program.opts<GlobalOptions>();
      const config = loadConfig({ configFile: g.config, warehouse: layout.warehouse, landing: layout.landing });
      if (!config.sources.some((s) => s.name === f.lateSource)) throw new CliExit(EXIT.USAGE, `--late-source ${f.lateSource} is not a configured source (${config.sources.map((s) => s.name).join(', ')})`);
      prepareDemoDir(layout);
      const say = (l: string) => (ctx.json ? process.stderr : process.stdout).write(l + '\n');
      const log = createLogger({ format: config.log.format, clock: systemClock, sink: (l) => process.stderr.write(l + '\n'), minLevel: 'warn' });
      const { deps } = await openApp(config, { log });
      // A demo should fail fast, not back off for minutes: at most 2 attempts, 1 s apart.
      deps.settings.retry = { maxAttempts: 2, baseMs: 1000, maxMs: 1000 };
      const tty = Boolean(process.stderr.isTTY) && !ctx.json;
      const result = await runDemo({
        layout,
        deps,
        eventsPerDay: positiveInt('--events-per-day', f.eventsPerDay),
        days: positiveInt('--days', f.days),
        seed: f.seed,
        lateSource: f.lateSource,
        parallel: positiveInt('--parallel', f.parallel),
        batchDays: positiveInt('--batch-days', f.batchDays),
        progress: progressReporter({ tty, write: (s) => process.stderr.write(s), clock: systemClock, everyMs: 5000 }),
        say,
      });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      ctx.emit({ ...layout, factTable: deps.warehouse.factPath, from: result.from, to: result.to, seconds: Number(secs), complete: result.secondCheck.ok, totals: result.totals, mrr: result.mrr }, () =>
        [
          '',
          `Parquet fact table: ${deps.warehouse.factPath}  (Hive layout event_day=YYYY-MM-DD/*.parquet, event_date DATE in the files)`,
          `HTML report:        ${layout.report}`,
          `landing zone:       ${layout.landing}`,
          '',
          'DuckDB: totals per source',
          totalsSql(deps.warehouse.factPath)
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n'),
          '',
          formatTotals(result.totals),
          '',
          'DuckDB: MRR movements per source and month (from mrr_delta)',
          mrrMovementsSql(deps.warehouse.factPath)
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n'),
          '',
          formatMrr(result.mrr),
          '',
          `demo finished in ${secs}s — try: billing-mart --warehouse ${path.relative(process.cwd(), layout.warehouse) || '.'} --landing ${path.relative(process.cwd(), layout.landing) || '.'} status --from ${result.from} --to ${result.to}`,
        ].join('\n'),
      );
      if (!result.secondCheck.ok) throw new CliExit(EXIT.PROBLEM, 'the demo ended with days that are not complete (see above)');
    });
};
