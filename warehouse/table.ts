/**
 * FactTable: the warehouse API used by jobs (see docs/CONTRACTS.md and docs/warehouse.md).
 */
import path from 'node:path';
import { ConfigError, FatalError } from '../events/errors.js';
import type { CellValue } from './columns.js';
import { filesOf, readPartitionRows, writeTablesInTx, type TableWrite } from './tables.js';
import { assertDay } from '../partitions/index.js';
import { WarehouseCore } from './core.js';
import { compactInTx, isCompact, type CompactResult } from './compact.js';
import { exportFacts, type ExportRequest, type ExportResult } from './export.js';
import { convertPrepared, discardPrepared, ingestInTx, openPrepareScratch, prepareIngest, type IngestInput, type IngestResult, type PreparedIngest, type Staged } from './ingest.js';
import { reenrichInTx, type ReenrichResult } from './reenrich.js';
import { tuning, type TuningOptions, type WarehouseOptions } from './options.js';
import { BILLING_RECORDS_TABLE, dayOfPartitionDir, DIMENSION_DIR_KEY, DIMENSION_PARTITION_KEY, dimensionColumns, FACT_DIR_KEY, FACT_TABLE, partitionDir } from './schema.js';
import { committedInputsIn, inputBuckets, loadedWindowsIn, manifestDocument, partitionPath, partitionsOf, type CommitEntry, type DayRange, type ManifestDocument, type PartitionState } from './state.js';
import { LocalStorage, type ObjectStorage } from './storage.js';
import { putSmallTable } from './files.js';
import { wallClock } from './lock.js';
import { readParquetSql, withDuck } from './duck.js';
import { publishIceberg } from './iceberg/publish.js';
import { StateArea } from './state-area.js';

export interface TableInfo {
  root: string;
  version: number;
  committedAt: string | null;
  tables: { table: string; partitions: number; files: number; rows: number; bytes: number }[];
  partitions: { table: string; partition: string; files: number; rows: number; bytes: number; success: boolean; compactable: boolean }[];
}

export interface HistoryItem {
  version: number;
  commitId: string;
  committedAt: string;
  operation: string;
  runId: string | null;
  source: string | null;
  windows: string[];
  partitions: string[];
  added: number;
  removed: number;
  summary: Record<string, number | string>;
}

const DIM_NAME_RE = /^dim_[a-z][a-z0-9_]*$/;

export class FactTable {
  private constructor(readonly core: WarehouseCore, readonly tuning: TuningOptions) {}

  /**
   * The jobs' state area at `dir` (config `state:`; run store, completeness history, scheduler state): a prefix of
   * this warehouse's storage when `dir` is inside it (the default `<warehouse>/_state`), else a local store at `dir`.
   */
  stateArea(dir: string): StateArea {
    return StateArea.forWarehouse(this.core.storage, dir);
  }

  /** Opens (or starts) the warehouse at `dir`. Nothing is written until the first commit. */
  static async open(dir: string, options: WarehouseOptions = {}, storage?: ObjectStorage): Promise<FactTable> {
    const st = storage ?? new LocalStorage(path.resolve(dir));
    const core = new WarehouseCore(st, {
      now: options.now ?? Date.now,
      lockClock: options.lockClock ?? wallClock,
      lockTimeoutMs: options.lockTimeoutMs ?? 10 * 60_000,
      lockPollMs: options.lockPollMs ?? 200,
      lockTtlMs: options.lockTtlMs ?? 2 * 60_000,
      keepVersionDirs: options.keepVersionDirs ?? 3,
      checkpointInterval: options.checkpointInterval ?? 50,
      faults: options.faults,
      publishViews: (state, entry) => publishIceberg(st, state, entry, options.iceberg, options.faults),
    });
    return new FactTable(core, tuning(options));
  }

  get root(): string {
    return this.core.storage.root;
  }

