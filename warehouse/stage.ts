/**
 * The two halves of an ingest commit's data path:
 * - stageEvents: streams the events into a column buffer (de-duplicated by event_id as they arrive); past
 *   `spillRows` rows the buffer is written out as sorted run files per day (snappy Parquet in the commit's
 *   scratch directory) and started again, so memory stays at about one buffer whatever the batch size.
 * - writing: a batch that fit in memory is sorted with an index array and written by parquet-wasm, after
 *   one DuckDB query per day has found the event_ids already in the partition. A spilled batch is merged
 *   entirely inside DuckDB (cross-run duplicates, anti-join with the partition, sort, Parquet) under its
 *   memory limit, and the file's totals are read back by DuckDB.
 */
import { open } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import { FactBuffer, ORD_COLUMN } from './buffer.js';
import type { Tx, WarehouseCore } from './core.js';
import { columnList, copyCount, factFileStats, queryAll, readParquetSql, sqlString } from './duck.js';
import { writeFactFiles } from './files.js';
import { writeParquetFile } from './parquet.js';
import { FACT_COLUMNS, FACT_ORDER_SQL, FACT_PARTITION_KEY, FACT_TABLE, microsToIso } from './schema.js';
import { TotalsAccumulator, type FileEntry } from './state.js';
import type { IngestInput } from './ingest.js';
import type { TuningOptions } from './options.js';

const RUN_COLUMNS = [...FACT_COLUMNS, ORD_COLUMN];

export interface Staged {
  /** The in-memory rows (empty once anything was spilled: then everything is in `runs`). */
  buffer: FactBuffer;
  /** Sorted run files per day (absolute paths), when the batch spilled. */
  runs: Map<string, string[]>;
  /** Live rows written into each day's runs. */
  runRows: Map<string, number>;
  rowsIn: number;
  rejected: QuarantineEntry[];
  /** In-batch duplicates removed while staging (cross-run ones are counted by the merge). */
  duplicatesInBatch: number;
}

export async function stageEvents(core: WarehouseCore, tx: Tx, input: IngestInput, t: TuningOptions): Promise<Staged> {
  const s: Staged = { buffer: new FactBuffer(), runs: new Map(), runRows: new Map(), rowsIn: 0, rejected: [], duplicatesInBatch: 0 };
  let runNo = 0;
  const spill = async () => {
    const buf = s.buffer;
    for (const [day, idx] of buf.sortedByDay()) {
      const abs = core.storage.abs(`${tx.tmpDir}/run-${day}-${String(runNo++).padStart(5, '0')}.parquet`);
      await writeParquetFile(abs, RUN_COLUMNS, buf.blocks(idx, t.rowGroupRows), { rowGroupRows: t.rowGroupRows, compression: 'snappy' });
      s.runs.set(day, [...(s.runs.get(day) ?? []), abs]);
      s.runRows.set(day, (s.runRows.get(day) ?? 0) + idx.length);
    }
    s.duplicatesInBatch += buf.duplicates;
    s.buffer = new FactBuffer();
    await core.fault('ingest:after-spill');
  };
  for await (const ev of input.events as AsyncIterable<BillingEvent>) {
    s.rowsIn++;
    try {
      if (ev.billingSource !== input.source) throw new Error(`event ${ev.eventId} is from source ${ev.billingSource}, but this load is for ${input.source}`);
      s.buffer.append(ev, s.rowsIn);
    } catch (e) {
      s.rejected.push({
        billingSource: ev.billingSource,
        sourceFile: ev.lineage.sourceFile,
        sourcePosition: ev.lineage.sourcePosition,
        field: null,
        rawValue: null,
        reason: 'BAD_VALUE',
        message: `the warehouse cannot store this event: ${(e as Error).message}`,
        rawRecord: JSON.stringify({ eventId: ev.eventId, eventTs: String(ev.eventTs), eventDate: ev.eventDate, billingSource: ev.billingSource }),
        ingestRunId: input.runId,
      });
      continue;
    }
    if (s.buffer.length > t.spillRows) await spill();
  }
  if (s.runs.size > 0 && s.buffer.length > 0) await spill();
  if (s.runs.size === 0) s.duplicatesInBatch += s.buffer.duplicates;
  return s;
}

type ExistingOf = (day: string) => readonly FileEntry[];
interface Counts {
  duplicatesInBatch: number;
  duplicatesExisting: number;
}

/** Existing rows that can share an event_id with this load: event_id hashes the source, so only its rows. */
function existingIdsSql(core: WarehouseCore, files: readonly FileEntry[], source: string): string {
  return `SELECT event_id FROM ${readParquetSql(files.map((f) => core.storage.abs(f.blob)))} WHERE billing_source = ${sqlString(source)}`;
}

