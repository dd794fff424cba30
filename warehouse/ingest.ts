/**
 * commitIngest: one source load (windows + input files) → one commit.
 * Streams events, keeps one row per event_id (highest seqn, then later lineage; counted), drops event_ids
 * already in their partition (counted), sorts each day by (billing_source, event_type, event_ts, seqn) and
 * writes one file per touched day. Large batches spill sorted runs to the commit's scratch directory and
 * DuckDB merges them under its memory limit. Records the warehouse cannot store go to quarantine.
 */
import { createHash } from 'node:crypto';
import { windowKey, type Window } from '../partitions/index.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import type { Tx, TxOutcome, WarehouseCore } from './core.js';
import { cellSelectList, readParquetSql, streamBlocks, withDuck } from './duck.js';
import { selectRows, type Block } from './columns.js';
import { writeFactFiles, writeSmallTable } from './files.js';
import { chunksOf, writeParquetFile } from './parquet.js';
import { FACT_COLUMNS, FACT_ORDER_SQL, FACT_PARTITION_KEY, FACT_TABLE, QUARANTINE_COLUMNS, QUARANTINE_PARTITION_KEY, QUARANTINE_TABLE, compareFactRows, dayOfMicros, factRowFromEvent, getCell, quarantineRow, supersedes, type FactRow } from './schema.js';
import { partitionPath, type PartitionChange } from './state.js';
import type { TuningOptions } from './options.js';

export interface IngestInput {
  runId: string;
  source: string;
  /** Source windows this commit covers. */
  windows: Window[];
  /** Files read, path relative to the landing zone. */
  inputs: { path: string; sha256: string; bytes: number }[];
  events: AsyncIterable<BillingEvent> | Iterable<BillingEvent>;
  /** Filled by the producer while `events` is iterated; read after it ends. */
  quarantine: QuarantineEntry[];
}

export interface IngestResult {
  commitId: string | null;
  version: number;
  /** True when this exact load (source, windows, inputs) was committed before: nothing was read or written. */
  skipped: boolean;
  rowsIn: number;
  rowsWritten: number;
  duplicatesInBatch: number;
  duplicatesExisting: number;
  quarantined: number;
  filesAdded: number;
  /** Days (YYYY-MM-DD) that received rows. */
  partitions: string[];
}

/** Identity of a load: the same source, windows and input fingerprints commit at most once. */
export function loadFingerprint(source: string, windows: readonly Window[], inputs: readonly { path: string; sha256: string }[]): string {
  const doc = JSON.stringify({ source, windows: windows.map(windowKey).sort(), inputs: inputs.map((i) => `${i.path}@${i.sha256}`).sort() });
  return createHash('sha256').update(doc).digest('hex');
}

/** Winner of an event_id within the batch: enough to recognise its row again, not the row itself. */
interface Winner {
  seqn: bigint;
  file: string;
  pos: bigint;
  run: string;
  day: string;
  existing: boolean;
  emitted: boolean;
}

function sameRow(w: Winner, seqn: bigint, pos: bigint, file: string, run: string, day: string): boolean {
  return w.seqn === seqn && w.pos === pos && w.file === file && w.run === run && w.day === day;
}

