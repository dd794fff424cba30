/**
 * The commit protocol shared by every change to the warehouse (ingest, compaction, dimension snapshot,
 * _SUCCESS). Layout under the warehouse root:
 *
 *   current -> _store/versions/v0000000042          the published version (one symlink, swapped by rename)
 *   fact_billing_event -> current/fact_billing_event readers glob fact_billing_event/event_date=*\/*.parquet
 *   quarantine -> current/quarantine, dim_account -> current/dim_account, ...
 *   _store/log/0000000042.json                      append-only commit log (exclusive create = commit point)
 *   _store/blobs/<commitId>/<table>/<dir>/<file>     immutable data files, manifests, markers
 *   _store/versions/v<N>/<table>/<dir>/<file>        hard links: the directory tree of version N
 *   _store/tmp/<commitId>/                           staging (sorted runs); never read by anyone else
 *   _store/duck/<pid>-<random>/                     DuckDB spill files of a running process
 *   _store/lock                                      writer lock
 *
 * A commit: (1) write blobs, fsync; (2) build the version directory; (3) create the log entry exclusively
 * (commit point); (4) publish the views (Iceberg) and swap `current`. On a store without links (an object
 * store: ObjectStorage only) there is no Hive view: steps (2) and the symlinks are skipped and `current` is
 * the object `_store/current` holding the published version; the log and the blobs are the same. A crash before (3) leaves garbage that recovery deletes; a crash after
 * (3) is rolled forward by recovery (the version directory is rebuilt from the log and published).
 */
import { randomBytes } from 'node:crypto';
import { FatalError, RetriableError } from '../events/errors.js';
import { asDiskFull } from '../events/io.js';
import { WriterLock } from './lock.js';
import { applyCommit, EMPTY_STATE, manifestDocument, replay, type CommitEntry, type IndexChange, type Operation, type PartitionChange, type PartitionState, type TableState } from './state.js';
import { FACT_TABLE, QUARANTINE_TABLE } from './schema.js';
import { hiveView, type ObjectStorage, type Storage } from './storage.js';

export const LOG_DIR = '_store/log';
export const BLOB_DIR = '_store/blobs';
export const VERSION_DIR = '_store/versions';
export const TMP_DIR = '_store/tmp';
/** DuckDB spill directories, one per process (`<pid>-<random>`), removed once their process is gone. */
export const DUCK_SPILL_DIR = '_store/duck';
export const CURRENT = 'current';
/** The published version on a store without symlinks (no Hive view). */
export const CURRENT_POINTER = '_store/current';
const BASE_TABLES = [FACT_TABLE, QUARANTINE_TABLE];

export interface CoreOptions {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  lockTimeoutMs: number;
  lockPollMs: number;
  keepVersionDirs: number;
  /** Test hook: called at named points of a commit (crash tests kill the process there). */
  faults?: (point: string) => void | Promise<void>;
  /** Publishes derived views of a committed version (the Iceberg metadata) before it becomes `current`; must be idempotent. */
  publishViews?: (state: TableState, entry: CommitEntry) => Promise<void>;
}

export interface Tx {
  readonly commitId: string;
  readonly version: number;
  readonly committedAt: string;
  readonly state: TableState;
  readonly entries: readonly CommitEntry[];
  /** Where this commit's immutable files go (relative to root). */
  readonly blobDir: string;
  /** Private scratch directory (relative to root), removed after the commit. */
  readonly tmpDir: string;
}

export interface TxOutcome {
  operation: Operation;
  runId?: string | null;
  source?: string | null;
  windows?: string[];
  inputs?: string[];
  fingerprint?: string | null;
  changes: PartitionChange[];
  /** Event-index changes (versions.ts). */
  index?: IndexChange[];
  summary?: Record<string, number | string>;
}

export const versionName = (v: number) => `v${String(v).padStart(10, '0')}`;
export const logName = (v: number) => `${String(v).padStart(10, '0')}.json`;

export class WarehouseCore {
  /** The local disk's Hive view (version directories of hard links, the `current` symlink), null on an object store. */
  private readonly hive: Storage | null;

  constructor(readonly storage: ObjectStorage, readonly opts: CoreOptions) {
    this.hive = hiveView(storage);
  }

  async fault(point: string): Promise<void> {
    if (this.opts.faults) await this.opts.faults(point);
  }

