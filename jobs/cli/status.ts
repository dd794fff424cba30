import path from 'node:path';
import { writeFileDurable } from '../../events/io.js';
import { addDays, dayOf } from '../../partitions/index.js';
import type { App } from '../app.js';
import { collectDiagnostics } from '../diagnose.js';
import { renderReport } from '../report.js';
import { collectStatus, formatStatusGrid, problemSummary, statusProblems, type StatusData } from '../status.js';
import { CliExit, EXIT, type CliContext, type Register } from './context.js';
import { requireWarehouse, rerunCommand } from './guards.js';
import { appFor } from './jobs-common.js';
import { daysFrom, selectSources } from './options.js';

interface RangeFlags {
  from?: string;
  to?: string;
  sources?: string;
}

function range(o: RangeFlags, nowMs: number): { from: string; to: string; defaulted: boolean } {
  const days = daysFrom(o, () => [addDays(dayOf(nowMs), -13), dayOf(nowMs)]);
  return { from: days[0]!, to: days.at(-1)!, defaulted: !o.from && !o.to };
}


/** Collects the status; when the default range holds no rows but the table does, says where the data is. */
async function gather(ctx: CliContext, o: RangeFlags): Promise<{ data: StatusData; hint: string | null; app: App }> {
  requireWarehouse(ctx);
  const app = await appFor(ctx, { minLevel: 'warn' });
  const { deps, table } = app;
  const r = range(o, deps.clock.now());
  const data = await collectStatus(deps, { from: r.from, to: r.to, sources: selectSources(o.sources, deps.sourceNames) });
  let hint: string | null = null;
  if (data.days.every((d) => d.rows === 0)) {
    const days = await table.days();
    if (days.length) {
      const cmd = rerunCommand(ctx, { set: { '--from': days[0]!, '--to': days.at(-1)! } });
      hint = `no rows in ${r.from} … ${r.to}${r.defaulted ? ' (the default: the last 14 days)' : ''}; your data is in ${days[0]} … ${days.at(-1)} (${days.length} day(s)): ${cmd}`;
    }
  }
  return { data, hint, app };
}

/** The global flags as typed (for commands printed in the report). */
function globalPrefix(ctx: CliContext): string[] {
  const g = ctx.globals();
  return [...(g.config ? ['--config', g.config] : []), ...(g.warehouse ? ['--warehouse', g.warehouse] : []), ...(g.landing ? ['--landing', g.landing] : [])];
}

const rangeOptions = (c: import('commander').Command) =>
  c
    .option('--from <day>', 'first day (default: 13 days ago)')
    .option('--to <day>', 'last day (default: today, UTC)')
    .option('--sources <list>', 'comma-separated sources (default: all configured)');

/** `billing-mart status [--from D --to D] [--sources a,b]` and `billing-mart report --out report.html [...]`. */
export const register: Register = (program, ctx) => {
  rangeOptions(
    program
      .command('status')
      .description('days × sources grid: completeness, windows loaded, rows, files, quarantined; freshness; recent failed runs (exit 1 when a source-day is INCOMPLETE, NOT_ARRIVED, UNUSUAL_VOLUME or MISSING_CONTROL, or a failed run is unresolved)'),
  ).action(async (o: RangeFlags) => {
    const { data, hint } = await gather(ctx, o);
    const problems = statusProblems(data);
    ctx.emit({ ...data, problems, hint }, () => formatStatusGrid(data) + (hint ? `\n\n${hint}` : ''));
    if (problems.cells || problems.failedRuns) {
      ctx.info(`billing-mart status: ${problemSummary(problems)}`); // stderr, text mode only: --json has it as "problems"
      throw new CliExit(EXIT.PROBLEM, '');
    }
  });

  rangeOptions(
    program
      .command('report')
      .description('write the status as a self-contained HTML page (calendar heatmap per source, rows per day, run history)')
      .requiredOption('--out <file>', 'HTML file to write, e.g. report.html'),
  ).action(async (o: RangeFlags & { out: string }) => {
    const { data, hint, app } = await gather(ctx, o);
    const out = path.resolve(o.out);
    const diag = await collectDiagnostics(app.deps, app.table, data, { prefix: globalPrefix(ctx), landing: app.config.landing, freshness: app.config.freshness });
    await writeFileDurable(out, renderReport(data, diag));
    if (hint) ctx.info(`billing-mart: ${hint}`);
    ctx.emit({ report: out, hint }, () => `report written to ${out}`);
  });
};
