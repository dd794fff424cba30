/**
 * The data path of an ingest commit. JavaScript only formats text and sorts an index; DuckDB writes Parquet.
 * - stageEvents: each event becomes one CSV line (money as its exact 9-place text, timestamps as µs
 *   integers) held with its sort and de-duplication keys (LineBuffer: no row objects). At the end, or every
 *   `spillRows` rows or `spillBytes` of line text, each day's live lines are written in partition order to a CSV file in the commit's
 *   scratch directory, so memory stays at about one buffer of text whatever the batch size; a spilled batch's
 *   sorted runs are merged at the end of the stage into one sorted, de-duplicated file per day (run-merge.ts).
 * - convertStaged (still the prepare, no lock): DuckDB turns each day's CSV into the day's typed Parquet file
 *   with COPY ... TO in the prepare's scratch, in the file's order (no sort, no window: its memory does not grow
 *   with the day). Each file's counts and exact totals are read back by DuckDB for the manifest.
 * - publishConverted (under the writer lock): matches the batch against the event index and moves the day files
 *   into the commit; only a day the index touched is written again.
 */
import { join as joinPath } from 'node:path';
import { RetriableError } from '../events/errors.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { QuarantineEntry } from '../events/model.js';
import type { ColumnSpec } from './columns.js';
import type { Tx, WarehouseCore } from './core.js';
import { columnList, copyCount, factFileStats, queryAll, readParquetSql, sqlString, type FileStats } from './duck.js';
import { FACT_COLUMNS, FACT_DIR_KEY, FACT_ORDER_SQL, FACT_TABLE, microsToIso, partitionDir } from './schema.js';
import { stageEventsAt, type Staged } from './staging.js';
import { removeLocal } from './scratch.js';
import { fsyncFile } from '../events/io.js';
export { stageEventsAt, type Staged, type StageInput } from './staging.js';
import { TotalsAccumulator, type FileEntry, type IndexChange } from './state.js';
import { conflictEntry, matchedTable, originalsWhere, resolveVersions, restatementsSql, reversalsSql, writeIndexSegment, type VersionCounts } from './versions.js';
import type { IngestInput } from './ingest.js';
import type { TuningOptions } from './options.js';

const SQL_TYPES: Record<ColumnSpec['kind'], string> = {
  utf8: 'VARCHAR',
  int64: 'BIGINT',
  bool: 'BOOLEAN',
  timestamp_us_utc: 'TIMESTAMPTZ',
  date: 'DATE',
  decimal38_9: 'DECIMAL(38,9)',
};

/** read_csv column types: event_ts arrives as µs (BIGINT), money as integer part and fraction (see money()). */
function csvColumnsSql(): string {
  const cols = FACT_COLUMNS.flatMap((s) =>
    s.kind === 'decimal38_9'
      ? [`'${s.name}__i': 'HUGEINT'`, `'${s.name}__f': 'BIGINT'`]
      : [`${sqlString(s.name)}: ${sqlString(s.kind === 'timestamp_us_utc' ? 'BIGINT' : SQL_TYPES[s.kind])}`],
  );
  return `{${[...cols, `'_ord': 'BIGINT'`].join(', ')}}`;
}


/** Streams the events into sorted, de-duplicated CSV files per day in `dir` (the prepare's scratch; no lock needed). */
export async function stageEvents(core: WarehouseCore, dir: string, input: IngestInput, t: TuningOptions): Promise<Staged> {
  return stageEventsAt(await core.storage.scratchDir(dir), input, t, (point) => core.fault(point));
}

export interface Counts extends VersionCounts {
  duplicatesInBatch: number;
}

export interface WrittenDays {
  /** Files added per day (days ascending); a day may get none. */
  days: Map<string, FileEntry[]>;
  /** The source's new event-index segments (null: unchanged). */
  index: IndexChange | null;
  /** CONFLICTING_DUPLICATE entries (same event and version, different values). */
  conflicts: QuarantineEntry[];
}

/**
 * read_csv's buffer per file scanned (DuckDB's default is 16 × max_line_size = 32 MB, allocated for every staged
 * file a scan opens: a merge of many spilled runs under a small memory_limit failed on "could not allocate block
 * of size 30.5 MiB"). A staged line is far below max_line_size (2 MB: fact columns only, never the raw record).
 */
const CSV_BUFFER_BYTES = 4 * 2 ** 20;

function readCsvSql(files: readonly string[]): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  return `read_csv(${list}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, buffer_size = ${CSV_BUFFER_BYTES}, columns = ${csvColumnsSql()})`;
}