  /** Commits one source load; auto-compacts the touched days that passed the file-count threshold. */
  async commitIngest(input: IngestInput): Promise<IngestResult> {
    // prepare (read, map, stage, convert to Parquet) without the lock; publish (dedupe against the table, move files, log) with it
    const t0 = performance.now();
    return this.publishPrepared(await prepareIngest(this.core, input, this.tuning), t0);
  }

  /** A scratch directory for a prepare made outside this thread (a worker stages into `path`; see publishStaged). */
  async prepareScratch(): Promise<{ dir: string; path: string; spillRows: number; spillBytes: number }> {
    return { ...(await openPrepareScratch(this.core)), spillRows: this.tuning.spillRows, spillBytes: this.tuning.spillBytes };
  }

  /**
   * Publishes a load staged elsewhere (a prepare worker thread: `stageEventsAt` into `prepareScratch().path`)
   * exactly as commitIngest publishes its own prepare: converted to Parquet without the lock, published under it,
   * the scratch removed afterwards.
   */
  async publishStaged(input: Omit<IngestInput, 'events'>, scratch: { dir: string }, staged: Staged): Promise<IngestResult> {
    const t0 = performance.now();
    return this.publishPrepared(await convertPrepared(this.core, { input: { ...input, events: [] }, dir: scratch.dir, staged }, this.tuning), t0);
  }

  /** Discards a scratch directory from prepareScratch that will not be published. */
  async discardScratch(scratch: { dir: string }): Promise<void> {
    await this.core.storage.removeTree(scratch.dir);
  }

  private async publishPrepared(prepared: PreparedIngest, startedMs: number): Promise<IngestResult> {
    const input = prepared.input;
    const preparedMs = performance.now() - startedMs;
    let result: IngestResult;
    try {
      const tx = await this.core.transaction(`ingest ${input.source} run ${input.runId}`, (tx) => ingestInTx(this.core, tx, prepared, this.tuning));
      result = { ...tx.result, timing: { prepareMs: preparedMs, lockWaitMs: tx.timing.lockWaitMs, publishMs: tx.timing.heldMs } };
    } finally {
      await discardPrepared(this.core, prepared);
    }
    if (!result.skipped && this.tuning.autoCompactFileCount > 0 && result.partitions.length > 0) {
      const { state } = await this.core.state();
      const crowded = result.partitions.filter((d) => (state.partitions.get(partitionPath(FACT_TABLE, partitionDir(FACT_DIR_KEY, d)))?.files.length ?? 0) > this.tuning.autoCompactFileCount);
      if (crowded.length > 0) await this.compact(crowded);
    }
    return result;
  }

  /** Compacts the given days (default: every day of the table) as one commit; compact days are left alone. */
  async compact(days?: readonly string[]): Promise<CompactResult> {
    days?.forEach(assertDay);
    const { result } = await this.core.transaction('compact', async (tx) => {
      const all = days ?? partitionsOf(tx.state, FACT_TABLE).map((p) => dayOfPartitionDir(p.dir));
      return compactInTx(this.core, tx, all, this.tuning);
    });
    return result;
  }

  /** Rewrites the dimension columns of the given days from the stored snapshots, as one commit (warehouse/reenrich.ts). */
  async reenrich(days: readonly string[], o: { snapshot?: string } = {}): Promise<ReenrichResult> {
    days.forEach(assertDay);
    if (o.snapshot) assertDay(o.snapshot);
    const { result } = await this.core.transaction('reenrich', (tx) => reenrichInTx(this.core, tx, days, this.tuning, o));
    return result;
  }

  /**
   * Input fingerprints `${path}@${sha256}` already committed for a source; with `days`, only those of landing
   * folders of those days (and paths naming no day): what a read of those folders needs, bounded by the range.
   */
  async committedInputs(source: string, days?: DayRange): Promise<Set<string>> {
    const loads = await this.core.loads(await this.core.current(), source, 'inputs', days ? inputBuckets(days) : undefined);
    return days ? committedInputsIn(loads, days) : new Set(loads?.inputs ?? []);
  }

