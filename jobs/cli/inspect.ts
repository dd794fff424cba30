/** `trace ID`, `runs list` / `runs show ID`, `check freshness`: read-only inspection commands. */
import { ConfigError } from '../../events/errors.js';
import { FactTable } from '../../warehouse/index.js';
import { formatFreshness, formatTrace, freshnessOf, trace } from '../inspect.js';
import type { RunRecord, RunStatus } from '../runstore.js';
import { describeRun } from './ingest.js';
import { checkCommand } from './check.js';
import { CliExit, EXIT, type Register } from './context.js';
import { requireWarehouse } from './guards.js';
import { appFor } from './jobs-common.js';
import { day, parseAsOf, positiveInt, selectSources } from './options.js';

const STATUSES: RunStatus[] = ['running', 'succeeded', 'failed', 'skipped', 'abandoned'];

function runLine(r: RunRecord): string {
  const q = Object.values(r.quarantined).reduce((a, b) => a + b, 0);
  return `${r.startedAt}  ${r.status.padEnd(9)} ${r.job.padEnd(12)} ${(r.source ?? '').padEnd(10)} ${(r.window ?? '').padEnd(35)} ${r.trigger.padEnd(8)} rows ${r.rowsWritten}${q ? `, ${q} quarantined` : ''}  ${r.runId}${r.error ? `\n      error: ${r.error}` : ''}`;
}

export const register: Register = (program, ctx) => {
  program
    .command('trace')
    .argument('<id>', 'a source record id, invoice id, subscription id, account id or event_id')
    .description('every event, quarantine entry and billing assignment of an id, with lineage (landing file:line, run, commit)')
    .option('--as-of <timestamp>', 'the table as committed at this instant (ISO 8601 with zone, or a day = its UTC end)')
    .option('--from <day>', 'only fact days from this one (bounds the scan)')
    .option('--to <day>', 'only fact days up to this one')
    .action(async (id: string, o: { asOf?: string; from?: string; to?: string }) => {
      const asOfMs = o.asOf === undefined ? undefined : parseAsOf(o.asOf);
      const from = o.from === undefined ? undefined : day('--from', o.from);
      const to = o.to === undefined ? undefined : day('--to', o.to);
      requireWarehouse(ctx);
      const table = await FactTable.open(ctx.config().warehouse);
      const t = await trace(table, id, { asOfMs, from, to });
      ctx.emit(t, () => formatTrace(t));
      if (!t.events.length && !t.quarantine.length) throw new CliExit(EXIT.PROBLEM, '');
    });

  const runs = program.command('runs').description('the run store: every ingest, OLTP, completeness and backfill run with its outcome');
  runs
    .command('list')
    .description('recent runs, newest last (default: the last 20)')
    .option('--last <n>', 'how many', '20')
    .option('--from <day>', 'runs concerning days from this one (with --to)')
    .option('--to <day>', 'runs concerning days up to this one')
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--source <name>', 'only this source')
    .option('--job <job>', 'only this job (ingest, oltp, completeness, …)')
    .action(async (o: { last: string; from?: string; to?: string; status?: string; source?: string; job?: string }) => {
      const n = positiveInt('--last', o.last);
      if (o.status && !STATUSES.includes(o.status as RunStatus)) throw new ConfigError(`--status "${o.status}" is not a run status: ${STATUSES.join(', ')}`);
      if ((o.from === undefined) !== (o.to === undefined)) throw new ConfigError('--from and --to go together');
      requireWarehouse(ctx);
      const { deps } = await appFor(ctx, { minLevel: 'warn' });
      const all = o.from ? await deps.runs.list({ days: { from: day('--from', o.from), to: day('--to', o.to!) } }) : await deps.runs.recent(Math.max(n * 5, 200));
      const picked = all.filter((r) => (!o.status || r.status === o.status) && (!o.source || r.source === o.source) && (!o.job || r.job === o.job)).slice(-n);
      ctx.emit(picked, () => (picked.length ? picked.map(runLine).join('\n') : 'no runs match'));
    });
  runs
    .command('show')
    .argument('<runId>', 'a run id (as printed by runs list, status, backfill)')
    .description('one run in full: files read, rows, quarantined per reason, commit, error')
    .action(async (runId: string) => {
      requireWarehouse(ctx);
      const { deps } = await appFor(ctx, { minLevel: 'warn' });
      const r = await deps.runs.get(runId);
      if (!r) throw new CliExit(EXIT.USAGE, `no run ${runId} in the run store`, ['billing-mart runs list shows the recent ones']);
      ctx.emit(r, () => [describeRun(r), `  trigger ${r.trigger}, started ${r.startedAt}, ended ${r.endedAt ?? '(running)'}, pid ${r.pid} on ${r.host}`, ...r.files.slice(0, 50).map((f) => `  read ${f}`), r.files.length > 50 ? `  … ${r.files.length - 50} more files (--json lists them)` : ''].filter(Boolean).join('\n'));
    });

  checkCommand(program)
    .command('freshness')
    .description('age of each source\'s last loaded window against freshness.warnHours / errorHours (per-source overrides in config); exit 1 on an error, like dbt source freshness')
    .option('--sources <list>', 'comma-separated sources (default: all configured)')
    .action(async (o: { sources?: string }) => {
      requireWarehouse(ctx);
      const { deps, config } = await appFor(ctx, { minLevel: 'warn' });
      const sources = selectSources(o.sources, deps.sourceNames) ?? deps.sourceNames;
      const loaded = new Map<string, Set<string>>();
      for (const s of sources) loaded.set(s, await deps.warehouse.loadedWindows(s));
      const out = freshnessOf(sources, loaded, deps.clock.now(), config.freshness);
      const ok = out.every((r) => r.level !== 'ERROR');
      ctx.emit({ ok, sources: out }, () => formatFreshness(out));
      if (!ok) throw new CliExit(EXIT.PROBLEM, '');
    });
};
