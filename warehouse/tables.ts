/**
 * Tables beside the fact table, in the same commit protocol: billing records, billing assignments and the MRR
 * state (declared in schema.ts `TABLES`). A write names a table, a partition value and rows; it becomes one new
 * Parquet blob and a new partition state inside the caller's transaction, so one commit may change the fact
 * table and these tables together (an ingest and its MRR state; a bill run's records and assignments): the log
 * entry is the commit point of all of them, recovery rolls them back or forward together, `table history` lists
 * them and `export --table T --as-of TS` reads them as committed then.
 *
 * - `create`: the partition must not exist (a second bill run racing for the same run number loses, retriable).
 * - `append`: adds a file to the partition; `basis` (the partition's data version the rows were computed from,
 *   null when it did not exist) is checked under the lock, so a write computed from a state that changed since
 *   fails (retriable) instead of overwriting it.
 * - A keyed snapshot table (`latestBy`) keeps, per key, only the rows of the newest `commit_version`: readers
 *   apply that rule, and a commit that leaves more than MERGE_AT files in a partition merges them into one.
 */
import path from 'node:path';
import { ConfigError, RetriableError } from '../events/errors.js';
import type { CellValue } from './columns.js';
import { DUCK_SPILL_DIR, type Tx, type WarehouseCore } from './core.js';
import { cellSelectList, readParquetSql, sqlString, streamBlocks, withSharedDuck } from './duck.js';
import { putSmallTable } from './files.js';
import type { TuningOptions } from './options.js';
import { TABLES, type TableDef } from './schema.js';
import { mergeCount } from './versions.js';
import { partitionPath, type FileEntry, type PartitionChange, type PartitionState, type TableState } from './state.js';

/** One table write inside a commit. */
export interface TableWrite {
  /** A table of schema.ts TABLES (not the fact table: that is written by ingest). */
  table: string;
  /** Partition value (the directory is `<dirKey ?? partitionKey>=<value>`). */
  partition: string;
  rows: Record<string, CellValue>[];
  mode: 'create' | 'append';
  /** `append` only: the partition's data version the rows were computed from (null: the partition did not exist). */
  basis?: number | null;
  /** Stored in the partition's `_manifest.json` under `meta` (e.g. a bill run's manifest). */
  meta?: Record<string, unknown>;
}

/** Partitions with more files than this are merged by the commit that passes it (keyed snapshot tables). */
export const MERGE_AT = 8;

const VALUE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function tableDef(name: string): TableDef {
  const def = TABLES.get(name);
  if (!def) throw new ConfigError(`unknown table "${name}"`, [`tables: ${[...TABLES.keys()].join(', ')}`]);
  return def;
}

export function partitionDir(def: TableDef, value: string): string {
  if (!VALUE_RE.test(value)) throw new Error(`partition value ${JSON.stringify(value)} of ${def.name} must be letters, digits, '.', '_' or '-'`);
  return `${def.dirKey ?? def.partitionKey}=${value}`;
}

/** Version that last changed a partition's data, or null when it does not exist (the `basis` of a write). */
export function partitionBasis(state: TableState, table: string, value: string): number | null {
  return state.partitions.get(partitionPath(table, partitionDir(tableDef(table), value)))?.dataVersion ?? null;
}

/** Writes each table write as a new blob and returns the partition changes (call inside a transaction). */
export async function writeTablesInTx(core: WarehouseCore, tx: Tx, writes: readonly TableWrite[], t: TuningOptions): Promise<PartitionChange[]> {
  const changes: PartitionChange[] = [];
  const seen = new Set<string>();
  for (const [i, w] of writes.entries()) {
    const def = tableDef(w.table);
    if (def.name === 'fact_billing_event') throw new Error('internal: the fact table is written by ingest, not as a table write');
    const dir = partitionDir(def, w.partition);
    const key = partitionPath(def.name, dir);
    if (seen.has(key)) throw new Error(`internal: two writes to ${key} in one commit`);
    seen.add(key);
    const prev = tx.state.partitions.get(key);
    if (w.mode === 'create' && prev) {
      throw new RetriableError(`${def.name}/${dir} was committed by another run first (version ${prev.dataVersion}); nothing was written by this run — run it again to continue from there`);
    }
    if (w.mode === 'append' && w.basis !== undefined && (prev?.dataVersion ?? null) !== w.basis) {
      throw new RetriableError(`${def.name}/${dir} changed since this run read it (version ${w.basis ?? 'none'}, now ${prev?.dataVersion ?? 'none'}); nothing was committed — run it again`);
    }
    const constants: Record<string, CellValue> = def.columns.some((c) => c.name === 'commit_version') ? { commit_version: BigInt(tx.version) } : {};
    const name = `${def.name}-${tx.commitId}-${String(i).padStart(2, '0')}.parquet`;
    const blob = `${tx.blobDir}/${def.name}/${dir}/${name}`;
    const { rows: n, bytes } = await putSmallTable(core.storage, tx.tmpDir, blob, def.columns, w.rows, t.rowGroupRows, constants);
    const file: FileEntry = { name, blob, rows: n, bytes, minTs: null, maxTs: null, totals: [], sorted: false, group: null };
    let files = w.mode === 'append' ? [...(prev?.files ?? []), file] : [file];
    if (def.latestBy && files.length > MERGE_AT) files = [await mergeLatest(core, tx, def, dir, files, t)];
    const state = await core.finishPartition(tx, { table: def.name, dir, files, successBlob: null, dataVersion: tx.version }, w.meta);
    changes.push({ path: key, state });
  }
  return changes;
}

