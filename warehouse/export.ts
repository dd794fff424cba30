/**
 * Time-travel export: the fact table exactly as it was at a version (or at a moment), for a day range, as
 * CSV or Parquet. Rows are ordered by (event_date, billing_source, event_type, event_ts, seqn, event_id) and
 * formatted by this code (not by DuckDB settings), so the same table state always gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { unscaledToText } from '../events/money.js';
import { dayRange } from '../partitions/index.js';
import type { Block, ColumnSpec, CellValue } from './columns.js';
import type { WarehouseCore } from './core.js';
import { cellSelectList, readParquetSql, streamBlocks, withDuck } from './duck.js';
import { writeParquetFile } from './parquet.js';
import { writeSmallTable } from './files.js';
import { FACT_COLUMNS, FACT_ORDER_SQL, FACT_PARTITION_KEY, FACT_TABLE, microsToIso } from './schema.js';
import { partitionPath } from './state.js';
import { replaceFile, writeAll } from '../events/io.js';
import type { TuningOptions } from './options.js';

export interface ExportRequest {
  from: string;
  to: string;
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

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF, or is the empty string (null is empty). */
export function csvField(v: string | null): string {
  if (v === null) return '';
  if (v === '' || /[",\r\n]/.test(v)) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

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

export async function exportFacts(core: WarehouseCore, req: ExportRequest, t: TuningOptions): Promise<ExportResult> {
  const days = dayRange(req.from, req.to);
  const { state } = await core.state(req.asOfMs);
  const files: string[] = [];
  for (const d of days) {
    const p = state.partitions.get(partitionPath(FACT_TABLE, `${FACT_PARTITION_KEY}=${d}`));
    for (const f of p?.files ?? []) files.push(await core.storage.localFile(f.blob));
  }
  const outAbs = path.resolve(req.out);
  let rows = 0;
  await replaceFile(outAbs, async (tmp) => {
    const scratch = await fs.mkdtemp(path.join(path.dirname(outAbs), '.export-duck-'));
    try {
      await withDuck({ memoryLimit: t.memoryLimit, tempDir: scratch, threads: t.threads }, async (conn) => {
        const source =
          files.length > 0
            ? streamBlocks(conn, `SELECT ${cellSelectList(FACT_COLUMNS)} FROM ${readParquetSql(files)} ORDER BY event_date, ${FACT_ORDER_SQL}`, FACT_COLUMNS, t.rowGroupRows)
            : (async function* (): AsyncGenerator<Block> {})();
        if (req.format === 'parquet') {
          if (files.length === 0) rows = await writeSmallTable(tmp, FACT_COLUMNS, [], t.rowGroupRows);
          else rows = (await writeParquetFile(tmp, FACT_COLUMNS, source, { rowGroupRows: t.rowGroupRows })).rows;
          return;
        }
        const fh = await fs.open(tmp, 'wx');
        try {
          await writeAll(fh, FACT_COLUMNS.map((s) => s.name).join(',') + '\n', outAbs);
          for await (const block of source) {
            await writeAll(fh, csvBlock(FACT_COLUMNS, block), outAbs);
            rows += block.length;
          }
        } finally {
          await fh.close();
        }
      });
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  });
  const hash = createHash('sha256');
  for await (const buf of createReadStream(outAbs)) hash.update(buf as Buffer);
  return { version: state.version, committedAt: state.committedAt, rows, files: files.length, bytes: (await fs.stat(outAbs)).size, sha256: hash.digest('hex'), out: outAbs };
}