/** FACT_COLUMNS from a staged CSV relation (event_ts arrives as µs). */
function factSelect(): string {
  return FACT_COLUMNS.map((s) => {
    if (s.kind === 'timestamp_us_utc') return `make_timestamptz("${s.name}") AS "${s.name}"`;
    if (s.kind === 'decimal38_9') return `CAST(CAST("${s.name}__i" AS DECIMAL(38,9)) + "${s.name}__f" * 0.000000001 AS DECIMAL(38,9)) AS "${s.name}"`;
    return `"${s.name}"`;
  }).join(', ');
}

/** One day of a converted prepare: its typed Parquet file in the prepare's scratch, and what DuckDB read back from it. */
export interface ConvertedDay {
  /** Local path of the file (the prepare's scratch): the winners of the batch for the day, in partition order. */
  local: string;
  stats: FileStats;
}

/** A prepare made ready to publish: every day as one typed, sorted Parquet file, de-duplicated inside the batch. */
export interface Converted {
  /** Days ascending; a day whose staged rows all lost inside the batch is absent. */
  days: Map<string, ConvertedDay>;
  /** Same event and version with different values inside the batch (and across its spilled runs): quarantine entries. */
  conflicts: QuarantineEntry[];
  /** Rows dropped inside the batch as duplicates (conflicts not included). */
  duplicatesInBatch: number;
}

/**
 * The second half of a prepare, still without the writer lock (DuckDB's own threads do it; the JS thread and the
 * other prepares go on): each day's staged CSV becomes the day's Parquet file, typed and in partition order, in
 * the prepare's scratch `dir`, with its counts and exact totals read back. Every staged day is one file, sorted and
 * de-duplicated inside the batch (a spilled batch's runs were merged by the stage): DuckDB converts it keeping its
 * order, and the rows it read must be the rows the stage wrote. What is left for the publish is only the table's
 * side: the event index, files moved.
 */
export async function convertStaged(conn: DuckDBConnection, dir: string, input: { source: string; runId: string }, s: Staged, t: TuningOptions): Promise<Converted> {
  return oneConvertAtATime(() => convertNow(conn, dir, input, s, t));
}

/**
 * The tail of the process's conversions: one runs at a time (the next starts when the one before it ended, failed
 * or not). A CSV→Parquet COPY holds 70–140 MB of DuckDB memory while it runs, whatever `memoryLimit` says (its
 * reader and row-group buffers); two prepares converting at once added that twice to the RSS of a `--parallel 2`
 * ingest. The other prepare's staging goes on meanwhile on its own thread (docs/bench.md, "Two big prepares at once").
 */
let convertTail: Promise<unknown> = Promise.resolve();

function oneConvertAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const run = convertTail.then(fn, fn);
  convertTail = run.catch(() => undefined);
  return run;
}

