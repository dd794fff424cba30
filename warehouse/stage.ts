/**
 * The data path of an ingest commit. JavaScript only formats text and sorts an index; DuckDB writes Parquet.
 * - stageEvents: each event becomes one CSV line (money as its exact 9-place text, timestamps as µs
 *   integers) held with its sort and de-duplication keys (LineBuffer: no row objects). At the end, or every
 *   `spillRows` rows or `spillBytes` of line text, each day's live lines are written in partition order to a CSV file in the commit's
 *   scratch directory, so memory stays at about one buffer of text whatever the batch size.
 * - writeStagedDays: DuckDB turns each day's CSV into the day's Parquet file with COPY ... TO, dropping
 *   event_ids already in the partition; a spilled batch is merged there too (cross-run winners, ORDER BY
 *   under memory_limit). Each written file's counts and exact totals are read back by DuckDB for the manifest.
 */
import { join as joinPath } from 'node:path';
import { RetriableError } from '../events/errors.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { QuarantineEntry } from '../events/model.js';
import type { ColumnSpec } from './columns.js';
import type { Tx, WarehouseCore } from './core.js';
import { columnList, copyCount, factFileStats, queryAll, readParquetSql, sqlString } from './duck.js';
import { FACT_COLUMNS, FACT_DIR_KEY, FACT_ORDER_SQL, FACT_TABLE, microsToIso, partitionDir } from './schema.js';
import { stageEventsAt, type Staged } from './staging.js';
import { removeLocal } from './scratch.js';
export { stageEventsAt, type Staged, type StageInput } from './staging.js';
import { TotalsAccumulator, type FileEntry, type IndexChange } from './state.js';
import { conflictEntry, originalsWhere, resolveVersions, restatementsSql, reversalsSql, writeIndexSegment, type VersionCounts } from './versions.js';
import type { IngestInput } from './ingest.js';
import type { TuningOptions } from './options.js';

const LOSERS_TABLE = 'ingest_losers';
const STAGED_TABLE = 'ingest_staged';

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
 * Rows staged = rows the stage wrote, per file, as DuckDB reads them: a staged file that lost rows (a short write,
 * a disk that filled and emptied again) fails the commit before anything is published, never counted as duplicates.
 */
async function verifyStaged(conn: DuckDBConnection, s: Staged, from: string): Promise<void> {
  const files = [...s.fileRows.keys()];
  if (files.length === 0) return;
  const got = new Map<string, number>();
  for (const [f, n] of await queryAll(conn, `SELECT filename, count(*)::BIGINT FROM ${from} GROUP BY ALL`)) got.set(String(f), Number(n as bigint));
  for (const [f, want] of s.fileRows) {
    const n = got.get(f) ?? 0;
    if (n !== want) throw new RetriableError(`staged file ${f} reads back ${n} rows, the stage wrote ${want}; nothing was published, run again`);
  }
}

function readCsvSql(files: readonly string[], filename = false): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  return `read_csv(${list}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false${filename ? ', filename = true' : ''}, columns = ${csvColumnsSql()})`;
}

/** FACT_COLUMNS from a staged CSV relation (event_ts arrives as µs). */
function factSelect(): string {
  return FACT_COLUMNS.map((s) => {
    if (s.kind === 'timestamp_us_utc') return `make_timestamptz("${s.name}") AS "${s.name}"`;
    if (s.kind === 'decimal38_9') return `CAST(CAST("${s.name}__i" AS DECIMAL(38,9)) + "${s.name}__f" * 0.000000001 AS DECIMAL(38,9)) AS "${s.name}"`;
    return `"${s.name}"`;
  }).join(', ');
}

/**
 * Where the staged rows are read from. A batch that fit in memory (≤ spillRows rows) is parsed once into a
 * temporary table (fact columns + _ord + filename) that every pass of the publish reads: the read-back check, the
 * version match, each day's COPY and the index segment. A spilled batch, which may be far larger than memory,
 * is read from its CSV runs in each pass.
 */