const latestFilter = (def: TableDef) => (def.latestBy ? ` QUALIFY commit_version = max(commit_version) OVER (PARTITION BY ${def.latestBy.map((k) => `"${k}"`).join(', ')})` : '');

/** One file holding only the newest snapshot of each key of a keyed snapshot table's partition. */
function mergeLatest(core: WarehouseCore, tx: Tx, def: TableDef, dir: string, files: readonly FileEntry[], t: TuningOptions): Promise<FileEntry> {
  return mergeFiles(core, tx, def, dir, files, t, latestFilter(def));
}

/**
 * The files of an append-only partition after an append (a quarantine day receives a file from every commit that
 * quarantines, a whole backfill's in one day): past MERGE_AT files, the newest ones are merged into one,
 * binary-counter style (versions.ts mergeCount: while the file before them holds no more rows than they do), so
 * the partition keeps O(MERGE_AT + log n) files and each row is rewritten O(log n) times: what a commit links,
 * lists in its manifest, its log entry and the Iceberg manifest stays bounded. Rows are moved, never changed.
 */
export async function boundAppended(core: WarehouseCore, tx: Tx, def: TableDef, dir: string, files: readonly FileEntry[], t: TuningOptions): Promise<FileEntry[]> {
  if (files.length <= MERGE_AT) return [...files];
  const k = Math.max(2, mergeCount(files.map((f) => f.rows)));
  return [...files.slice(0, files.length - k), await mergeFiles(core, tx, def, dir, files.slice(files.length - k), t, '')];
}

async function mergeFiles(core: WarehouseCore, tx: Tx, def: TableDef, dir: string, files: readonly FileEntry[], t: TuningOptions, filter: string): Promise<FileEntry> {
  const local = await Promise.all(files.map((f) => core.storage.localFile(f.blob)));
  const name = `${def.name}-${tx.commitId}-merged.parquet`;
  const blob = `${tx.blobDir}/${def.name}/${dir}/${name}`;
  const out = path.join(await core.storage.scratchDir(tx.tmpDir), name);
  const rows = await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), { memoryLimit: t.memoryLimit, threads: t.threads }, async (conn) => {
    await conn.run(`COPY (SELECT ${def.columns.map((c) => `"${c.name}"`).join(', ')} FROM ${readParquetSql(local)}${filter} ORDER BY ${def.order}) TO ${sqlString(out)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    return Number((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(out)})`)).getRows()[0]![0]);
  });
  if (!filter && rows !== files.reduce((n, f) => n + f.rows, 0)) throw new Error(`internal: merging ${files.length} files of ${def.name}/${dir} gave ${rows} rows, expected ${files.reduce((n, f) => n + f.rows, 0)}`);
  await core.storage.putFile(blob, out);
  return { name, blob, rows, bytes: await core.storage.size(blob), minTs: null, maxTs: null, totals: [], sorted: true, group: tx.commitId };
}

/** The files of a table at a state, partition by partition (sorted by directory). */
export function filesOf(state: TableState, table: string): { dir: string; file: FileEntry }[] {
  const out: { dir: string; file: FileEntry }[] = [];
  const parts = [...state.partitions.values()].filter((p) => p.table === table).sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  for (const p of parts) for (const file of p.files) out.push({ dir: p.dir, file });
  return out;
}

/**
 * Rows of one partition at a state (for a keyed snapshot table: the newest snapshot of each key), optionally only
 * those whose `keys.column` is one of `keys.values`. Values in the CellValue shapes of columns.ts.
 */
export async function readPartitionRows(core: WarehouseCore, state: TableState, table: string, value: string, t: TuningOptions, keys?: { column: string; values: readonly string[] }): Promise<{ rows: Record<string, CellValue>[]; basis: number | null }> {
  const def = tableDef(table);
  const p: PartitionState | undefined = state.partitions.get(partitionPath(def.name, partitionDir(def, value)));
  if (!p || p.files.length === 0 || (keys && keys.values.length === 0)) return { rows: [], basis: p?.dataVersion ?? null };
  const local = await Promise.all(p.files.map((f) => core.storage.localFile(f.blob)));
  const rows: Record<string, CellValue>[] = [];
  const chunks: (readonly string[] | null)[] = [];
  if (keys) for (let i = 0; i < keys.values.length; i += 1000) chunks.push(keys.values.slice(i, i + 1000));
  else chunks.push(null);
  await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), { memoryLimit: t.memoryLimit, threads: t.threads }, async (conn) => {
    for (const chunk of chunks) {
      // the key filter goes inside, before the newest-snapshot window (a key's snapshots all share its value)
      const where = chunk && keys ? ` WHERE "${keys.column}" IN (${chunk.map(sqlString).join(', ')})` : '';
      const sql = `SELECT ${cellSelectList(def.columns)} FROM (SELECT * FROM ${readParquetSql(local)}${where}${latestFilter(def)}) ORDER BY ${def.order}`;
      for await (const block of streamBlocks(conn, sql, def.columns, t.rowGroupRows)) {
        const cols = def.columns.map((c) => block.column(c.name));
        for (let i = 0; i < block.length; i++) {
          const r: Record<string, CellValue> = {};
          def.columns.forEach((c, j) => (r[c.name] = cols[j]![i] ?? null));
          rows.push(r);
        }
      }
    }
  });
  return { rows, basis: p.dataVersion };
}