/** A batch held in memory: drop event_ids already in their partition, then write each day sorted. */
export async function writeBufferedDays(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, source: string, buf: FactBuffer, existingOf: ExistingOf, t: TuningOptions, counts: Counts): Promise<Map<string, FileEntry[]>> {
  const checkDays = new Set(buf.days().filter((d) => existingOf(d).length > 0));
  if (checkDays.size > 0) {
    await conn.run('CREATE OR REPLACE TABLE batch_ids (event_id VARCHAR, event_date VARCHAR)');
    const app = await conn.createAppender('batch_ids');
    try {
      for (let i = 0; i < buf.length; i++) {
        if (buf.dropped.has(i) || !checkDays.has(buf.day[i]!)) continue;
        app.appendVarchar(buf.eventId[i]!);
        app.appendVarchar(buf.day[i]!);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
    for (const day of checkDays) {
      const dups = await queryAll(conn, `SELECT event_id FROM batch_ids WHERE event_date = ${sqlString(day)} AND event_id IN (${existingIdsSql(core, existingOf(day), source)})`);
      for (const [id] of dups) if (buf.dropLive(String(id))) counts.duplicatesExisting++;
    }
  }
  const out = new Map<string, FileEntry[]>();
  for (const [day, idx] of buf.sortedByDay()) {
    const dir = `${FACT_PARTITION_KEY}=${day}`;
    out.set(day, await writeFactFiles(core, tx, FACT_TABLE, dir, buf.blocks(idx, t.rowGroupRows), { rowGroupRows: t.rowGroupRows, targetBytes: null, sorted: true, group: null, prefix: 'part' }));
  }
  return out;
}

/** A spilled batch: DuckDB picks cross-run winners, drops ids already in the partition, sorts and writes. */
export async function writeSpilledDays(core: WarehouseCore, tx: Tx, conn: DuckDBConnection, source: string, s: Staged, existingOf: ExistingOf, t: TuningOptions, counts: Counts): Promise<Map<string, FileEntry[]>> {
  const all = readParquetSql([...s.runs.values()].flat());
  // rows that lose to another row with the same event_id in another run (in-run duplicates are gone already)
  await conn.run(`CREATE OR REPLACE TABLE losers AS
    SELECT _ord, CAST(event_date AS VARCHAR) AS day FROM (
      SELECT _ord, event_date, row_number() OVER (PARTITION BY event_id ORDER BY seqn DESC, source_file DESC, source_position DESC, ingest_run_id DESC, _ord ASC) AS rn
      FROM ${all} WHERE event_id IN (SELECT event_id FROM ${all} GROUP BY event_id HAVING count(*) > 1)
    ) WHERE rn > 1`);
  const lost = new Map<string, number>();
  for (const [day, n] of await queryAll(conn, 'SELECT day, count(*)::BIGINT FROM losers GROUP BY day')) lost.set(String(day), Number(n as bigint));
  counts.duplicatesInBatch += [...lost.values()].reduce((a, b) => a + b, 0);
  const out = new Map<string, FileEntry[]>();
  for (const day of [...s.runs.keys()].sort()) {
    const dir = `${FACT_PARTITION_KEY}=${day}`;
    const name = `part-${tx.commitId}-0000.parquet`;
    const blob = `${tx.blobDir}/${FACT_TABLE}/${dir}/${name}`;
    await core.storage.mkdirp(`${tx.blobDir}/${FACT_TABLE}/${dir}`);
    const existing = existingOf(day);
    const abs = core.storage.abs(blob);
    const n = await copyCount(
      conn,
      `COPY (SELECT ${columnList(FACT_COLUMNS)} FROM ${readParquetSql(s.runs.get(day)!)}
        WHERE _ord NOT IN (SELECT _ord FROM losers)${existing.length > 0 ? ` AND event_id NOT IN (${existingIdsSql(core, existing, source)})` : ''}
        ORDER BY ${FACT_ORDER_SQL}) TO ${sqlString(abs)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${t.rowGroupRows})`,
    );
    counts.duplicatesExisting += (s.runRows.get(day) ?? 0) - (lost.get(day) ?? 0) - n;
    if (n === 0) {
      await core.storage.removeFile(blob);
      out.set(day, []);
      continue;
    }
    out.set(day, [await duckFileEntry(core, conn, blob, name, { sorted: true, group: null })]);
  }
  return out;
}

/** fsyncs a file DuckDB wrote (DuckDB does not promise durability of COPY output). */
export async function syncFile(abs: string): Promise<void> {
  const fh = await open(abs, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The manifest entry of a fact file written by DuckDB: fsynced, then counted and totalled by DuckDB. */
export async function duckFileEntry(core: WarehouseCore, conn: DuckDBConnection, blob: string, name: string, o: { sorted: boolean; group: string | null }): Promise<FileEntry> {
  const abs = core.storage.abs(blob);
  await syncFile(abs);
  const st = (await factFileStats(conn, [abs])).get(abs)!;
  const acc = new TotalsAccumulator();
  for (const x of st.totals) acc.add(x.billing_source, x.event_type, x.currency, x.rows, x.sum);
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
