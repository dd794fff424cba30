/**
 * Time-travel export: a table (default the fact table) exactly as it was at a version (or at a moment), for a
 * day range (day-partitioned tables) or whole, as CSV or Parquet. Fact rows are ordered by (event_date,
 * billing_source, event_type, event_ts, seqn, event_id), other tables by their declared order, and
 * formatted by this code (not by DuckDB settings), so the same table state always gives the same bytes.
 */
import path from 'node:path';
import { unscaledToText } from '../events/money.js';
import { dayRange } from '../partitions/index.js';
import type { Block, ColumnSpec, CellValue } from './columns.js';
import type { WarehouseCore } from './core.js';
import { cellSelectList, readParquetSql, streamBlocks, withDuck } from './duck.js';
import { writeParquetFile } from './parquet.js';
import { writeSmallTable } from './files.js';
import { ConfigError } from '../events/errors.js';
import { FACT_PARTITION_KEY, FACT_TABLE, QUARANTINE_PARTITION_KEY, microsToIso } from './schema.js';
import { filesOf, partitionDir, tableDef } from './tables.js';
import { partitionPath } from './state.js';
import { replaceFile, writeAll } from '../events/io.js';
import type { TuningOptions } from './options.js';
import { csvField } from '../events/csv.js';
import { createLocalFile, localFileDigest, removeLocal, tempDirBeside } from './scratch.js';

export interface ExportRequest {
  /** A table of schema.ts TABLES (default the fact table). */
  table?: string;
  /** Day range of a day-partitioned table (fact, quarantine); tables partitioned otherwise are exported whole. */
  from?: string;
  to?: string;
  /** Table as of this instant (ms since epoch); default: the latest version. */
  asOfMs?: number;
  format: 'csv' | 'parquet';
  /** Output file; written via a temporary name and renamed, so a failed export leaves nothing half-written. */
  out: string;
}

export interface ExportResult {
  version: number;
  committedAt: string | null;
  rows: number;
  files: number;
  bytes: number;
  sha256: string;
  out: string;
}

export { csvField } from '../events/csv.js';

/** Text of one cell as it appears in the CSV export. */
export function cellText(spec: ColumnSpec, v: CellValue): string | null {
  if (v === null) return null;
  switch (spec.kind) {
    case 'decimal38_9':
      return unscaledToText(v as bigint);
    case 'timestamp_us_utc':
      return microsToIso(v as bigint);
    case 'bool':
      return v ? 'true' : 'false';
    default:
      return String(v);
  }
}

export function csvLine(specs: readonly ColumnSpec[], row: Record<string, CellValue>): string {
  return specs.map((s) => csvField(cellText(s, row[s.name] ?? null))).join(',') + '\n';
}

/** CSV lines of every row of a block. */
export function csvBlock(specs: readonly ColumnSpec[], block: Block): string {
  const cols = specs.map((s) => block.column(s.name));
  const lines: string[] = [];
  for (let i = 0; i < block.length; i++) lines.push(specs.map((s, j) => csvField(cellText(s, cols[j]![i] ?? null))).join(','));
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Tables partitioned by a UTC day: exported for a day range. */
const DAY_KEYS = new Set([FACT_PARTITION_KEY, QUARANTINE_PARTITION_KEY]);

export async function exportFacts(core: WarehouseCore, req: ExportRequest, t: TuningOptions): Promise<ExportResult> {
  const def = tableDef(req.table ?? FACT_TABLE);
  const { state } = await core.state(req.asOfMs);
  const files: string[] = [];
  if (DAY_KEYS.has(def.partitionKey)) {
    if (req.from === undefined || req.to === undefined) throw new ConfigError(`exporting ${def.name} needs a day range: --from D --to D`);
    for (const d of dayRange(req.from, req.to)) {
      const p = state.partitions.get(partitionPath(def.name, partitionDir(def, d)));
      for (const f of p?.files ?? []) files.push(await core.storage.localFile(f.blob));
    }
  } else {
    if (req.from !== undefined || req.to !== undefined) throw new ConfigError(`${def.name} is partitioned by ${def.partitionKey}, not by day: export it without --from/--to (the whole table as of --as-of)`);
    for (const { file } of filesOf(state, def.name)) files.push(await core.storage.localFile(file.blob));
  }
  const COLUMNS = def.columns;
  const latest = def.latestBy ? ` QUALIFY commit_version = max(commit_version) OVER (PARTITION BY ${def.latestBy.map((k) => `"${k}"`).join(', ')})` : '';
  const query = `SELECT ${cellSelectList(COLUMNS)} FROM (SELECT * FROM ${files.length ? readParquetSql(files) : '(SELECT 1)'}${latest}) ORDER BY ${DAY_KEYS.has(def.partitionKey) ? `${def.partitionKey}, ` : ''}${def.order}`;
  const outAbs = path.resolve(req.out);
  let rows = 0;
  await replaceFile(outAbs, async (tmp) => {
    const scratch = await tempDirBeside(outAbs, '.export-duck-');
    try {
      await withDuck({ memoryLimit: t.memoryLimit, tempDir: scratch, threads: t.threads }, async (conn) => {
        const source =
          files.length > 0
            ? streamBlocks(conn, query, COLUMNS, t.rowGroupRows)
            : (async function* (): AsyncGenerator<Block> {})();
        if (req.format === 'parquet') {
          if (files.length === 0) rows = await writeSmallTable(tmp, COLUMNS, [], t.rowGroupRows);
          else rows = (await writeParquetFile(tmp, COLUMNS, source, { rowGroupRows: t.rowGroupRows })).rows;
          return;
        }
        const fh = await createLocalFile(tmp);
        try {
          await writeAll(fh, COLUMNS.map((s) => s.name).join(',') + '\n', outAbs);
          for await (const block of source) {
            await writeAll(fh, csvBlock(COLUMNS, block), outAbs);
            rows += block.length;
          }
        } finally {
          await fh.close();
        }
      });
    } finally {
      await removeLocal(scratch);
    }
  });
  const { bytes, sha256 } = await localFileDigest(outAbs);
  return { version: state.version, committedAt: state.committedAt, rows, files: files.length, bytes, sha256, out: outAbs };
}