interface StagedSource {
  /** The staged rows of `day` (all days: undefined) that won inside the batch, with the fact columns, in staged order. */
  winners(day?: string): string;
  /** Relation with `filename` for the read-back check. */
  counted: string;
  drop(): Promise<void>;
}

async function stagedSource(conn: DuckDBConnection, s: Staged, files: readonly string[]): Promise<StagedSource> {
  if (!s.spilled) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${STAGED_TABLE} AS SELECT ${factSelect()}, filename FROM ${readCsvSql(files, true)}`);
    const cols = FACT_COLUMNS.map((c) => `"${c.name}"`).join(', ');
    return {
      winners: (day) => `(SELECT ${cols} FROM ${STAGED_TABLE}${day ? ` WHERE event_date = DATE ${sqlString(day)}` : ''})`,
      counted: STAGED_TABLE,
      drop: () => conn.run(`DROP TABLE IF EXISTS ${STAGED_TABLE}`).then(() => undefined),
    };
  }
  const byDay = new Map<string, string[]>([...s.files]);
  return {
    winners: (day) => `(SELECT ${factSelect()} FROM ${readCsvSql(day ? byDay.get(day) ?? [] : files)} WHERE _ord NOT IN (SELECT _ord FROM ${LOSERS_TABLE}))`,
    counted: readCsvSql(files, true),
    drop: async () => undefined,
  };
}

/**
 * Writes the staged rows: one file per day. A batch that fit in memory is already sorted and de-duplicated:
 * DuckDB converts it without sorting, keeping the order. A spilled batch is merged in DuckDB: cross-run
 * winners by a window over the runs, then ORDER BY under memory_limit. The winners are then matched against
 * the source's event index (versions.ts): known ids are dropped, stale or conflicting, corrections add a
 * RESTATEMENT on the new day and a REVERSAL on the recorded day (such days are sorted in DuckDB).
 */
export async function writeStagedDays(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, input: { source: string; runId: string }, s: Staged, t: TuningOptions, counts: Counts): Promise<WrittenDays> {
  counts.duplicatesInBatch += s.duplicatesInBatch;
  const allFiles = [...s.files.values()].flat();
  const src = await stagedSource(conn, s, allFiles);
  try {
    return await writeFrom(core, tx, conn, input, s, t, counts, src, allFiles);
  } finally {
    await src.drop();
  }
}

async function writeFrom(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, input: { source: string; runId: string }, s: Staged, t: TuningOptions, counts: Counts, src: StagedSource, allFiles: string[]): Promise<WrittenDays> {
  const { source } = input;
  await verifyStaged(conn, s, src.counted);
  const conflicts = s.conflicts.map((c) => conflictEntry(source, input.runId, c));
  counts.conflicts += conflicts.length;
  const lost = new Map<string, number>();
  if (s.spilled) {
    const all = readCsvSql(allFiles);
    const dec = (c: string) => `CAST(CAST(${c}__i AS DECIMAL(38,9)) + ${c}__f * 0.000000001 AS DECIMAL(38,9))::VARCHAR`;
    // the same text as lines.ts versionValues
    const vals = `event_type || ' ' || ${dec('amount')} || ' ' || currency || ' at ' || strftime(make_timestamptz(event_ts) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') || coalesce(' (mrr_delta ' || ${dec('mrr_delta')} || ')', '')`;
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${LOSERS_TABLE} AS
      SELECT _ord, CAST(event_date AS VARCHAR) AS day, event_id, seqn, source_file, source_position, vals, seqn = w_seqn AND vals <> w_vals AS conflict, w_vals, w_at FROM (
        SELECT _ord, event_date, event_id, seqn, source_file, source_position, vals,
          row_number() OVER w AS rn, first_value(seqn) OVER w AS w_seqn, first_value(vals) OVER w AS w_vals, first_value(source_file || ':' || source_position) OVER w AS w_at
        FROM (SELECT *, ${vals} AS vals FROM ${all} WHERE event_id IN (SELECT event_id FROM ${all} GROUP BY event_id HAVING count(*) > 1))
        WINDOW w AS (PARTITION BY event_id ORDER BY seqn DESC, source_file DESC, source_position DESC, ingest_run_id DESC, _ord ASC)
      ) WHERE rn > 1`);
    for (const [day, n] of await queryAll(conn, `SELECT day, count(*)::BIGINT FROM ${LOSERS_TABLE} GROUP BY day`)) lost.set(String(day), Number(n as bigint));
    const cross = await queryAll(conn, `SELECT event_id, seqn, source_file, source_position, vals, w_vals, w_at FROM ${LOSERS_TABLE} WHERE conflict ORDER BY _ord`);
    for (const r of cross) {
      conflicts.push(conflictEntry(source, input.runId, { eventId: String(r[0]), seqn: r[1] as bigint, sourceFile: String(r[2]), sourcePosition: Number(r[3] as bigint), values: String(r[4]), keptValues: String(r[5]), keptAt: String(r[6]) }));
    }
    counts.conflicts += cross.length;
    counts.duplicatesInBatch += [...lost.values()].reduce((a, b) => a + b, 0) - cross.length;
  }
  const res = await resolveVersions(conn, core, tx, source, input.runId, src.winners());
  for (const k of ['duplicatesExisting', 'staleVersions', 'conflicts', 'corrections'] as const) counts[k] += res.counts[k];
  conflicts.push(...res.conflicts);
  const out = new Map<string, FileEntry[]>();
  const days = [...new Set([...s.files.keys(), ...res.reversalDays.keys()])].sort();
  for (const day of days) {
    const dir = partitionDir(FACT_DIR_KEY, day);
    const name = `part-${tx.commitId}-0000.parquet`;
    const blob = `${tx.blobDir}/${FACT_TABLE}/${dir}/${name}`;
    const local = joinPath(await core.storage.scratchDir(tx.tmpDir), name.replace(/\.parquet$/, `-${day}.parquet`));
    const staged = s.files.get(day);
    const parts: string[] = [];
    if (staged) {
      const rel = src.winners(day);
      parts.push(`SELECT * FROM ${rel} WHERE ${originalsWhere()}`);
      if (res.restatementDays.has(day)) parts.push(restatementsSql(rel));
    }
    if (res.reversalDays.has(day)) parts.push(reversalsSql(day));
    const sort = s.spilled || res.restatementDays.has(day) || res.reversalDays.has(day);
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
  const index = await writeIndexSegment(conn, core, tx, source, src.winners(), res);
  if (s.spilled) await conn.run(`DROP TABLE IF EXISTS ${LOSERS_TABLE}`);
  return { days: out, index, conflicts };
}

/**
 * The manifest entry of a fact file DuckDB wrote at the local scratch path `local`: counted and totalled by
 * DuckDB, then stored as `blob` through the storage seam (durably; the scratch file is gone afterwards).
 */
export async function duckFileEntry(core: WarehouseCore, conn: DuckDBConnection, local: string, blob: string, name: string, o: { sorted: boolean; group: string | null }): Promise<FileEntry> {
  const st = (await factFileStats(conn, [local])).get(local)!;
  await core.storage.putFile(blob, local);
  const acc = new TotalsAccumulator();
  for (const x of st.totals) acc.add(x.billing_source, x.event_type, x.currency, x.rows, x.sum, x.netRows);
  return {
    name,
    blob,
    rows: st.rows,
    bytes: await core.storage.size(blob),
    minTs: st.minTs === null ? null : microsToIso(st.minTs),
    maxTs: st.maxTs === null ? null : microsToIso(st.maxTs),
    totals: acc.result(),
    sorted: o.sorted,
    group: o.group,
  };
}
