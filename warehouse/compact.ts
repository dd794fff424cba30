/**
 * Compaction: rewrite a day's files into target-size files in the partition order, as one commit that
 * changes no data. DuckDB sorts under its memory limit (spilling to the commit's scratch directory) and
 * streams rows to the Parquet writer; before publishing, the new files are re-read with DuckDB and their row
 * counts and exact totals must equal the manifest's. A partition that is already compact is left alone.
 */
import { FatalError } from '../events/errors.js';
import type { Tx, TxOutcome, WarehouseCore } from './core.js';
import { cellSelectList, queryAll, readParquetSql, streamBlocks, withDuck } from './duck.js';
import { writeFactFiles } from './files.js';
import { FACT_COLUMNS, FACT_ORDER_SQL, FACT_PARTITION_KEY, FACT_TABLE } from './schema.js';
import { diffTotals, mergeTotals, partitionPath, type PartitionChange, type PartitionState, type TotalRow } from './state.js';
import type { TuningOptions } from './options.js';
import { DuckDBDecimalValue } from '@duckdb/node-api';
import { unscaledToText } from '../events/money.js';

export interface CompactResult {
  commitId: string | null;
  version: number;
  compacted: { day: string; filesBefore: number; filesAfter: number; rows: number; bytesBefore: number; bytesAfter: number }[];
  /** Days left alone because they were already compact (or empty). */
  unchanged: string[];
}

/** Pure: a partition is compact when its files are sorted and came from one compaction (or it is one file not far above target). */
export function isCompact(p: PartitionState, targetBytes: number): boolean {
  if (p.files.length === 0) return true;
  if (!p.files.every((f) => f.sorted)) return false;
  if (p.files.length === 1) return p.files[0]!.bytes <= targetBytes * 1.5 || p.files[0]!.group !== null;
  const g = p.files[0]!.group;
  return g !== null && p.files.every((f) => f.group === g);
}

export async function compactInTx(core: WarehouseCore, tx: Tx, days: readonly string[], t: TuningOptions): Promise<{ outcome: TxOutcome | null; result: CompactResult }> {
  const result: CompactResult = { commitId: null, version: tx.state.version, compacted: [], unchanged: [] };
  const changes: PartitionChange[] = [];
  await withDuck({ memoryLimit: t.memoryLimit, tempDir: core.storage.abs(`${tx.tmpDir}/duck`), threads: t.threads }, async (conn) => {
    for (const day of [...new Set(days)].sort()) {
      const dir = `${FACT_PARTITION_KEY}=${day}`;
      const path = partitionPath(FACT_TABLE, dir);
      const p = tx.state.partitions.get(path);
      if (!p || isCompact(p, t.targetFileBytes)) {
        result.unchanged.push(day);
        continue;
      }
      const oldFiles = p.files.map((f) => core.storage.abs(f.blob));
      const expected = mergeTotals(p.files);
      const expectedRows = p.files.reduce((n, f) => n + f.rows, 0);
      const sql = `SELECT ${cellSelectList(FACT_COLUMNS)} FROM ${readParquetSql(oldFiles)} ORDER BY ${FACT_ORDER_SQL}`;
      const bytesBefore = p.files.reduce((n, f) => n + f.bytes, 0);
      const rowsPerFile = Math.max(1, Math.floor(t.targetFileBytes / Math.max(1, bytesBefore / Math.max(1, expectedRows))));
      const groupRows = Math.min(t.rowGroupRows, rowsPerFile);
      const rows = streamBlocks(conn, sql, FACT_COLUMNS, groupRows);
      const files = await writeFactFiles(core, tx, FACT_TABLE, dir, rows, { rowGroupRows: groupRows, targetBytes: t.targetFileBytes, rowsPerFile, sorted: true, group: tx.commitId, prefix: 'compact' });
      await core.fault('compact:after-write');
      const written = mergeTotals(files);
      const writtenRows = files.reduce((n, f) => n + f.rows, 0);
      const reread = await totalsOf(conn, files.map((f) => core.storage.abs(f.blob)));
      const problem =
        writtenRows !== expectedRows
          ? `wrote ${writtenRows} rows, the manifest has ${expectedRows}`
          : diffTotals(expected, written) ?? diffTotals(expected, reread);
      if (problem) {
        throw new FatalError(`compaction of ${day} did not reproduce the partition (${problem}); nothing was published. The old files are intact; report this as a bug.`);
      }
      const state = await core.finishPartition(tx, { table: FACT_TABLE, dir, files, successBlob: p.successBlob, dataVersion: p.dataVersion });
      changes.push({ path, state });
      result.compacted.push({ day, filesBefore: p.files.length, filesAfter: files.length, rows: writtenRows, bytesBefore: p.files.reduce((n, f) => n + f.bytes, 0), bytesAfter: files.reduce((n, f) => n + f.bytes, 0) });
    }
  });
  if (changes.length === 0) return { outcome: null, result };
  result.commitId = tx.commitId;
  result.version = tx.version;
  return {
    outcome: { operation: 'compact', changes, summary: { days: result.compacted.length, rows: result.compacted.reduce((n, c) => n + c.rows, 0) } },
    result,
  };
}

/** Control totals of files as DuckDB reads them (independent of the writer's own bookkeeping). */
export async function totalsOf(conn: Parameters<typeof queryAll>[0], files: readonly string[]): Promise<TotalRow[]> {
  if (files.length === 0) return [];
  const rows = await queryAll(conn, `SELECT billing_source, event_type, currency, count(*)::BIGINT, sum(amount)::DECIMAL(38,9) FROM ${readParquetSql(files)} GROUP BY ALL ORDER BY ALL`);
  return rows.map((r) => {
    const sum = r[4];
    if (!(sum instanceof DuckDBDecimalValue)) throw new Error('internal: DuckDB sum(amount) is not a DECIMAL');
    return { billing_source: String(r[0]), event_type: String(r[1]), currency: String(r[2]), rows: Number(r[3]), amount_sum: unscaledToText(sum.value) };
  });
}
