/** `billing-mart re-enrich --from D --to D [--snapshot D]`: rewrite the dimension columns of loaded days (one commit). */
import { FactTable } from '../../warehouse/index.js';
import { CliExit, EXIT, type Register } from './context.js';
import { requireWarehouse } from './guards.js';
import { selectedDays } from './options.js';

const fmt = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ') || '(none)';

export const register: Register = (program, ctx) => {
  program
    .command('re-enrich')
    .description('rewrite the denormalised account/product columns and dim_status of a day range from the stored dimension snapshots (one commit; other columns unchanged; the old files stay for time travel)')
    .option('--date <day>', 'one UTC day')
    .option('--from <day>', 'first day of a range')
    .option('--to <day>', 'last day of a range (inclusive)')
    .option('--snapshot <day>', 'use this snapshot date for every day (default: per day, the newest snapshot dated on or before it, as at ingest)')
    .action(async (o: { date?: string; from?: string; to?: string; snapshot?: string }) => {
      const days = selectedDays(o);
      if (!days) throw new CliExit(EXIT.USAGE, 're-enrich needs --date D or --from D --to D (the days to rewrite)');
      const snapshot = o.snapshot === undefined ? undefined : selectedDays({ date: o.snapshot })![0];
      requireWarehouse(ctx);
      const c = ctx.config();
      const table = await FactTable.open(c.warehouse, { targetFileBytes: c.compaction.targetFileBytes, autoCompactFileCount: c.compaction.autoCompactFileCount });
      const r = await table.reenrich(days, { snapshot });
      ctx.emit(r, () =>
        [
          ...r.days.map((d) => `${d.day}: ${d.rows} rows from snapshot ${d.snapshot.account ?? '-'} (accounts) / ${d.snapshot.product ?? '-'} (products); dim_status ${fmt(d.dimStatusBefore)} → ${fmt(d.dimStatusAfter)}`),
          r.commitId ? `committed version ${r.version} (export --as-of before it still shows the old attributes)` : 'nothing to re-enrich: no loaded day in the range',
          r.empty.length ? `${r.empty.length} day(s) without data: ${r.empty.slice(0, 5).join(', ')}${r.empty.length > 5 ? ', …' : ''}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });
};
