import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { addDays, dayOf } from '../../partitions/index.js';
import { renderReport } from '../report.js';
import { collectStatus, formatStatusGrid } from '../status.js';
import type { Register } from './context.js';
import { appFor, daysFrom } from './jobs-common.js';

function range(o: { from?: string; to?: string }, nowMs: number): { from: string; to: string } {
  const days = daysFrom(o, () => [addDays(dayOf(nowMs), -13), dayOf(nowMs)]);
  return { from: days[0]!, to: days.at(-1)! };
}

/** `billing-mart status [--from D --to D]` and `billing-mart report --out report.html [--from D --to D]`. */
export const register: Register = (program, ctx) => {
  program
    .command('status')
    .description('days × sources grid: completeness, windows loaded, rows, files, quarantined; freshness; recent failed runs')
    .option('--from <day>', 'first day (default: 13 days ago)')
    .option('--to <day>', 'last day (default: today, UTC)')
    .action(async (o: { from?: string; to?: string }) => {
      const { deps } = await appFor(ctx, { minLevel: 'warn' });
      const data = await collectStatus(deps, range(o, deps.clock.now()));
      ctx.emit(data, () => formatStatusGrid(data));
    });

  program
    .command('report')
    .description('write the status as a self-contained HTML page (calendar heatmap per source, rows per day, run history)')
    .requiredOption('--out <file>', 'HTML file to write, e.g. report.html')
    .option('--from <day>', 'first day (default: 13 days ago)')
    .option('--to <day>', 'last day (default: today, UTC)')
    .action(async (o: { out: string; from?: string; to?: string }) => {
      const { deps } = await appFor(ctx, { minLevel: 'warn' });
      const data = await collectStatus(deps, range(o, deps.clock.now()));
      const out = path.resolve(o.out);
      await writeFile(out, renderReport(data));
      ctx.emit({ report: out }, () => `report written to ${out}`);
    });
};