async function convertNow(conn: DuckDBConnection, dir: string, input: { source: string; runId: string }, s: Staged, t: TuningOptions): Promise<Converted> {
  const out: Converted = { days: new Map(), conflicts: s.conflicts.map((c) => conflictEntry(input.source, input.runId, c)), duplicatesInBatch: s.duplicatesInBatch };
  const allFiles = [...s.files.values()].flat();
  if (allFiles.length === 0) return out;
  const copyTo = (select: string, local: string) => copyCount(conn, `COPY (${select}) TO ${sqlString(local)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${t.rowGroupRows})`);
  const written: { day: string; local: string }[] = [];
  for (const [day, files] of [...s.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const local = joinPath(dir, `day-${day}.parquet`);
    const n = await copyTo(`SELECT ${factSelect()} FROM ${readCsvSql(files)}`, local);
    const want = files.reduce((m, f) => m + (s.fileRows.get(f) ?? 0), 0);
    if (n !== want) throw new RetriableError(`staged file ${files.join(', ')} reads back ${n} rows, the stage wrote ${want}; nothing was published, run again`);
    written.push({ day, local });
  }
  const stats = await factFileStats(conn, written.map((w) => w.local));
  for (const w of written) {
    await fsyncFile(w.local); // durable before the publish moves it (the publish's own fsync then has nothing to write)
    out.days.set(w.day, { local: w.local, stats: stats.get(w.local)! });
  }
  return out;
}

/**
 * The publish of a converted prepare, under the writer lock: the winners are matched against the source's event
 * index (versions.ts): known ids are dropped, stale or conflicting, corrections add a RESTATEMENT on the new day
 * and a REVERSAL on the recorded day. A day none of whose rows the table knew (the usual case) is published as
 * the prepare wrote it: its file moved into the commit's blobs, its figures those the prepare read back. Only a day
 * that lost rows to the index, or gains correction rows, is written again (sorted in DuckDB).
 */
export async function publishConverted(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, input: { source: string; runId: string }, c: Converted, t: TuningOptions, counts: Counts): Promise<WrittenDays> {
  const { source } = input;
  counts.duplicatesInBatch += c.duplicatesInBatch;
  counts.conflicts += c.conflicts.length;
  const conflicts = [...c.conflicts];
  const out = new Map<string, FileEntry[]>();
  if (c.days.size === 0) return { days: out, index: null, conflicts };
  const winners = `(SELECT ${columnList(FACT_COLUMNS)} FROM ${readParquetSql([...c.days.values()].map((d) => d.local))})`;
  const res = await resolveVersions(conn, core, tx, source, input.runId, winners);
  for (const k of ['duplicatesExisting', 'staleVersions', 'conflicts', 'corrections', 'indexRowsRead'] as const) counts[k] += res.counts[k];
  conflicts.push(...res.conflicts);
  // the index segment first: it reads the prepared files, which the days below move into the commit
  const index = await writeIndexSegment(conn, core, tx, source, winners, res);
  const touched = new Set<string>();
  if (res.segments.length > 0) for (const [d] of await queryAll(conn, `SELECT DISTINCT day FROM ${matchedTable()}`)) touched.add(String(d));
  const days = [...new Set([...c.days.keys(), ...res.reversalDays.keys()])].sort();
  for (const day of days) {
    const dir = partitionDir(FACT_DIR_KEY, day);
    const name = `part-${tx.commitId}-0000.parquet`;
    const blob = `${tx.blobDir}/${FACT_TABLE}/${dir}/${name}`;
    const staged = c.days.get(day);
    if (staged && !touched.has(day) && !res.restatementDays.has(day) && !res.reversalDays.has(day)) {
      // nothing of the day was known to the table: the prepare's file is the day's new file
      out.set(day, [await movedFileEntry(core, staged, blob, name)]);
      continue;
    }
    const local = joinPath(await core.storage.scratchDir(tx.tmpDir), name.replace(/\.parquet$/, `-${day}.parquet`));
    const parts: string[] = [];
    if (staged) {
      const rel = `(SELECT ${columnList(FACT_COLUMNS)} FROM ${readParquetSql([staged.local])})`;
      parts.push(`SELECT * FROM ${rel} WHERE ${originalsWhere()}`);
      if (res.restatementDays.has(day)) parts.push(restatementsSql(rel));
    }
    if (res.reversalDays.has(day)) parts.push(reversalsSql(day));
    const sort = res.restatementDays.has(day) || res.reversalDays.has(day);
    const n = await copyCount(
      conn,
      `COPY (${parts.length === 1 ? parts[0] : parts.map((p) => `(${p})`).join(' UNION ALL ')}${sort ? ` ORDER BY ${FACT_ORDER_SQL}` : ''})
        TO ${sqlString(local)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${t.rowGroupRows})`,
    );
    if (n === 0) {
      await removeLocal(local);
      out.set(day, []);
      continue;
    }
    out.set(day, [await duckFileEntry(core, conn, local, blob, name, { sorted: true, group: null })]);
  }
  return { days: out, index, conflicts };
}

/** The manifest entry of a prepare's day file published unchanged: moved into the commit's blobs, the figures the prepare read back. */
async function movedFileEntry(core: WarehouseCore, d: ConvertedDay, blob: string, name: string): Promise<FileEntry> {
  await core.storage.putFile(blob, d.local);
  return fileEntryOf(d.stats, name, blob, await core.storage.size(blob), { sorted: true, group: null });
}

function fileEntryOf(st: FileStats, name: string, blob: string, bytes: number, o: { sorted: boolean; group: string | null }): FileEntry {
  const acc = new TotalsAccumulator();
  for (const x of st.totals) acc.add(x.billing_source, x.event_type, x.currency, x.rows, x.sum, x.netRows);
  return {
    name,
    blob,
    rows: st.rows,
    bytes,
    minTs: st.minTs === null ? null : microsToIso(st.minTs),
    maxTs: st.maxTs === null ? null : microsToIso(st.maxTs),
    totals: acc.result(),
    sorted: o.sorted,
    group: o.group,
  };
}

/**
 * The manifest entry of a fact file DuckDB wrote at the local scratch path `local`: counted and totalled by
 * DuckDB, then stored as `blob` through the storage seam (durably; the scratch file is gone afterwards).
 */
export async function duckFileEntry(core: WarehouseCore, conn: DuckDBConnection, local: string, blob: string, name: string, o: { sorted: boolean; group: string | null }): Promise<FileEntry> {
  const st = (await factFileStats(conn, [local])).get(local)!;
  await core.storage.putFile(blob, local);
  return fileEntryOf(st, name, blob, await core.storage.size(blob), o);
}