  /** Window keys (partitions.windowKey) committed for a source; with `days`, only those of windows starting on those days. */
  async loadedWindows(source: string, days?: DayRange): Promise<Set<string>> {
    const loads = await this.core.loads(await this.core.current(), source, 'windows', days ? inputBuckets(days) : undefined);
    return days ? loadedWindowsIn(loads, days) : new Set(loads?.windows ?? []);
  }

  private async partition(table: string, dir: string, asOfMs?: number): Promise<PartitionState | null> {
    const { state } = await this.core.state(asOfMs);
    return state.partitions.get(partitionPath(table, dir)) ?? null;
  }

  /** The day's _manifest.json (live files, control totals), or null when the day has no partition. */
  async manifest(day: string): Promise<ManifestDocument | null> {
    const p = await this.partition(FACT_TABLE, partitionDir(FACT_DIR_KEY, assertDay(day)));
    if (!p) return null;
    const text = await this.core.storage.readText(p.manifestBlob);
    return text ? (JSON.parse(text) as ManifestDocument) : manifestDocument(p, p.dataVersion, '');
  }

  /** The manifests of `days` from one read of the table state (null for a day without a partition). */
  async manifests(days: readonly string[]): Promise<Map<string, ManifestDocument | null>> {
    const { state } = await this.core.state();
    const out = new Map<string, ManifestDocument | null>();
    for (const day of days) {
      const p = state.partitions.get(partitionPath(FACT_TABLE, partitionDir(FACT_DIR_KEY, assertDay(day))));
      if (!p) {
        out.set(day, null);
        continue;
      }
      const text = await this.core.storage.readText(p.manifestBlob);
      out.set(day, text ? (JSON.parse(text) as ManifestDocument) : manifestDocument(p, p.dataVersion, ''));
    }
    return out;
  }

  /** Days (YYYY-MM-DD) that have a fact partition. */
  async days(): Promise<string[]> {
    const { state } = await this.core.state();
    return partitionsOf(state, FACT_TABLE).map((p) => dayOfPartitionDir(p.dir));
  }

  /** Absolute paths of the day's live Parquet files (stable immutable objects, safe to read at any time). */
  async files(day: string, asOfMs?: number): Promise<string[]> {
    const p = await this.partition(FACT_TABLE, partitionDir(FACT_DIR_KEY, assertDay(day)), asOfMs);
    return Promise.all((p?.files ?? []).map((f) => this.core.storage.localFile(f.blob)));
  }

  /**
   * Every live fact file of one table version (the latest, or as of a moment), from one read of the state, so a
   * reader never mixes two versions: local paths of the immutable objects (fetched copies on an object store).
   */
  async factFiles(asOfMs?: number): Promise<{ version: number; files: { day: string; name: string; path: string }[] }> {
    const { version, files } = await this.tableFiles(FACT_TABLE, asOfMs);
    return { version, files: files.map((f) => ({ day: dayOfPartitionDir(f.dir), name: path.posix.basename(f.blob), path: f.path })) };
  }

  /** Days whose fact partition carries a `_SUCCESS` marker now. */
  async markedDays(): Promise<Set<string>> {
    const { state } = await this.core.state();
    return new Set(partitionsOf(state, FACT_TABLE).filter((p) => p.successBlob).map((p) => dayOfPartitionDir(p.dir)));
  }

