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
import { big, columnList, copyCount, queryAll, readParquetSql, sqlString, withSharedDuck } from './duck.js';
import { duckFileEntry } from './stage.js';
import { FACT_COLUMNS, FACT_DIR_KEY, FACT_ORDER_SQL, FACT_TABLE, partitionDir } from './schema.js';
import { diffTotals, mergeTotals, partitionPath, type FileEntry, type PartitionChange, type PartitionState } from './state.js';
import { DuckDBListValue, type DuckDBConnection } from '@duckdb/node-api';
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
  await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), compactDuckSizing(t), async (conn) => {
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
      const groups = new Map<string, { source: string; type: string; rows: number }>();
      for (const x of expected) {
        const k = `${x.billing_source}\u0000${x.event_type}`;
        const g = groups.get(k) ?? groups.set(k, { source: x.billing_source, type: x.event_type, rows: 0 }).get(k)!;
        g.rows += x.rows;
      }
      const files = await rewriteSorted(core, tx, conn, dir, oldFiles, [...groups.values()], expectedRows, bytesBefore, t, ordered !== null);
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
 * DuckDB's sizing for a compaction (issue 11 item 3): the process (Node, the app, DuckDB) must stay within 512 MB
 * of RSS whatever the size of the day. DuckDB allocates beyond `memory_limit` (Parquet reader and writer buffers,
 * per thread), so compaction runs its own instance: `compactMemoryLimit` (192MB) and `compactThreads` (1). Measured
 * on a 1 M-event day in 5 files (docs/bench.md): 1 178 MB of RSS before (one table of the sorted day, 512MB,
 * 2 threads), 493 MB with slices at 192MB and 2 threads; a 2 M-row DuckDB sort at 192MB took 320 MB of RSS with 1
 * thread, 370 MB with 2, and 335 MB at 4 M rows (flat).
 */
export function compactDuckSizing(t: TuningOptions): { memoryLimit: string; threads: number } {
  return { memoryLimit: t.compactMemoryLimit, threads: t.compactThreads };
}

/** A contiguous piece of the partition order: one (billing_source, event_type), optionally an event_ts range of it. */
export interface Slice {
  source: string;
  type: string;
  /** event_ts range in µs, [fromUs, toUs); null = open. */
  fromUs: bigint | null;
  toUs: bigint | null;
  /** Rows (exact from the manifest for a whole group, an estimate for a part of one). */
  rows: number;
}

/**
 * Pure: the output files of a compaction as runs of slices in the partition order, each about `rowsPerFile` rows.
 * `groups` are the partition's rows per (billing_source, event_type) from the manifest; `split` gives the event_ts
 * bounds that cut a group of more than `rowsPerFile` rows into parts (DuckDB's approx_quantile).
 */
export function planSlices(groups: readonly { source: string; type: string; rows: number }[], rowsPerFile: number, split: (g: { source: string; type: string }, parts: number) => bigint[]): Slice[][] {
  const sorted = [...groups].sort((a, b) => cmpUtf8(a.source, b.source) || cmpUtf8(a.type, b.type));
  const slices: Slice[] = [];
  for (const g of sorted) {
    if (g.rows <= rowsPerFile) {
      slices.push({ source: g.source, type: g.type, fromUs: null, toUs: null, rows: g.rows });
      continue;
    }
    const bounds = [...new Set(split(g, Math.ceil(g.rows / rowsPerFile)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const edges = [null, ...bounds, null];
    for (let i = 0; i + 1 < edges.length; i++) slices.push({ source: g.source, type: g.type, fromUs: edges[i]!, toUs: edges[i + 1]!, rows: Math.ceil(g.rows / (bounds.length + 1)) });
  }
  const files: Slice[][] = [];
  let cur: Slice[] = [];
  let n = 0;
  for (const sl of slices) {
    if (cur.length && n + sl.rows > rowsPerFile) {
      files.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(sl);
    n += sl.rows;
  }
  if (cur.length) files.push(cur);
  return files;
}

function slicePredicate(slices: readonly Slice[]): string {
  return slices
    .map((s) => `(billing_source = ${sqlString(s.source)} AND event_type = ${sqlString(s.type)}${s.fromUs === null ? '' : ` AND epoch_us(event_ts) >= ${s.fromUs}`}${s.toUs === null ? '' : ` AND epoch_us(event_ts) < ${s.toUs}`})`)
    .join(' OR ');
}

/**
 * Writes the rows of `oldFiles` in partition order into files of about targetFileBytes, entirely inside DuckDB,
 * with memory bounded by the output file, never by the day: the partition order is cut into slices by
 * (billing_source, event_type) from the manifest's totals (and a group larger than a file by event_ts quantiles),
 * and each output file is ONE `COPY (SELECT ... WHERE <its slices> ORDER BY ...) TO <file>`: DuckDB sorts just
 * that file's rows under its memory limit, spilling to the scratch area; when the files are already in partition
 * order it only reads them in order (no sort). Nothing holds the day: the code before materialised the whole
 * day in one DuckDB table and sorted each file's rowid range again (1.19 GB of RSS for a 5 M-event day).
 * Each file's rows, min/max and totals are then read back from the written file by DuckDB.
 */
async function rewriteSorted(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, dir: string, oldFiles: readonly string[], groups: readonly { source: string; type: string; rows: number }[], expectedRows: number, bytesBefore: number, t: TuningOptions, presorted: boolean): Promise<FileEntry[]> {
  const rows = groups.reduce((n, g) => n + g.rows, 0);
  const rowsPerFile = Math.max(1, Math.floor(t.targetFileBytes / Math.max(1, bytesBefore / Math.max(1, expectedRows))));
  const groupRows = Math.min(t.rowGroupRows, rowsPerFile);
  const from = readParquetSql(oldFiles);
  const quantiles = new Map<string, bigint[]>();
  for (const g of rows === expectedRows ? groups : []) {
    if (g.rows <= rowsPerFile) continue;
    const parts = Math.ceil(g.rows / rowsPerFile);
    const qs = Array.from({ length: parts - 1 }, (_, i) => ((i + 1) / parts).toFixed(6)).join(', ');
    const r = await queryAll(conn, `SELECT approx_quantile(epoch_us(event_ts), [${qs}]) FROM ${from} WHERE billing_source = ${sqlString(g.source)} AND event_type = ${sqlString(g.type)}`);
    const list = r[0]?.[0];
    if (!(list instanceof DuckDBListValue)) throw new Error('internal: approx_quantile did not return a list');
    quantiles.set(`${g.source}\u0000${g.type}`, list.items.map((v) => big(v)));
  }
  // files whose manifest has no totals (cannot tell the groups): the whole day in one file, as before
  const plan = rows === expectedRows ? planSlices(groups, rowsPerFile, (g) => quantiles.get(`${g.source}\u0000${g.type}`) ?? []) : [[]];
  const scratch = await core.storage.scratchDir(`${tx.tmpDir}/${dir}`);
  const opts = `(FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${groupRows})`;
  const out: FileEntry[] = [];
  for (const [n, slices] of plan.entries()) {
    const name = `compact-${tx.commitId}-${String(n).padStart(4, '0')}.parquet`;
    const local = path.join(scratch, name);
    const where = plan.length === 1 ? '' : ` WHERE ${slicePredicate(slices)}`;
    // presorted: the files in the given order are the partition order (insertion order is preserved: no sort)
    await copyCount(conn, `COPY (SELECT ${columnList(FACT_COLUMNS)} FROM ${from}${where}${presorted ? '' : ` ORDER BY ${FACT_ORDER_SQL}`}) TO ${sqlString(local)} ${opts}`);
    out.push(await duckFileEntry(core, conn, local, `${tx.blobDir}/${FACT_TABLE}/${dir}/${name}`, name, { sorted: true, group: tx.commitId }));
  }
  return out.filter((f) => f.rows > 0);
}