  /** Every committed entry, in version order. */
  async readLog(): Promise<CommitEntry[]> {
    const names = (await this.storage.list(LOG_DIR)).filter((n) => /^\d{10}\.json$/.test(n));
    const out: CommitEntry[] = [];
    for (const n of names) {
      const rel = `${LOG_DIR}/${n}`;
      const text = await this.storage.readText(rel);
      let e: CommitEntry;
      try {
        e = JSON.parse(text ?? '') as CommitEntry;
      } catch (err) {
        throw new FatalError(`commit log entry ${this.storage.root}/${rel} is not valid JSON (${(err as Error).message}); the table is corrupt: restore that file from backup`, { cause: err });
      }
      if (e.version !== out.length + 1) throw new FatalError(`commit log ${this.storage.root}/${LOG_DIR} is missing version ${out.length + 1} (found ${n}); restore the log from backup`);
      out.push(e);
    }
    return out;
  }

  async state(asOfMs?: number): Promise<{ state: TableState; entries: CommitEntry[] }> {
    const entries = await this.readLog();
    return { state: replay(entries, asOfMs), entries };
  }

  private newCommitId(): string {
    const t = new Date(this.opts.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `c${t}-${randomBytes(5).toString('hex')}`;
  }

  /**
   * Runs `fn` holding the writer lock, after recovery, and publishes what it returns as one commit.
   * `fn` returns null for a no-op (nothing is committed).
   */
  async transaction<T>(purpose: string, fn: (tx: Tx) => Promise<{ outcome: TxOutcome | null; result: T }>): Promise<{ result: T; entry: CommitEntry | null }> {
    const lock = await WriterLock.acquire(this.storage, purpose, {
      timeoutMs: this.opts.lockTimeoutMs,
      pollMs: this.opts.lockPollMs,
      now: this.opts.now,
      sleep: this.opts.sleep,
    }).catch((e: unknown) => {
      throw asDiskFull(e, this.storage.root, 'nothing was committed: the table is exactly as before');
    });
    let tmpDir: string | null = null;
    let logged = false;
    let attempt: { blobDir: string; version: number } | null = null;
    try {
      const entries = await this.recover();
      const state = replay(entries);
      const commitId = this.newCommitId();
      tmpDir = `${TMP_DIR}/${commitId}`;
      const tx: Tx = {
        commitId,
        version: state.version + 1,
        committedAt: new Date(this.opts.now()).toISOString(),
        state,
        entries,
        blobDir: `${BLOB_DIR}/${commitId}`,
        tmpDir,
      };
      attempt = { blobDir: tx.blobDir, version: tx.version };
      await this.storage.scratchDir(tmpDir);
      const { outcome, result } = await fn(tx);
      if (!outcome) {
        await this.storage.removeTree(tx.blobDir);
        return { result, entry: null };
      }
      const entry = this.entryFor(tx, outcome);
      await this.fault(`${outcome.operation}:before-publish`);
      const next = applyCommit(state, entry);
      await this.buildVersionDir(next);
      await this.fault(`${outcome.operation}:after-version-dir`);
      await lock.assertHeld();
      if (!(await this.storage.createExclusive(`${LOG_DIR}/${logName(entry.version)}`, JSON.stringify(entry, null, 1)))) {
        throw new RetriableError(`another writer committed version ${entry.version} of ${this.storage.root} at the same time; nothing was published, run again`);
      }
      logged = true;
      await this.fault(`${outcome.operation}:after-log`);
      await this.publish(entry.version, next, entry);
      await this.fault(`${outcome.operation}:after-publish`);
      await this.pruneVersionDirs(entry.version);
      return { result, entry };
    } catch (e) {
      // Not committed: remove what this attempt wrote now (recovery would too), so a full disk gets its space back.
      if (attempt && !logged) await this.discard(attempt).catch(() => undefined);
      // A full disk is a clear, fast failure naming the path (never retried with backoff, never bad data).
      throw asDiskFull(e, this.storage.root, logged ? 'the commit is in the log and the next writer publishes it' : 'nothing was committed: the table is exactly as before');
    } finally {
      if (tmpDir) await this.storage.removeTree(tmpDir);
      await lock.release();
    }
  }

  private async discard(a: { blobDir: string; version: number }): Promise<void> {
    await this.storage.removeTree(a.blobDir);
    if ((await this.publishedVersion()) !== a.version) await this.storage.removeTree(`${VERSION_DIR}/${versionName(a.version)}`);
  }

  private entryFor(tx: Tx, o: TxOutcome): CommitEntry {
    const added: string[] = [];
    const removed: string[] = [];
    for (const ch of o.changes) {
      const before = new Set((tx.state.partitions.get(ch.path)?.files ?? []).map((f) => f.blob));
      const after = new Set((ch.state?.files ?? []).map((f) => f.blob));
      for (const b of after) if (!before.has(b)) added.push(b);
      for (const b of before) if (!after.has(b)) removed.push(b);
    }
    return {
      format: 1,
      version: tx.version,
      commitId: tx.commitId,
      committedAt: tx.committedAt,
      operation: o.operation,
      runId: o.runId ?? null,
      source: o.source ?? null,
      windows: [...(o.windows ?? [])].sort(),
      inputs: [...(o.inputs ?? [])].sort(),
      fingerprint: o.fingerprint ?? null,
      changes: o.changes,
      ...(o.index && o.index.length > 0 ? { index: o.index } : {}),
      added: added.sort(),
      removed: removed.sort(),
      summary: o.summary ?? {},
    };
  }

  /** Writes the _manifest.json blob of a new partition version and returns the complete partition state. */
  async finishPartition(tx: Tx, p: Omit<PartitionState, 'manifestBlob'>): Promise<PartitionState> {
    const manifestBlob = `${tx.blobDir}/${p.table}/${p.dir}/_manifest.json`;
    await this.storage.writeDurable(manifestBlob, JSON.stringify(manifestDocument(p, tx.version, tx.commitId), null, 1) + '\n');
    return { ...p, manifestBlob };
  }

  /** Builds _store/versions/v<N> from a state (idempotent: rebuilt from scratch). Only the local disk has this view. */
  private async buildVersionDir(state: TableState): Promise<void> {
    const hive = this.hive;
    if (!hive) return;
    const root = `${VERSION_DIR}/${versionName(state.version)}`;
    await hive.removeTree(root);
    const tables = new Set(BASE_TABLES);
    for (const p of state.partitions.values()) tables.add(p.table);
    for (const t of tables) await hive.mkdirp(`${root}/${t}`);
    for (const p of state.partitions.values()) {
      const dir = `${root}/${p.table}/${p.dir}`;
      await hive.mkdirp(dir);
      for (const f of p.files) await hive.link(f.blob, `${dir}/${f.name}`);
      await hive.link(p.manifestBlob, `${dir}/_manifest.json`);
      if (p.successBlob) await hive.link(p.successBlob, `${dir}/_SUCCESS`);
    }
    for (const t of tables) await hive.fsyncDir(`${root}/${t}`);
    await hive.fsyncDir(VERSION_DIR);
  }

  /** The version readers see: `current`'s target on the local disk, the `_store/current` object elsewhere; null before the first. */
  private async publishedVersion(): Promise<number | null> {
    const text = this.hive ? await this.hive.readSymlink(CURRENT) : await this.storage.readText(CURRENT_POINTER);
    const m = /(\d+)$/.exec(text ?? '');
    return m ? Number(m[1]) : null;
  }

  /** Publishes the views of version N, points `current` at it (one atomic rename) and makes sure the per-table links exist. */
  private async publish(version: number, state: TableState, entry: CommitEntry): Promise<void> {
    if (this.opts.publishViews) await this.opts.publishViews(state, entry);
    await this.fault('publish:after-views');
    if (!this.hive) return this.storage.writeDurable(CURRENT_POINTER, String(version));
    await this.hive.swapSymlink(CURRENT, `${VERSION_DIR}/${versionName(version)}`);
    await this.ensureTableLinks(version);
  }

  private async ensureTableLinks(version: number): Promise<void> {
    const hive = this.hive;
    if (!hive) return;
    const tables = (await hive.list(`${VERSION_DIR}/${versionName(version)}`)).filter((n) => !n.startsWith('.'));
    for (const t of tables) await hive.ensureSymlink(t, `${CURRENT}/${t}`);
  }

  private async pruneVersionDirs(current: number): Promise<void> {
    const keep = Math.max(1, this.opts.keepVersionDirs);
    for (const n of await this.storage.list(VERSION_DIR)) {
      const m = /^v(\d{10})$/.exec(n);
      if (m && Number(m[1]) <= current - keep) await this.storage.removeTree(`${VERSION_DIR}/${n}`);
    }
  }

  /**
   * Brings the store to exactly the last committed version (call holding the lock): deletes staging and
   * blobs/version dirs of commits that never reached the log, and publishes a committed version whose
   * publication was interrupted.
   */
  async recover(): Promise<CommitEntry[]> {
    const entries = await this.readLog();
    const last = entries.length;
    await this.storage.removeTree(TMP_DIR);
    const committed = new Set(entries.map((e) => e.commitId));
    for (const id of await this.storage.list(BLOB_DIR)) if (!committed.has(id)) await this.storage.removeTree(`${BLOB_DIR}/${id}`);
    for (const n of await this.storage.list(VERSION_DIR)) {
      const m = /^v(\d{10})$/.exec(n);
      if (!m || Number(m[1]) > last) await this.storage.removeTree(`${VERSION_DIR}/${n}`);
    }
    if (last === 0) return entries;
    if ((await this.publishedVersion()) !== last) {
      const state = replay(entries);
      await this.buildVersionDir(state);
      await this.publish(last, state, entries[last - 1]!);
    } else await this.ensureTableLinks(last);
    return entries;
  }
}

export { EMPTY_STATE };