  /**
   * Every stored snapshot of a dimension table (e.g. dim_account), oldest first, as text rows (null stays null),
   * read through the storage seam from the committed files (never by globbing the layout).
   */
  async dimensionSnapshots(name: string, asOfMs?: number): Promise<{ snapshotDate: string; rows: Record<string, string | null>[] }[]> {
    if (!DIM_NAME_RE.test(name)) throw new Error(`dimension table name "${name}" must match ${DIM_NAME_RE}`);
    const { state } = await this.core.state(asOfMs);
    const parts = partitionsOf(state, name).filter((p) => p.files.length > 0);
    if (parts.length === 0) return [];
    return withDuck({ memoryLimit: this.tuning.memoryLimit, threads: 1 }, async (conn) => {
      const out: { snapshotDate: string; rows: Record<string, string | null>[] }[] = [];
      for (const p of parts) {
        const files = await Promise.all(p.files.map((f) => this.core.storage.localFile(f.blob)));
        const reader = await conn.runAndReadAll(`SELECT * EXCLUDE (${DIMENSION_PARTITION_KEY}) FROM ${readParquetSql(files)}`);
        const names = reader.columnNames();
        const rows = reader.getRows().map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] === null || row[i] === undefined ? null : String(row[i])])));
        out.push({ snapshotDate: dayOfPartitionDir(p.dir), rows });
      }
      return out;
    });
  }

  /** Marks a day complete (`_SUCCESS` with `payload`); the marker disappears when the day's data changes. */
  async writeSuccess(day: string, payload: Record<string, unknown>): Promise<number> {
    const dir = partitionDir(FACT_DIR_KEY, assertDay(day));
    const path_ = partitionPath(FACT_TABLE, dir);
    const { entry } = await this.core.transaction(`success ${day}`, async (tx) => {
      const p = tx.state.partitions.get(path_);
      const doc = { ...payload, day, data_version: p?.dataVersion ?? 0, marked_at: tx.committedAt };
      const successBlob = `${tx.blobDir}/${FACT_TABLE}/${dir}/_SUCCESS`;
      await this.core.storage.writeDurable(successBlob, JSON.stringify(doc, null, 1) + '\n');
      const base = p ?? (await this.core.finishPartition(tx, { table: FACT_TABLE, dir, files: [], successBlob: null, dataVersion: tx.version }));
      return { outcome: { operation: 'success', changes: [{ path: path_, state: { ...base, successBlob } }] }, result: null };
    });
    return entry!.version;
  }

  async clearSuccess(day: string): Promise<void> {
    const dir = partitionDir(FACT_DIR_KEY, assertDay(day));
    const path_ = partitionPath(FACT_TABLE, dir);
    await this.core.transaction(`clear-success ${day}`, async (tx) => {
      const p = tx.state.partitions.get(path_);
      if (!p?.successBlob) return { outcome: null, result: null };
      return { outcome: { operation: 'clear-success', changes: [{ path: path_, state: { ...p, successBlob: null } }] }, result: null };
    });
  }

  /** The `_SUCCESS` payload of a day, or null when the day is not marked (or changed since). */
  async readSuccess(day: string): Promise<Record<string, unknown> | null> {
    const p = await this.partition(FACT_TABLE, partitionDir(FACT_DIR_KEY, assertDay(day)));
    if (!p?.successBlob) return null;
    const text = await this.core.storage.readText(p.successBlob);
    return text ? (JSON.parse(text) as Record<string, unknown>) : null;
  }

  /**
   * Writes a dimension snapshot (e.g. dim_account) for a day from plain row objects (text or null values):
   * one commit replacing that snapshot_date partition. Columns are the row keys in first-seen order.
   */
  async writeDimensionSnapshot(name: string, snapshotDate: string, rows: readonly Record<string, string | null>[]): Promise<number> {
    if (!DIM_NAME_RE.test(name)) throw new ConfigError(`dimension name "${name}" is invalid: expected dim_ followed by lower-case letters, digits or _ (e.g. dim_account)`);
    assertDay(snapshotDate);
    const keys: string[] = [];
    const seen = new Set<string>();
    rows.forEach((r, i) => {
      for (const [k, v] of Object.entries(r)) {
        if (v !== null && typeof v !== 'string') throw new Error(`${name} snapshot ${snapshotDate}: row ${i} field "${k}" is ${typeof v}, expected text or null`);
        if (k === DIMENSION_PARTITION_KEY) throw new Error(`${name} snapshot ${snapshotDate}: row ${i} has a field named "${k}", which is reserved for the partition key`);
        if (!seen.has(k)) {
          seen.add(k);
          keys.push(k);
        }
      }
    });
    const dir = partitionDir(DIMENSION_DIR_KEY, snapshotDate);
    const { entry } = await this.core.transaction(`dimension ${name} ${snapshotDate}`, async (tx) => {
      const fname = `${name}-${tx.commitId}.parquet`;
      const blob = `${tx.blobDir}/${name}/${dir}/${fname}`;
      const { rows: n, bytes } = await putSmallTable(this.core.storage, tx.tmpDir, blob, dimensionColumns(keys), rows.map((r) => ({ ...r, [DIMENSION_PARTITION_KEY]: snapshotDate })), this.tuning.rowGroupRows);
      const file = { name: fname, blob, rows: n, bytes, minTs: null, maxTs: null, totals: [], sorted: false, group: null };
      const state = await this.core.finishPartition(tx, { table: name, dir, files: [file], successBlob: null, dataVersion: tx.version });
      return { outcome: { operation: 'dimension', changes: [{ path: partitionPath(name, dir), state }], summary: { rows: n } }, result: null };
    });
    return entry!.version;
  }

  /**
   * Commits writes to tables beside the fact table (billing records and assignments, MRR state: tables.ts) as one
   * commit; returns its version and id.
   */
  async commitTables(operation: 'bill' | 'import', writes: readonly TableWrite[], o: { runId?: string; summary?: Record<string, number | string> } = {}): Promise<{ version: number; commitId: string }> {
    const { entry } = await this.core.transaction(`${operation}${o.runId ? ` run ${o.runId}` : ''}`, async (tx) => {
      const changes = await writeTablesInTx(this.core, tx, writes, this.tuning);
      await this.core.fault(`${operation}:after-write`);
      return { outcome: { operation, runId: o.runId ?? null, changes, summary: o.summary ?? {} }, result: null };
    });
    return { version: entry!.version, commitId: entry!.commitId };
  }

  /**
   * Rows of one partition of a table (keyed snapshot tables: the newest snapshot per key), optionally only those
   * whose `keys.column` is in `keys.values`, with the partition's data version (the `basis` of a later append).
   */
  async readTable(table: string, partition: string, keys?: { column: string; values: readonly string[] }): Promise<{ rows: Record<string, CellValue>[]; basis: number | null }> {
    return readPartitionRows(this.core, await this.core.current(), table, partition, this.tuning, keys);
  }

  /**
   * The live files of a table at `asOfMs` (default: the current version), partition by partition: the stored
   * object (`blob`, relative to the root: stable, immutable) and a local path DuckDB can read.
   */
  async tableFiles(table: string, asOfMs?: number): Promise<{ version: number; files: { dir: string; blob: string; path: string; rows: number }[] }> {
    const { state } = await this.core.state(asOfMs);
    const files = await Promise.all(filesOf(state, table).map(async ({ dir, file }) => ({ dir, blob: file.blob, path: await this.core.storage.localFile(file.blob), rows: file.rows })));
    return { version: state.version, files };
  }

  /**
   * Refuses a warehouse that still holds billing data in the layout before the billing tables (its own
   * `billing_records/run=N/run.json` directories, `billing/mrr_state/` logs): that data is not in the commit log,
   * and the new tables would silently shadow it. The message names the directory and the fix.
   */
  async assertBillingLayout(): Promise<void> {
    const st = this.core.storage;
    const runs = (await st.list(BILLING_RECORDS_TABLE)).filter((n) => /^run=\d{8}$/.test(n));
    if (runs.length > 0 && (await st.exists(`${BILLING_RECORDS_TABLE}/${runs[0]}/run.json`))) {
      throw new FatalError(
        `${st.root}/${BILLING_RECORDS_TABLE}/ holds billing record sets in the layout before billing became a warehouse table (run=N/run.json, not in the commit log); this version neither reads nor imports them. Move the directory out of the warehouse (keep it: it is the record of what was billed), then run bill again from the start (\`billing-mart bill --cycle … --per … --from <first billed day> --change-logic\` rebuilds record sets from the fact table in the warehouse's tables) — see docs/billing.md "Warehouses from before the billing tables"`,
      );
    }
    if (await st.exists('billing/mrr_state')) {
      throw new FatalError(
        `${st.root}/billing/mrr_state/ holds MRR state logs in the layout before the MRR state became a warehouse table (mrr_state); this version does not read them, and ingesting without them would compute MRR deltas from nothing. Move the directory out of the warehouse and rebuild the warehouse by loading the landing history into a new one (\`billing-mart backfill\`) — see docs/billing.md "Warehouses from before the billing tables"`,
      );
    }
  }

  /**
   * The `_manifest.json` of every partition of a table (sorted by directory), `meta` included; with `latest`,
   * only the last `latest` partitions' (one read each, whatever the table's age).
   */
  async tableManifests(table: string, latest?: number): Promise<{ dir: string; dataVersion: number; manifest: ManifestDocument & { meta?: Record<string, unknown> } }[]> {
    const { state } = await this.core.state();
    const out = [];
    const parts = partitionsOf(state, table);
    for (const p of latest === undefined ? parts : parts.slice(Math.max(0, parts.length - latest))) {
      const text = await this.core.storage.readText(p.manifestBlob);
      if (text === null) throw new FatalError(`${this.root}/${p.manifestBlob} (the manifest of ${table}/${p.dir}, version ${p.dataVersion}) is missing; restore it from backup`);
      out.push({ dir: p.dir, dataVersion: p.dataVersion, manifest: JSON.parse(text) as ManifestDocument & { meta?: Record<string, unknown> } });
    }
    return out;
  }

  /** Exports the fact table for a day range as it was at `asOfMs` (default now) to CSV or Parquet. */
  async export(req: ExportRequest): Promise<ExportResult> {
    return exportFacts(this.core, req, this.tuning);
  }

  async history(): Promise<HistoryItem[]> {
    return (await this.core.readLog()).map((e: CommitEntry) => ({
      version: e.version,
      commitId: e.commitId,
      committedAt: e.committedAt,
      operation: e.operation,
      runId: e.runId,
      source: e.source,
      windows: e.windows,
      partitions: e.changes.map((c) => c.path),
      added: e.added.length,
      removed: e.removed.length,
      summary: e.summary,
    }));
  }

  async info(): Promise<TableInfo> {
    const { state } = await this.core.state();
    const parts = [...state.partitions.values()].sort((a, b) => (a.table + a.dir < b.table + b.dir ? -1 : 1));
    const byTable = new Map<string, TableInfo['tables'][number]>();
    const partitions = parts.map((p) => {
      const rows = p.files.reduce((n, f) => n + f.rows, 0);
      const bytes = p.files.reduce((n, f) => n + f.bytes, 0);
      const t = byTable.get(p.table) ?? { table: p.table, partitions: 0, files: 0, rows: 0, bytes: 0 };
      t.partitions++;
      t.files += p.files.length;
      t.rows += rows;
      t.bytes += bytes;
      byTable.set(p.table, t);
      const compactable = p.table === FACT_TABLE && !isCompact(p, this.tuning.targetFileBytes);
      return { table: p.table, partition: p.dir, files: p.files.length, rows, bytes, success: p.successBlob !== null, compactable };
    });
    return { root: this.root, version: state.version, committedAt: state.committedAt, tables: [...byTable.values()], partitions };
  }
}
