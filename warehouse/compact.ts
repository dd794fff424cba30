/**
 * Compaction: rewrite a day's files into target-size files in the partition order, as one commit that
 * changes no data. Done entirely inside DuckDB (COPY (SELECT ... ORDER BY ...) TO ...): it sorts under its
 * memory limit, spilling to the commit's scratch directory, and writes the Parquet itself; no row passes
 * through JavaScript. Before publishing, the new files are re-read with DuckDB and their row counts and exact
 * totals must equal the manifest's. A partition that is already compact is left alone.
 */
import path from 'node:path';
import { FatalError } from '../events/errors.js';
import { DUCK_SPILL_DIR, type Tx, type TxOutcome, type WarehouseCore } from './core.js';
import { columnList, copyCount, readParquetSql, sqlString, withSharedDuck } from './duck.js';
import { duckFileEntry } from './stage.js';
import { FACT_COLUMNS, FACT_DIR_KEY, FACT_ORDER_SQL, FACT_TABLE, partitionDir } from './schema.js';
import { diffTotals, mergeTotals, partitionPath, type FileEntry, type PartitionChange, type PartitionState } from './state.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TuningOptions } from './options.js';

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
  await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), { memoryLimit: t.memoryLimit, threads: t.threads }, async (conn) => {
    for (const day of [...new Set(days)].sort()) {
      const dir = partitionDir(FACT_DIR_KEY, day);
      const path = partitionPath(FACT_TABLE, dir);
      const p = tx.state.partitions.get(path);
      if (!p || isCompact(p, t.targetFileBytes)) {
        result.unchanged.push(day);
        continue;
      }
      const ordered = presortedOrder(p.files);
      const oldFiles = await Promise.all((ordered ?? p.files).map((f) => core.storage.localFile(f.blob)));
      const expected = mergeTotals(p.files);
      const expectedRows = p.files.reduce((n, f) => n + f.rows, 0);
      const bytesBefore = p.files.reduce((n, f) => n + f.bytes, 0);
      const files = await rewriteSorted(core, tx, conn, dir, oldFiles, expectedRows, bytesBefore, t, ordered !== null);
      await core.fault('compact:after-write');
      const written = mergeTotals(files);
      const writtenRows = files.reduce((n, f) => n + f.rows, 0);
      const problem = writtenRows !== expectedRows ? `wrote ${writtenRows} rows, the manifest has ${expectedRows}` : diffTotals(expected, written);
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

/** Byte order of the UTF-8 text, as DuckDB orders VARCHAR. */
function cmpUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The files in an order whose concatenation is already the partition order, or null when the rows must be
 * sorted. The order starts with billing_source and an ingest commit loads one source, writing each day's file
 * sorted: when every file is sorted and the files' billing_source ranges do not overlap (each source's rows in
 * one file), the files one after the other are sorted. Otherwise (a source in several files) DuckDB sorts.
 */
export function presortedOrder(files: readonly FileEntry[]): FileEntry[] | null {
  if (!files.every((f) => f.sorted)) return null;
  const ranged = files.map((f) => {
    const sources = f.totals.map((x) => x.billing_source).sort(cmpUtf8);
    return { f, lo: sources[0], hi: sources.at(-1) };
  });
  if (ranged.some((r) => r.lo === undefined)) return null; // no totals to tell the sources by
  ranged.sort((a, b) => cmpUtf8(a.lo!, b.lo!));
  for (let i = 1; i < ranged.length; i++) if (cmpUtf8(ranged[i - 1]!.hi!, ranged[i]!.lo!) >= 0) return null;
  return ranged.map((r) => r.f);
}

/**
 * Writes the rows of `oldFiles` in partition order into files of about targetFileBytes, entirely inside
 * DuckDB (sorting under its memory limit, spilling to the commit's scratch directory). One file: a single
 * COPY. Several: the sorted rows go to a scratch table once and each file is a COPY of one rowid range.
 * Each file's rows, min/max and totals are then read back from the written file by DuckDB.
 */
async function rewriteSorted(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, dir: string, oldFiles: readonly string[], rows: number, bytesBefore: number, t: TuningOptions, presorted: boolean): Promise<FileEntry[]> {
  const rowsPerFile = Math.max(1, Math.floor(t.targetFileBytes / Math.max(1, bytesBefore / Math.max(1, rows))));
  const groupRows = Math.min(t.rowGroupRows, rowsPerFile);
  const fileCount = Math.max(1, Math.ceil(rows / rowsPerFile));
  // presorted: the files in the given order are the partition order (insertion order is preserved: no sort)
  const select = `SELECT ${columnList(FACT_COLUMNS)} FROM ${readParquetSql(oldFiles)}${presorted ? '' : ` ORDER BY ${FACT_ORDER_SQL}`}`;
  const opts = `(FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${groupRows})`;
  const scratch = await core.storage.scratchDir(`${tx.tmpDir}/${dir}`);
  const names = Array.from({ length: fileCount }, (_, n) => `compact-${tx.commitId}-${String(n).padStart(4, '0')}.parquet`);
  const blobs = names.map((n) => `${tx.blobDir}/${FACT_TABLE}/${dir}/${n}`);
  const locals = names.map((n) => path.join(scratch, n));
  if (fileCount === 1) {
    await copyCount(conn, `COPY (${select}) TO ${sqlString(locals[0]!)} ${opts}`);
  } else {
    await conn.run(`CREATE OR REPLACE TEMP TABLE compact_sorted AS ${select}`);
    for (let n = 0; n < fileCount; n++) {
      await copyCount(conn, `COPY (SELECT * FROM compact_sorted WHERE rowid >= ${n * rowsPerFile} AND rowid < ${(n + 1) * rowsPerFile} ORDER BY rowid) TO ${sqlString(locals[n]!)} ${opts}`);
    }
    await conn.run('DROP TABLE compact_sorted');
  }
  const out: FileEntry[] = [];
  for (let n = 0; n < fileCount; n++) out.push(await duckFileEntry(core, conn, locals[n]!, blobs[n]!, names[n]!, { sorted: true, group: tx.commitId }));
  return out.filter((f) => f.rows > 0);
}
