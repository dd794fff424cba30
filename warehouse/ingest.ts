/**
 * commitIngest: one source load (windows + input files) → one commit.
 * Streams events into a column buffer (stage.ts), keeps one row per event_id (highest seqn, then later
 * lineage; counted), matches them against the source's event index (versions.ts: duplicates, stale
 * versions, conflicts and corrections, whatever day the recorded row is on), sorts each day by
 * (billing_source, event_type, event_ts, seqn) and writes one file per touched day. Large batches spill
 * sorted runs to the commit's scratch directory and DuckDB merges them under its memory limit. Records the
 * warehouse cannot store go to quarantine.
 */
import { createHash } from 'node:crypto';
import { windowKey, type Window } from '../partitions/index.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import type { Tx, TxOutcome, WarehouseCore } from './core.js';
import { randomBytes } from 'node:crypto';
import { asDiskFull } from '../events/io.js';
import { withSharedDuck } from './duck.js';
import { removeDeadProcessDirs } from './scratch.js';
import { DUCK_SPILL_DIR } from './core.js';
import { putSmallTable } from './files.js';
import { dayOfMicros, FACT_DIR_KEY, FACT_TABLE, partitionDir, QUARANTINE, QUARANTINE_COLUMNS, QUARANTINE_DIR_KEY, QUARANTINE_TABLE, quarantineRow } from './schema.js';
import { convertStaged, publishConverted, stageEvents, type Converted, type Staged } from './stage.js';
export type { Staged } from './stage.js';
import { committedLoad, loadBuckets, partitionPath, type IndexChange, type PartitionChange } from './state.js';
import type { TuningOptions } from './options.js';
import { boundAppended, writeTablesInTx, type TableWrite } from './tables.js';

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
  /**
   * Writes to other tables committed in the same transaction (e.g. the source's MRR state, tables.ts); like
   * `quarantine`, may be filled while `events` is iterated, read after it ends.
   */
  tables?: TableWrite[];
}

export interface IngestResult {
  commitId: string | null;
  version: number;
  /** True when this exact load (source, windows, inputs) was committed before: nothing was read or written. */
  skipped: boolean;
  rowsIn: number;
  rowsWritten: number;
  duplicatesInBatch: number;
  /** Events the table already holds with the same money and instant (a re-read, or a newer version that changes neither). */
  duplicatesExisting: number;
  /** Older versions of events the table holds at a newer version: nothing written. */
  staleVersions: number;
  /** Recorded events whose newer version changed money or instant: each wrote a REVERSAL and a RESTATEMENT row. */
  corrections: number;
  /** Same event and version with different values: quarantined as CONFLICTING_DUPLICATE (included in `quarantined`). */
  conflicts: number;
  quarantined: number;
  filesAdded: number;
  /** Days (YYYY-MM-DD) that received rows. */
  partitions: string[];
  /** Rows of the source's event index the dedupe read (versions.ts VersionCounts.indexRowsRead). */
  indexRowsRead: number;
  /**
   * Where the commit's time went (ms): the part of its prepare done in this call, outside the writer lock (staging
   * and the Parquet conversion; a prepare staged elsewhere: the conversion), waiting for the lock, and holding it.
   */
  timing?: IngestTiming;
}

export interface IngestTiming {
  prepareMs: number;
  lockWaitMs: number;
  publishMs: number;
}

/** Identity of a load: the same source, windows and input fingerprints commit at most once. */
export function loadFingerprint(source: string, windows: readonly Window[], inputs: readonly { path: string; sha256: string }[]): string {
  const doc = JSON.stringify({ source, windows: windows.map(windowKey).sort(), inputs: inputs.map((i) => `${i.path}@${i.sha256}`).sort() });
  return createHash('sha256').update(doc).digest('hex');
}

/** Prepare scratch directories, one per prepare (`<pid>-<random>`): not under _store/tmp, which recovery empties. */
export const PREP_DIR = '_store/prep';

/**
 * A prepared load: its events read, mapped, de-duplicated inside the batch and staged in `dir`, then converted
 * there to one typed, sorted Parquet file per day (what the publish moves into the table when the index knows none
 * of its rows).
 */