export async function ingestInTx(core: WarehouseCore, tx: Tx, input: IngestInput, t: TuningOptions): Promise<{ outcome: TxOutcome | null; result: IngestResult }> {
  const fingerprint = loadFingerprint(input.source, input.windows, input.inputs);
  const empty: IngestResult = { commitId: null, version: tx.state.version, skipped: true, rowsIn: 0, rowsWritten: 0, duplicatesInBatch: 0, duplicatesExisting: 0, quarantined: 0, filesAdded: 0, partitions: [] };
  if (tx.entries.some((e) => e.fingerprint === fingerprint)) return { outcome: null, result: empty };

  const winners = new Map<string, Winner>();
  const buffers = new Map<string, FactRow[]>();
  const runs = new Map<string, string[]>();
  const rejected: QuarantineEntry[] = [];
  let buffered = 0;
  let rowsIn = 0;
  let valid = 0;
  let runNo = 0;

  const spill = async () => {
    for (const [day, rows] of buffers) {
      if (rows.length === 0) continue;
      rows.sort(compareFactRows);
      const abs = core.storage.abs(`${tx.tmpDir}/run-${day}-${String(runNo++).padStart(5, '0')}.parquet`);
      await writeParquetFile(abs, FACT_COLUMNS, chunksOf(rows, t.rowGroupRows, getCell<FactRow>), { rowGroupRows: t.rowGroupRows });
      runs.set(day, [...(runs.get(day) ?? []), abs]);
    }
    buffers.clear();
    buffered = 0;
    await core.fault('ingest:after-spill');
  };

  for await (const ev of input.events as AsyncIterable<BillingEvent>) {
    rowsIn++;
    let row: FactRow;
    try {
      if (ev.billingSource !== input.source) throw new Error(`event ${ev.eventId} is from source ${ev.billingSource}, but this load is for ${input.source}`);
      row = factRowFromEvent(ev);
    } catch (e) {
      rejected.push({
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
    valid++;
    const prev = winners.get(row.event_id);
    if (!prev || supersedes(row, { seqn: prev.seqn, source_file: prev.file, source_position: prev.pos, ingest_run_id: prev.run } as FactRow)) {
      winners.set(row.event_id, { seqn: row.seqn, file: row.source_file, pos: row.source_position, run: row.ingest_run_id, day: row.event_date, existing: false, emitted: false });
    }
    let buf = buffers.get(row.event_date);
    if (!buf) buffers.set(row.event_date, (buf = []));
    buf.push(row);
    if (++buffered > t.spillRows) await spill();
  }
  const duplicatesInBatch = valid - winners.size;
  const days = [...new Set([...buffers.keys(), ...runs.keys()])].sort();
  if (runs.size > 0 && buffered > 0) await spill();
  await core.fault('ingest:after-read');

  const changes: PartitionChange[] = [];
  let duplicatesExisting = 0;
  let rowsWritten = 0;
  let filesAdded = 0;
  const written: string[] = [];
  await withDuck({ memoryLimit: t.memoryLimit, tempDir: core.storage.abs(`${tx.tmpDir}/duck`), threads: t.threads }, async (conn) => {
    for (const day of days) {
      const dir = `${FACT_PARTITION_KEY}=${day}`;
      const path = partitionPath(FACT_TABLE, dir);
      const existing = tx.state.partitions.get(path);
      if (existing && existing.files.length > 0) {
        const files = existing.files.map((f) => core.storage.abs(f.blob));
        for await (const block of streamBlocks(conn, `SELECT event_id FROM ${readParquetSql(files)}`, [{ name: 'event_id', kind: 'utf8', nullable: false }], 8192)) {
          for (const event_id of block.column('event_id') as string[]) {
            const w = winners.get(event_id);
            if (w && w.day === day && !w.existing) {
              w.existing = true;
              duplicatesExisting++;
            }
          }
        }
      }
      const keeps = (w: Winner | undefined, seqn: bigint, pos: bigint, file: string, run: string, date: string): boolean => {
        if (!w || w.existing || w.emitted || !sameRow(w, seqn, pos, file, run, date)) return false;
        w.emitted = true;
        return true;
      };
      let source: AsyncIterator<Block>;
      if (runs.has(day)) {
        const sql = `SELECT ${cellSelectList(FACT_COLUMNS)} FROM ${readParquetSql(runs.get(day)!)} ORDER BY ${FACT_ORDER_SQL}`;
        const blocks = streamBlocks(conn, sql, FACT_COLUMNS, t.rowGroupRows);
        source = (async function* () {
          for await (const b of blocks) {
            const [id, sq, ps, fl, rn, dt] = ['event_id', 'seqn', 'source_position', 'source_file', 'ingest_run_id', 'event_date'].map((c) => b.column(c));
            const idx: number[] = [];
            for (let i = 0; i < b.length; i++) if (keeps(winners.get(id![i] as string), sq![i] as bigint, ps![i] as bigint, fl![i] as string, rn![i] as string, dt![i] as string)) idx.push(i);
            if (idx.length) yield idx.length === b.length ? b : selectRows(b, FACT_COLUMNS, idx);
          }
        })();
      } else {
        const rows = buffers.get(day)!.sort(compareFactRows);
        buffers.delete(day);
        const kept = rows.filter((r) => keeps(winners.get(r.event_id), r.seqn, r.source_position, r.source_file, r.ingest_run_id, r.event_date));
        source = chunksOf(kept, t.rowGroupRows, getCell<FactRow>);
      }
      const files = await writeFactFiles(core, tx, FACT_TABLE, dir, source, { rowGroupRows: t.rowGroupRows, targetBytes: null, sorted: true, group: null, prefix: 'part' });
      if (files.length === 0) continue;
      rowsWritten += files.reduce((n, f) => n + f.rows, 0);
      filesAdded += files.length;
      written.push(day);
      const state = await core.finishPartition(tx, {
        table: FACT_TABLE,
        dir,
        files: [...(existing?.files ?? []), ...files],
        successBlob: null,
        dataVersion: tx.version,
      });
      changes.push({ path, state });
    }
  });
  await core.fault('ingest:after-write');

  const quarantine = [...input.quarantine, ...rejected];
  if (quarantine.length > 0) changes.push(await quarantineChange(core, tx, quarantine, t.rowGroupRows));

  const result: IngestResult = {
    commitId: tx.commitId,
    version: tx.version,
    skipped: false,
    rowsIn,
    rowsWritten,
    duplicatesInBatch,
    duplicatesExisting,
    quarantined: quarantine.length,
    filesAdded,
    partitions: written,
  };
  const outcome: TxOutcome = {
    operation: 'ingest',
    runId: input.runId,
    source: input.source,
    windows: input.windows.map(windowKey),
    inputs: input.inputs.map((i) => `${i.path}@${i.sha256}`),
    fingerprint,
    changes,
    summary: { rowsIn, rowsWritten, duplicatesInBatch, duplicatesExisting, quarantined: quarantine.length, filesAdded },
  };
  return { outcome, result };
}

/** Appends a quarantine file to the partition of the commit's UTC day. */
export async function quarantineChange(core: WarehouseCore, tx: Tx, entries: readonly QuarantineEntry[], rowGroupRows: number): Promise<PartitionChange> {
  const committedUs = BigInt(Date.parse(tx.committedAt)) * 1000n;
  const dir = `${QUARANTINE_PARTITION_KEY}=${dayOfMicros(committedUs)}`;
  const path = partitionPath(QUARANTINE_TABLE, dir);
  const name = `quarantine-${tx.commitId}.parquet`;
  const blob = `${tx.blobDir}/${QUARANTINE_TABLE}/${dir}/${name}`;
  await core.storage.mkdirp(`${tx.blobDir}/${QUARANTINE_TABLE}/${dir}`);
  const rows = await writeSmallTable(core.storage.abs(blob), QUARANTINE_COLUMNS, entries.map((q) => quarantineRow(q, tx.version, committedUs)), rowGroupRows);
  const prev = tx.state.partitions.get(path);
  const file = { name, blob, rows, bytes: await core.storage.size(blob), minTs: null, maxTs: null, totals: [], sorted: false, group: null };
  const state = await core.finishPartition(tx, { table: QUARANTINE_TABLE, dir, files: [...(prev?.files ?? []), file], successBlob: null, dataVersion: tx.version });
  return { path, state };
}
