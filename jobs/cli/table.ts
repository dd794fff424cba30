/**
 * Warehouse commands: `compact`, `export` (time travel), `table info`, `table history`.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FACT_TABLE, FactTable, TABLES } from '../../warehouse/index.js';
import { CliExit, EXIT, type CliContext, type Register } from './context.js';
import { requireWarehouse } from './guards.js';
import { dayPair, parseAsOf, positiveInt, selectedDays } from './options.js';

async function openTable(ctx: CliContext): Promise<FactTable> {
  requireWarehouse(ctx);
  const c = ctx.config();
  return FactTable.open(c.warehouse, { targetFileBytes: c.compaction.targetFileBytes, autoCompactFileCount: c.compaction.autoCompactFileCount });
}


const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export const register: Register = (program, ctx) => {
  program
    .command('compact')
    .description('rewrite day partitions into sorted target-size files (one commit; rows and totals verified; no-op when compact)')
    .option('--date <day>', 'one UTC day, YYYY-MM-DD')
    .option('--from <day>', 'first day of a range')
    .option('--to <day>', 'last day of a range')
    .action(async (o: { date?: string; from?: string; to?: string }) => {
      const days = selectedDays(o);
      const table = await openTable(ctx);
      const res = await table.compact(days);
      ctx.emit(res, () =>
        [
          ...res.compacted.map((c) => `${c.day}: ${c.filesBefore} → ${c.filesAfter} files, ${c.rows} rows, ${mib(c.bytesBefore)} → ${mib(c.bytesAfter)}`),
          res.compacted.length ? `committed version ${res.version}` : 'nothing to compact',
          res.unchanged.length ? `${res.unchanged.length} day(s) already compact` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });

  program
    .command('export')
    .description('export a table exactly as it was at a moment (time travel): the fact table for a day range (default), or --table quarantine|billing_records|billing_assignments|mrr_state; same table state → byte-identical CSV')
    .option('--table <name>', `table to export: ${[...TABLES.keys()].join(', ')}`, FACT_TABLE)
    .option('--from <day>', 'first UTC day (fact_billing_event and quarantine: required)')
    .option('--to <day>', 'last UTC day (fact_billing_event and quarantine: required)')
    .option('--as-of <timestamp>', 'table as committed at this instant (ISO 8601 with zone, or a day = its UTC end); default now')
    .requiredOption('--format <format>', 'csv or parquet')
    .requiredOption('--out <path>', 'output file, or - for standard output')
    .action(async (o: { table: string; from?: string; to?: string; asOf?: string; format: string; out: string }) => {
      if (o.format !== 'csv' && o.format !== 'parquet') throw new CliExit(EXIT.USAGE, `--format "${o.format}" is not supported: use csv or parquet`);
      const def = TABLES.get(o.table);
      if (!def) throw new CliExit(EXIT.USAGE, `--table "${o.table}" is not a table: use one of ${[...TABLES.keys()].join(', ')}`);
      const byDay = def.partitionKey === 'event_date' || def.partitionKey === 'ingest_date';
      if (byDay && (o.from === undefined || o.to === undefined)) throw new CliExit(EXIT.USAGE, `--from and --to are required to export ${def.name} (e.g. --from 2024-01-01 --to 2024-01-31)`);
      if (!byDay && (o.from !== undefined || o.to !== undefined)) throw new CliExit(EXIT.USAGE, `${def.name} is not partitioned by day: leave out --from/--to (the whole table is exported, as of --as-of)`);
      const { from, to } = o.from !== undefined && o.to !== undefined ? dayPair({ from: o.from, to: o.to }) : { from: undefined, to: undefined };
      const asOfMs = o.asOf === undefined ? undefined : parseAsOf(o.asOf);
      const range = from !== undefined ? `${from}..${to}, ` : '';
      const table = await openTable(ctx);
      if (o.out === '-') {
        // `--out -` is standard output: export to a private temp file, stream it, report on stderr.
        const dir = await mkdtemp(path.join(tmpdir(), 'billing-mart-export-'));
        try {
          const res = await table.export({ table: def.name, from, to, asOfMs, format: o.format, out: path.join(dir, `export.${o.format}`) });
          await pipeline(createReadStream(res.out), process.stdout, { end: false });
          const summary = { ...res, out: '-' };
          process.stderr.write((ctx.json ? JSON.stringify(summary) : `${res.rows} rows${def.name === FACT_TABLE ? '' : ` of ${def.name}`} (${range}table version ${res.version}) → stdout, sha256 ${res.sha256}`) + '\n');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        return;
      }
      const res = await table.export({ table: def.name, from, to, asOfMs, format: o.format, out: o.out });
      ctx.emit(res, () => `${res.rows} rows${def.name === FACT_TABLE ? '' : ` of ${def.name}`} (${range}table version ${res.version}${res.committedAt ? ` committed ${res.committedAt}` : ', empty table'}) → ${res.out}\nsha256 ${res.sha256}`);
    });

  const t = program.command('table').description('inspect the warehouse tables');
  t.command('info')
    .description('partitions, files, rows and sizes of each table at the current version')
    .option('--all', 'list every partition (default: tables and fact days needing compaction)')
    .action(async (o: { all?: boolean }) => {
      const info = await (await openTable(ctx)).info();
      ctx.emit(info, () => {
        const lines = [`${info.root}: version ${info.version}${info.committedAt ? `, committed ${info.committedAt}` : ' (empty)'}`];
        for (const tb of info.tables) lines.push(`  ${tb.table}: ${tb.partitions} partitions, ${tb.files} files, ${tb.rows} rows, ${mib(tb.bytes)}`);
        const shown = o.all ? info.partitions : info.partitions.filter((p) => p.compactable);
        if (shown.length) lines.push(o.all ? 'partitions:' : 'days needing compaction:');
        for (const p of shown) lines.push(`  ${p.table}/${p.partition}: ${p.files} files, ${p.rows} rows, ${mib(p.bytes)}${p.success ? ', _SUCCESS' : ''}${p.compactable ? ', compactable' : ''}`);
        return lines.join('\n');
      });
    });
  t.command('history')
    .description('the commit log: every ingest, compaction, dimension snapshot, _SUCCESS marker and bill run, oldest first')
    .option('--last <n>', 'only the last n commits')
    .action(async (o: { last?: string }) => {
      const n = o.last === undefined ? undefined : positiveInt('--last', o.last);
      const all = await (await openTable(ctx)).history();
      const items = n === undefined ? all : all.slice(-n);
      ctx.emit(items, () =>
        items.length === 0
          ? 'no commits yet'
          : items
              .map((h) => `v${h.version} ${h.committedAt} ${h.operation}${h.source ? ` ${h.source}` : ''}${h.runId ? ` run ${h.runId}` : ''}: +${h.added} -${h.removed} files, ${h.partitions.length} partitions ${JSON.stringify(h.summary)}`)
              .join('\n'),
      );
    });
};