export interface PreparedIngest {
  input: IngestInput;
  dir: string;
  staged: Staged;
  converted: Converted;
}

/**
 * The prepare half of a commit, without the writer lock: reads and stages the load's events in its own scratch
 * directory and converts them to Parquet, so prepares of different (source, day) units overlap each other and
 * other commits' publishes. Nothing here is visible to anyone; `discardPrepared` (or a later prepare, once this
 * process is gone) removes it.
 */
export async function prepareIngest(core: WarehouseCore, input: IngestInput, t: TuningOptions): Promise<PreparedIngest> {
  const { dir } = await openPrepareScratch(core);
  let staged: Staged;
  try {
    staged = await stageEvents(core, dir, input, t);
  } catch (e) {
    await core.storage.removeTree(dir);
    throw asDiskFull(e, core.storage.root, 'nothing was committed: the table is exactly as before');
  }
  return convertPrepared(core, { input, dir, staged }, t);
}

/**
 * The second half of a prepare (still no lock): the staged CSV runs of `dir` to Parquet (stage.ts convertStaged),
 * on this process's shared DuckDB, whose threads do the work while the JS thread goes on. The scratch is removed
 * when it fails.
 */
export async function convertPrepared(core: WarehouseCore, p: Omit<PreparedIngest, 'converted'>, t: TuningOptions): Promise<PreparedIngest> {
  try {
    await core.fault('ingest:after-stage');
    const local = await core.storage.scratchDir(p.dir);
    const converted = await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), { memoryLimit: t.memoryLimit, threads: t.threads }, (conn) => convertStaged(conn, local, p.input, p.staged, t));
    await core.fault('ingest:after-convert');
    return { ...p, converted };
  } catch (e) {
    await core.storage.removeTree(p.dir);
    throw asDiskFull(e, core.storage.root, 'nothing was committed: the table is exactly as before');
  }
}

/**
 * A new prepare scratch directory: `dir` (relative to the store, for discardPrepared) and its local `path`, where
 * a prepare made outside this thread (jobs/prepare-worker.ts, `stageEventsAt`) writes its staged files. Named
 * after this process, so a later prepare removes it once this process is gone (a SIGKILL mid-prepare included).
 */
export async function openPrepareScratch(core: WarehouseCore): Promise<{ dir: string; path: string }> {
  removeDeadProcessDirs(await core.storage.scratchDir(PREP_DIR));
  const dir = `${PREP_DIR}/${process.pid}-${randomBytes(5).toString('hex')}`;
  return { dir, path: await core.storage.scratchDir(dir) };
}

export async function discardPrepared(core: WarehouseCore, p: PreparedIngest): Promise<void> {
  await core.storage.removeTree(p.dir);
}

/**
 * The publish half, under the writer lock: checks the load was not committed meanwhile, drops event_ids the table
 * already holds (the event index), moves the prepared days' Parquet files into the commit, writes quarantine and manifests.
 */
export async function ingestInTx(core: WarehouseCore, tx: Tx, prepared: PreparedIngest, t: TuningOptions): Promise<{ outcome: TxOutcome | null; result: IngestResult }> {
  const { input, staged, converted } = prepared;
  const fingerprint = loadFingerprint(input.source, input.windows, input.inputs);
  const empty: IngestResult = { commitId: null, version: tx.state.version, skipped: true, rowsIn: 0, rowsWritten: 0, duplicatesInBatch: 0, duplicatesExisting: 0, staleVersions: 0, corrections: 0, conflicts: 0, quarantined: 0, filesAdded: 0, partitions: [], indexRowsRead: 0 };
  const windowKeys = input.windows.map(windowKey);
  if (committedLoad(await core.loads(tx.state, input.source, 'fingerprints', loadBuckets(windowKeys)), windowKeys, fingerprint)) return { outcome: null, result: empty };

  const changes: PartitionChange[] = [];
  const written: string[] = [];
  const counts = { duplicatesInBatch: 0, duplicatesExisting: 0, staleVersions: 0, corrections: 0, conflicts: 0, indexRowsRead: 0, rowsWritten: 0, filesAdded: 0 };
  await core.fault('ingest:after-read');
  const conflicts: QuarantineEntry[] = [];
  let index: IndexChange | null = null;
  if (staged.files.size > 0) await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), { memoryLimit: t.memoryLimit, threads: t.threads }, async (conn) => {
    const existingOf = (day: string) => tx.state.partitions.get(partitionPath(FACT_TABLE, partitionDir(FACT_DIR_KEY, day)))?.files ?? [];
    const w = await publishConverted(core, tx, conn, input, converted, t, counts);
    conflicts.push(...w.conflicts);
    index = w.index;
    for (const [day, files] of w.days) {
      if (files.length === 0) continue;
      const dir = partitionDir(FACT_DIR_KEY, day);
      const path = partitionPath(FACT_TABLE, dir);
      counts.rowsWritten += files.reduce((n, f) => n + f.rows, 0);
      counts.filesAdded += files.length;
      written.push(day);
      const state = await core.finishPartition(tx, { table: FACT_TABLE, dir, files: [...existingOf(day), ...files], successBlob: null, dataVersion: tx.version });
      changes.push({ path, state });
    }
  });
  await core.fault('ingest:after-write');

  const quarantine = [...input.quarantine, ...staged.rejected, ...conflicts];
  if (quarantine.length > 0) changes.push(await quarantineChange(core, tx, quarantine, t));
  if (input.tables?.length) changes.push(...(await writeTablesInTx(core, tx, input.tables, t)));
  await core.fault('ingest:after-tables');

  const { rowsWritten, duplicatesInBatch, duplicatesExisting, staleVersions, corrections, filesAdded } = counts;
  const rowsIn = staged.rowsIn;
  const result: IngestResult = {
    commitId: tx.commitId,
    version: tx.version,
    skipped: false,
    rowsIn,
    rowsWritten,
    duplicatesInBatch,
    duplicatesExisting,
    staleVersions,
    corrections,
    conflicts: counts.conflicts,
    quarantined: quarantine.length,
    filesAdded,
    partitions: written,
    indexRowsRead: counts.indexRowsRead,
  };
  const outcome: TxOutcome = {
    operation: 'ingest',
    runId: input.runId,
    source: input.source,
    windows: input.windows.map(windowKey),
    inputs: input.inputs.map((i) => `${i.path}@${i.sha256}`),
    fingerprint,
    changes,
    index: index ? [index] : [],
    summary: { rowsIn, rowsWritten, duplicatesInBatch, duplicatesExisting, staleVersions, corrections, conflicts: counts.conflicts, quarantined: quarantine.length, filesAdded },
  };
  return { outcome, result };
}

/** Appends a quarantine file to the partition of the commit's UTC day (its newest files merged past MERGE_AT: tables.ts boundAppended). */
export async function quarantineChange(core: WarehouseCore, tx: Tx, entries: readonly QuarantineEntry[], t: TuningOptions): Promise<PartitionChange> {
  const committedUs = BigInt(Date.parse(tx.committedAt)) * 1000n;
  const dir = partitionDir(QUARANTINE_DIR_KEY, dayOfMicros(committedUs));
  const path = partitionPath(QUARANTINE_TABLE, dir);
  const name = `quarantine-${tx.commitId}.parquet`;
  const blob = `${tx.blobDir}/${QUARANTINE_TABLE}/${dir}/${name}`;
  const { rows, bytes } = await putSmallTable(core.storage, tx.tmpDir, blob, QUARANTINE_COLUMNS, entries.map((q) => quarantineRow(q, tx.version, committedUs)), t.rowGroupRows);
  const prev = tx.state.partitions.get(path);
  const file = { name, blob, rows, bytes, minTs: null, maxTs: null, totals: [], sorted: false, group: null };
  const files = await boundAppended(core, tx, QUARANTINE, dir, [...(prev?.files ?? []), file], t);
  const state = await core.finishPartition(tx, { table: QUARANTINE_TABLE, dir, files, successBlob: null, dataVersion: tx.version });
  return { path, state };
}
