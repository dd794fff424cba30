/**
 * The commit protocol shared by every change to the warehouse (ingest, compaction, dimension snapshot,
 * _SUCCESS). Layout under the warehouse root:
 *
 *   current -> _store/versions/v0000000042          the published version (one symlink, swapped by rename)
 *   fact_billing_event -> current/fact_billing_event readers glob fact_billing_event/*\/*.parquet (event_day=YYYY-MM-DD folders)
 *   quarantine -> current/quarantine, dim_account -> current/dim_account, ...
 *   _store/log/0000000042.json                      append-only commit log (exclusive create = commit point)
 *   _store/checkpoints/0000000040.json              the head of the checkpoint of version 40 (every checkpointInterval
 *                                                   commits): the parts it is made of
 *   _store/checkpoints/parts/<V>-<part id>.json      one bucket of the state (a table's month of partitions, a source's
 *                                                   month of windows / inputs / loads), written by the checkpoint of V
 *                                                   and named again by later ones while unchanged
 *   _store/_last_checkpoint                          {"version": 40}: where opening the table starts
 *   _store/blobs/<commitId>/<table>/<dir>/<file>     immutable data files, manifests, markers
 *   _store/parts/<table>/<dir>@v<N>/<file>           hard links: a partition's directory as version N left it
 *   _store/versions/v<N>/<table>/<dir> -> ../../../parts/<table>/<dir>@v<M>   version N's tree: one symlink a partition
 *                                                   (the last keepVersionDirs kept, and one spare the next commit reuses)
 *   _store/tmp/<commitId>/                           staging (sorted runs); never read by anyone else
 *   _store/duck/<pid>-<random>/                     DuckDB spill files of a running process
 *   _store/locks/writer/<fence>.lease                 writer lock (warehouse/lock.ts: leases, heartbeat, fencing)
 *
 * A commit: (1) write blobs, fsync; (2) build the directories of the partitions it changes and the version
 * directory; (3) create the log entry exclusively (commit point); (4) swap `current`; (5) every
 * checkpointInterval versions write a checkpoint, then `_last_checkpoint`. A crash before (3) leaves garbage
 * that recovery deletes (the commit's scratch directory names it); a crash after (3) is rolled forward by
 * recovery (the version directory is rebuilt and published). Checkpoints are derived: a missing or older
 * one only means more log entries to read; a checkpoint writes only the parts changed since the last one.
 *
 * Nothing a commit or a query does grows with the number of versions: the state comes from the latest
 * checkpoint plus the few log entries after it (then it is cached and caught up entry by entry), recovery
 * looks only at in-flight scratch directories, and a commit links only the files of the partitions it changes
 * and, in the version directory it makes from the spare one, replaces only the links of partitions changed since
 * the spare's version. `history` and `--as-of` still read the log.
 */
import { randomBytes } from 'node:crypto';
import { FatalError, RetriableError } from '../events/errors.js';
import { asDiskFull } from '../events/io.js';
import { LockManager, type Lease, type LeaseClock } from './lock.js';
import type { UnreadBucket } from './buckets.js';
import { applyCommit, currentPartitionPath, EMPTY_STATE, manifestDocument, partitionPath, replay, stateBuckets, stateFromCheckpoint, stateFromParts, unreadLoads, unreadOf, type SourceLoads, type CheckpointDocument, type CheckpointHead, type CheckpointPart, type CheckpointPartRef, type CommitEntry, type IndexChange, type Operation, type PartitionChange, type PartitionState, type TableState } from './state.js';
import { FACT_TABLE, isLegacyPartitionDir, QUARANTINE_TABLE } from './schema.js';
import { hiveView, type ObjectStorage, type Storage } from './storage.js';

export const LOG_DIR = '_store/log';
export const BLOB_DIR = '_store/blobs';
export const VERSION_DIR = '_store/versions';
export const TMP_DIR = '_store/tmp';
export const CHECKPOINT_DIR = '_store/checkpoints';
export const LAST_CHECKPOINT = '_store/_last_checkpoint';
/** Immutable parts of checkpoints (`<version>-<part id>.json`), each shared by the checkpoints that find its bucket unchanged. */
export const CHECKPOINT_PARTS_DIR = '_store/checkpoints/parts';
export const PARTS_DIR = '_store/parts';
/** `<N>.json`: partition directories no longer referenced by version N, removed keepVersionDirs versions later. */
const RETIRED_DIR = '_store/parts/_retired';
/** DuckDB spill directories, one per process (`<pid>-<random>`), removed once their process is gone. */
export const DUCK_SPILL_DIR = '_store/duck';
export const CURRENT = 'current';
/** The published version on a store without symlinks (no Hive view). */
export const CURRENT_POINTER = '_store/current';
const BASE_TABLES = [FACT_TABLE, QUARANTINE_TABLE];
/** Names at the root of a directory that make it a billing-mart warehouse: the store, the published version, the old state dir, the fact table. */
export const WAREHOUSE_MARKERS: readonly string[] = ['_store', CURRENT, '_state', FACT_TABLE];

/** The writer lock's name under LOCKS_DIR. */
export const WRITER_LOCK = 'writer';
export const LOCKS_DIR = '_store/locks';

export interface CoreOptions {
  now: () => number;
  /** Wall time of the writer lock's lease (shared by every process that may write). */
  lockClock: LeaseClock;
  lockTimeoutMs: number;
  lockPollMs: number;
  /** The writer lock's lease; renewed every third of it while a commit runs. */
  lockTtlMs: number;
  keepVersionDirs: number;
  /** A checkpoint of the state every this many versions. */
  checkpointInterval: number;
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
  /** Where this commit's immutable files go (relative to root). */
  readonly blobDir: string;
  /** Private scratch directory (relative to root), removed after the commit. */
  readonly tmpDir: string;
}

/** Where a transaction's time went: waiting for the writer lock, and holding it (the serial part of a commit). */
export interface TxTiming {
  lockWaitMs: number;
  heldMs: number;
}

/** The queue of this process's writers per warehouse root: each turn starts when the one before it ends. */
const writerQueues = new Map<string, Promise<void>>();

function writerTurn(root: string): { ready: Promise<void>; done: () => void } {
  const before = writerQueues.get(root) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = before.then(() => mine);
  writerQueues.set(root, tail);
  void tail.then(() => {
    if (writerQueues.get(root) === tail) writerQueues.delete(root);
  });
  return { ready: before, done };
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

/** Reads done to know the state (tests check they stay bounded by the checkpoint interval). */
export interface ReadCounts {
  logEntries: number;
  checkpoints: number;
  /** Part files of checkpoints read (a format-2 checkpoint: one per bucket of the state). */
  checkpointParts: number;
}

/** A checkpoint this process read or wrote: its version and, by part id, the bucket object each part file holds. */
interface KnownCheckpoint {
  version: number;
  parts: Map<string, { bucket: object; ref: CheckpointPartRef }>;
}

export class WarehouseCore {
  /** The local disk's Hive view (version directories of hard links, the `current` symlink), null on an object store. */
  private readonly hive: Storage | null;

  /** The latest state this process knows, and the version of the latest checkpoint it knows of. */
  private cache: { state: TableState; checkpoint: KnownCheckpoint } | null = null;
  /** Whether every partition of the cached state has its directory under _store/parts (checked once a process). */
  private partsChecked = false;
  /** Per recent version, the partitions its commit changed (reuseSpare). */
  private readonly recentChanges = new Map<number, readonly string[]>();
  /** Whether recovery looked for a view in the layout before the Hive-key rename (once a process). */
  private layoutChecked = false;
  readonly reads: ReadCounts = { logEntries: 0, checkpoints: 0, checkpointParts: 0 };
  /** The writer lock (one writer commits at a time), held through the storage seam. */
  readonly locks: LockManager;

  constructor(readonly storage: ObjectStorage, readonly opts: CoreOptions) {
    this.hive = hiveView(storage);
    this.locks = new LockManager({ storage, prefix: LOCKS_DIR, clock: opts.lockClock, ttlMs: opts.lockTtlMs });
  }

  async fault(point: string): Promise<void> {
    if (this.opts.faults) await this.opts.faults(point);
  }

  /** Every committed entry, in version order (history and time travel only: O(versions)). */
  async readLog(): Promise<CommitEntry[]> {
    const names = (await this.storage.list(LOG_DIR)).filter((n) => /^\d{10}\.json$/.test(n));
    const out: CommitEntry[] = [];
    for (const n of names) {
      const e = await this.readEntry(out.length + 1);
      if (!e) throw new FatalError(`commit log ${this.storage.root}/${LOG_DIR} is missing version ${out.length + 1} (found ${n}); restore the log from backup`);
      out.push(e);
    }
    return out;
  }

  /** Log entry `version`, or null when it does not exist. */
  async readEntry(version: number): Promise<CommitEntry | null> {
    const rel = `${LOG_DIR}/${logName(version)}`;
    const text = await this.storage.readText(rel);
    if (text === null) return null;
    this.reads.logEntries++;
    let e: CommitEntry;
    try {
      e = JSON.parse(text) as CommitEntry;
    } catch (err) {
      throw new FatalError(`commit log entry ${this.storage.root}/${rel} is not valid JSON (${(err as Error).message}); the table is corrupt: restore that file from backup`, { cause: err });
    }
    if (e.version !== version) throw new FatalError(`commit log entry ${this.storage.root}/${rel} says version ${e.version}; the table is corrupt: restore that file from backup`);
    return e;
  }

  /**
   * The state at the last committed version: the cached state (or the latest checkpoint) caught up with the
   * log entries after it. Reads O(1 + entries since) files, never the whole log.
   */
  async current(): Promise<TableState> {
    if (!this.cache) this.cache = await this.loadCheckpoint();
    let s = this.cache.state;
    for (;;) {
      const e = await this.readEntry(s.version + 1);
      if (!e) break;
      s = applyCommit(s, e);
      this.noteChanges(e);
    }
    if (await this.storage.exists(`${LOG_DIR}/${logName(s.version + 2)}`)) {
      throw new FatalError(`commit log ${this.storage.root}/${LOG_DIR} is missing version ${s.version + 1} (version ${s.version + 2} exists); restore the log from backup`);
    }
    this.cache = { state: s, checkpoint: this.cache.checkpoint };
    return s;
  }

  private async loadCheckpoint(): Promise<{ state: TableState; checkpoint: KnownCheckpoint }> {
    const none = { state: EMPTY_STATE, checkpoint: { version: 0, parts: new Map() } };
    const pointer = await this.storage.readText(LAST_CHECKPOINT);
    if (pointer === null) return none;
    try {
      const { version } = JSON.parse(pointer) as { version: number };
      const got = await this.readCheckpoint(version);
      if (got.state.version !== version) throw new Error(`it holds version ${got.state.version}`);
      this.reads.checkpoints++;
      return got;
    } catch (err) {
      // derived data: the log is the truth, so an unreadable checkpoint costs time, never correctness
      process.emitWarning(`checkpoint named by ${this.storage.root}/${LAST_CHECKPOINT} is unusable (${(err as Error).message}); replaying the commit log from the start`);
      return none;
    }
  }

  /** Checkpoint `version`: a head and its parts (format 2), or one whole document (format 1, written by older billing-mart). */
  private async readCheckpoint(version: number): Promise<{ state: TableState; checkpoint: KnownCheckpoint }> {
    const rel = `${CHECKPOINT_DIR}/${logName(version)}`;
    const text = await this.storage.readText(rel);
    if (text === null) throw new Error(`${rel} is missing`);
    const doc = JSON.parse(text) as CheckpointDocument | CheckpointHead;
    if (doc.format === 1) return { state: stateFromCheckpoint(doc), checkpoint: { version, parts: new Map() } };
    if (doc.format !== 2 || !Array.isArray(doc.parts)) throw new Error(`${rel} is not a checkpoint this billing-mart reads (format ${String((doc as { format?: unknown }).format)})`);
    const parts = new Map<string, CheckpointPart>();
    // the partitions' parts now; a source's loads when asked for (loads())
    for (const ref of doc.parts.filter((r) => r.id.startsWith('p/'))) {
      const partText = await this.storage.readText(`${CHECKPOINT_PARTS_DIR}/${ref.file}`);
      if (partText === null) throw new Error(`its part ${CHECKPOINT_PARTS_DIR}/${ref.file} is missing`);
      this.reads.checkpointParts++;
      parts.set(ref.id, JSON.parse(partText) as CheckpointPart);
    }
    const { state, buckets } = stateFromParts(doc, parts);
    return { state, checkpoint: { version, parts: new Map(doc.parts.map((ref) => [ref.id, { bucket: buckets.get(ref.id)!, ref }])) } };
  }

  /**
   * Reads the unread buckets of `source`'s loads of `kind` that `ids` names (all when undefined) into `state` (the
   * checkpoint parts they are; the same keys for every version sharing them). Call before asking the loads.
   */
  async loads(state: TableState, source: string, kind: keyof SourceLoads, ids?: Iterable<string>): Promise<SourceLoads | undefined> {
    await this.readUnread(unreadLoads(state, source, kind, ids));
    return state.loads.get(source);
  }

  private async readUnread(buckets: readonly UnreadBucket[]): Promise<void> {
    for (const u of buckets) {
      const rel = `${CHECKPOINT_PARTS_DIR}/${u.file}`;
      const text = await this.storage.readText(rel);
      if (text === null) {
        // replaced twice by other writers' checkpoints since this process read its own: start again from the latest
        this.cache = null;
        throw new RetriableError(`${this.storage.root}/${rel} is gone (the checkpoint this process read was replaced by newer ones); nothing was changed, run again`);
      }
      let part: CheckpointPart;
      try {
        part = JSON.parse(text) as CheckpointPart;
      } catch (err) {
        throw new FatalError(`checkpoint part ${this.storage.root}/${rel} is not valid JSON (${(err as Error).message}); remove ${this.storage.root}/${LAST_CHECKPOINT} to replay the log instead`, { cause: err });
      }
      if (!Array.isArray(part.entries) || part.entries.length !== u.entries) throw new FatalError(`checkpoint part ${this.storage.root}/${rel} holds ${Array.isArray(part.entries) ? part.entries.length : 'no'} entries, its head says ${u.entries}; remove ${this.storage.root}/${LAST_CHECKPOINT} to replay the log instead`);
      this.reads.checkpointParts++;
      u.load(part.entries as string[]);
    }
  }

  /** The state as of a moment (every version stays reachable), or the current state. */
  async state(asOfMs?: number): Promise<{ state: TableState }> {
    const cur = await this.current();
    if (asOfMs === undefined || cur.committedAt === null || Date.parse(cur.committedAt) <= asOfMs) return { state: cur };
    return { state: replay(await this.readLog(), asOfMs) };
  }

  private newCommitId(): string {
    const t = new Date(this.opts.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `c${t}-${randomBytes(5).toString('hex')}`;
  }

  /**
   * Runs `fn` holding the writer lock, after recovery, and publishes what it returns as one commit.
   * `fn` returns null for a no-op (nothing is committed).
   */
  async transaction<T>(purpose: string, fn: (tx: Tx) => Promise<{ outcome: TxOutcome | null; result: T }>): Promise<{ result: T; entry: CommitEntry | null; timing: TxTiming }> {
    const asked = performance.now();
    // writers of this process queue here and are woken in turn (no polling between them); other processes poll the lock
    const turn = writerTurn(this.storage.root);
    let lock: Lease;
    try {
      await turn.ready;
      const waitedMs = performance.now() - asked;
      lock = await this.locks
        .acquireWithin(WRITER_LOCK, { timeoutMs: Math.max(0, this.opts.lockTimeoutMs - waitedMs), pollMs: this.opts.lockPollMs, owner: purpose })
        .catch((e: unknown) => {
          throw asDiskFull(e, this.storage.root, 'nothing was committed: the table is exactly as before');
        });
    } catch (e) {
      turn.done();
      throw e;
    }
    const held = performance.now();
    const timing = (): TxTiming => ({ lockWaitMs: held - asked, heldMs: performance.now() - held });
    // renew the lease while the commit runs; a lost lease is caught by assertHeld before the commit point
    const beatStop = new AbortController();
    const beat = lock.heartbeat(beatStop.signal).catch((e: unknown) => e);
    let tmpDir: string | null = null;
    let logged = false;
    let attempt: { blobDir: string; version: number } | null = null;
    try {
      const state = await this.recover();
      const commitId = this.newCommitId();
      tmpDir = `${TMP_DIR}/${commitId}`;
      const tx: Tx = {
        commitId,
        version: state.version + 1,
        committedAt: new Date(this.opts.now()).toISOString(),
        state,
        blobDir: `${BLOB_DIR}/${commitId}`,
        tmpDir,
      };
      attempt = { blobDir: tx.blobDir, version: tx.version };
      await this.storage.scratchDir(tmpDir);
      const { outcome, result } = await fn(tx);
      if (!outcome) {
        await this.storage.removeTree(tx.blobDir);
        return { result, entry: null, timing: timing() };
      }
      const entry = this.entryFor(tx, outcome);
      await this.fault(`${outcome.operation}:before-publish`);
      const next = applyCommit(state, entry);
      await this.buildVersionDir(next, entry.changes.map((c) => c.path));
      await this.fault(`${outcome.operation}:after-version-dir`);
      await lock.assertHeld();
      if (!(await this.storage.createExclusive(`${LOG_DIR}/${logName(entry.version)}`, JSON.stringify(entry, null, 1)))) {
        this.cache = null;
        throw new RetriableError(`another writer committed version ${entry.version} of ${this.storage.root} at the same time; nothing was published, run again`);
      }
      logged = true;
      this.noteChanges(entry);
      this.cache = { state: next, checkpoint: this.cache?.checkpoint ?? { version: 0, parts: new Map() } };
      await this.fault(`${outcome.operation}:after-log`);
      await this.publish(entry.version, next, entry);
      await this.fault(`${outcome.operation}:after-publish`);
      await this.retire(state, entry);
      await this.pruneVersionDirs(entry.version);
      await this.maybeCheckpoint(next);
      return { result, entry, timing: timing() };
    } catch (e) {
      // Not committed: remove what this attempt wrote now (recovery would too), so a full disk gets its space back.
      if (attempt && !logged) await this.discard(attempt).catch(() => undefined);
      // A full disk is a clear, fast failure naming the path (never retried with backoff, never bad data).
      throw asDiskFull(e, this.storage.root, logged ? 'the commit is in the log and the next writer publishes it' : 'nothing was committed: the table is exactly as before');
    } finally {
      beatStop.abort();
      await beat;
      if (tmpDir) await this.storage.removeTree(tmpDir);
      await lock.release().finally(() => turn.done());
    }
  }

  private async discard(a: { blobDir: string; version: number }): Promise<void> {
    await this.storage.removeTree(a.blobDir);
    if ((await this.publishedVersion()) !== a.version) await this.storage.removeTree(`${VERSION_DIR}/${versionName(a.version)}`);
    await this.storage.removeTree(`${VERSION_DIR}/b${versionName(a.version).slice(1)}`);
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
  async finishPartition(tx: Tx, p: Omit<PartitionState, 'manifestBlob'>, meta?: Record<string, unknown>): Promise<PartitionState> {
    const manifestBlob = `${tx.blobDir}/${p.table}/${p.dir}/_manifest.json`;
    await this.storage.writeDurable(manifestBlob, JSON.stringify(manifestDocument(p, tx.version, tx.commitId, meta), null, 1) + '\n');
    return { ...p, manifestBlob };
  }

  private partDir(p: PartitionState): string {
    return `${PARTS_DIR}/${p.table}/${p.dir}@${versionName(p.changedIn ?? 0)}`;
  }

  /** A partition's directory (hard links to its files, manifest and marker), rebuilt from scratch. */
  private async buildPartDir(hive: Storage, p: PartitionState): Promise<void> {
    const dir = this.partDir(p);
    await hive.removeTree(dir);
    await hive.mkdirp(dir);
    for (const f of p.files) await hive.link(f.blob, `${dir}/${f.name}`);
    await hive.link(p.manifestBlob, `${dir}/_manifest.json`);
    if (p.successBlob) await hive.link(p.successBlob, `${dir}/_SUCCESS`);
    await hive.fsyncDir(dir);
  }

  /**
   * Builds _store/versions/v<N> from a state. A commit (`changed`: the partitions it changes) builds the
   * directories of those partitions, then reuses the spare version directory (the newest one older than the kept
   * ones, see pruneVersionDirs): renamed aside, only the links of the partitions changed since its version are
   * replaced, then renamed to v<N>, so a commit's cost does not grow with the number of partitions. Without a
   * spare (a young table, after a failed commit, in recovery) it links every partition (and once per process,
   * or always when `changed` is not given, builds any partition directory that is missing).
   */
  private async buildVersionDir(state: TableState, changed?: readonly string[]): Promise<void> {
    const hive = this.hive;
    if (!hive) return;
    const root = `${VERSION_DIR}/${versionName(state.version)}`;
    if (changed) {
      for (const path of changed) {
        const p = state.partitions.get(path);
        if (p) await this.buildPartDir(hive, p);
      }
      if (await this.reuseSpare(hive, state, root, changed)) return;
    }
    const rebuild = new Set(changed ?? []);
    const checkAll = changed === undefined || !this.partsChecked;
    for (const p of state.partitions.values()) {
      if (!rebuild.has(partitionPath(p.table, p.dir)) && checkAll && !(await hive.exists(this.partDir(p)))) await this.buildPartDir(hive, p);
    }
    this.partsChecked = true;
    await hive.removeTree(root);
    const tables = new Set(BASE_TABLES);
    for (const p of state.partitions.values()) tables.add(p.table);
    for (const t of tables) await hive.mkdirp(`${root}/${t}`);
    for (const p of state.partitions.values()) await hive.ensureSymlink(`${root}/${p.table}/${p.dir}`, this.linkTarget(p));
    for (const t of tables) await hive.fsyncDir(`${root}/${t}`);
    await hive.fsyncDir(VERSION_DIR);
  }

  /** A version directory's link to a partition's directory (relative to the link). */
  private linkTarget(p: PartitionState): string {
    return `../../../${this.partDir(p).slice('_store/'.length)}`;
  }

  /** The spare version directory: the newest `v<M>` older than the versions kept after the commit of `version`. */
  private async spareVersion(version: number): Promise<number | null> {
    let spare: number | null = null;
    for (const n of await this.storage.list(VERSION_DIR)) {
      const m = /^v(\d{10})$/.exec(n);
      const v = m ? Number(m[1]) : NaN;
      if (v < version - this.keepVersions() && (spare === null || v > spare)) spare = v;
    }
    return spare;
  }

  private keepVersions(): number {
    return Math.max(1, this.opts.keepVersionDirs);
  }

  /** Turns the spare version directory into `root` (see buildVersionDir); false when there is none to reuse. */
  private async reuseSpare(hive: Storage, state: TableState, root: string, changed: readonly string[]): Promise<boolean> {
    const spare = await this.spareVersion(state.version);
    // a spare far behind (left by an older process) costs more entries to read than a full build saves
    if (spare === null || state.version - spare > 4 * this.keepVersions() + 8) return false;
    const since = await this.changedSince(spare, state.version - 1);
    if (!since) return false;
    // not named v<N> while it is rebuilt: recovery removes a `b<N>` left by a crash
    const build = `${VERSION_DIR}/b${versionName(state.version).slice(1)}`;
    await hive.removeTree(build);
    await hive.removeTree(root);
    await hive.rename(`${VERSION_DIR}/${versionName(spare)}`, build);
    const dirs = new Set<string>();
    for (const path of new Set([...since, ...changed])) {
      if (dirs.size === 1) await this.fault('version-dir:reusing');
      const p = state.partitions.get(path);
      const table = path.slice(0, path.indexOf('/'));
      // the link (a directory in the layout before _store/parts) of the partition as the spare's version had it
      await hive.removeTree(`${build}/${path}`);
      if (p) {
        if (!dirs.has(table)) await hive.mkdirp(`${build}/${table}`);
        await hive.ensureSymlink(`${build}/${path}`, this.linkTarget(p));
      }
      dirs.add(table);
    }
    for (const t of dirs) await hive.fsyncDir(`${build}/${t}`);
    await hive.fsyncDir(build);
    await hive.rename(build, root);
    await hive.fsyncDir(VERSION_DIR);
    return true;
  }

  /** Partitions changed by versions from+1 … to (log entries this process applied are remembered); null when one is missing. */
  private async changedSince(from: number, to: number): Promise<string[] | null> {
    const out: string[] = [];
    for (let v = from + 1; v <= to; v++) {
      let paths = this.recentChanges.get(v);
      if (!paths) {
        const e = await this.readEntry(v);
        if (!e) return null;
        paths = this.noteChanges(e);
      }
      out.push(...paths);
    }
    return out;
  }

  /** Remembers which partitions entry `e` changed (the last few versions only: what reuseSpare needs). */
  private noteChanges(e: CommitEntry): readonly string[] {
    const paths = e.changes.map((c) => currentPartitionPath(c.path));
    this.recentChanges.set(e.version, paths);
    for (const v of this.recentChanges.keys()) if (v < e.version - 4 * this.keepVersions() - 8) this.recentChanges.delete(v);
    return paths;
  }

  /**
   * Partition directories of the published view still named as before the Hive-key rename (`event_date=D`
   * for `event_day=D`, see schema.ts): a table written by an older billing-mart. The state reads them under the
   * new names already; the next writer (recover) rebuilds the view with them. One listing per table.
   */
  async legacyLayout(): Promise<string[]> {
    const hive = this.hive;
    if (!hive || (await this.publishedVersion()) === null) return [];
    const out: string[] = [];
    for (const t of (await hive.list(CURRENT)).filter((n) => !n.startsWith('.'))) {
      for (const d of await hive.list(`${CURRENT}/${t}`)) if (isLegacyPartitionDir(d)) out.push(`${t}/${d}`);
    }
    return out;
  }

  /** The version readers see: `current`'s target on the local disk, the `_store/current` object elsewhere; null before the first. */
  private async publishedVersion(): Promise<number | null> {
    const text = this.hive ? await this.hive.readSymlink(CURRENT) : await this.storage.readText(CURRENT_POINTER);
    const m = /(\d+)$/.exec(text ?? '');
    return m ? Number(m[1]) : null;
  }

  /** Records the partition directories commit `entry` stopped using, and removes those retired keepVersionDirs versions ago. */
  private async retire(before: TableState, entry: CommitEntry): Promise<void> {
    if (!this.hive) return;
    const gone = entry.changes.map((c) => before.partitions.get(c.path)).filter((p): p is PartitionState => p !== undefined).map((p) => this.partDir(p));
    if (gone.length > 0) await this.storage.writeDurable(`${RETIRED_DIR}/${logName(entry.version)}`, JSON.stringify(gone));
    const old = entry.version - Math.max(1, this.opts.keepVersionDirs);
    if (old < 1) return;
    const text = await this.storage.readText(`${RETIRED_DIR}/${logName(old)}`);
    if (text === null) return;
    for (const dir of JSON.parse(text) as string[]) if (dir.startsWith(`${PARTS_DIR}/`)) await this.storage.removeTree(dir);
    await this.storage.removeFile(`${RETIRED_DIR}/${logName(old)}`);
  }

  /**
   * Writes a checkpoint of `state` when checkpointInterval versions passed since the last one (derived; crash-safe):
   * (1) a part file for each bucket of the state that is not the bucket the last checkpoint wrote (unchanged ones
   * are named again, not rewritten), (2) the head naming the parts, (3) `_last_checkpoint`, (4) the heads older than
   * the one it replaced and the part files neither names are removed. A crash before (3) leaves files that no pointer
   * names (removed by the next checkpoint); readers of the replaced checkpoint still find all of its parts.
   */
  private async maybeCheckpoint(state: TableState): Promise<void> {
    const interval = Math.max(1, this.opts.checkpointInterval);
    const known = this.cache?.checkpoint ?? { version: 0, parts: new Map() };
    if (state.version - known.version < interval) return;
    // the pointer as it is now (another process may have written a newer checkpoint since this one read its own)
    const pointer = await this.storage.readText(LAST_CHECKPOINT);
    const pointed = pointer === null ? 0 : Number((JSON.parse(pointer) as { version?: unknown }).version) || 0;
    const reuse = pointed === known.version ? known.parts : new Map<string, { bucket: object; ref: CheckpointPartRef }>();
    const parts: KnownCheckpoint['parts'] = new Map();
    let written = 0;
    // what is written whole must be read first: the unread buckets commits added to, or all when nothing is reused
    await this.readUnread(unreadOf(state, reuse === known.parts ? 'changed' : 'all'));
    for (const b of stateBuckets(state)) {
      const was = reuse.get(b.id);
      if (was && was.bucket === b.bucket) {
        parts.set(b.id, was);
        continue;
      }
      const entries = b.entries();
      const ref: CheckpointPartRef = { id: b.id, file: `${String(state.version).padStart(10, '0')}-${encodeURIComponent(b.id)}.json`, entries: entries.length };
      await this.storage.writeDurable(`${CHECKPOINT_PARTS_DIR}/${ref.file}`, JSON.stringify({ id: b.id, entries } satisfies CheckpointPart));
      if (++written === 1) await this.fault('checkpoint:after-part');
      parts.set(b.id, { bucket: b.bucket, ref });
    }
    const head: CheckpointHead = {
      format: 2,
      version: state.version,
      committedAt: state.committedAt,
      commitId: state.commitId,
      indexes: [...state.indexes.entries()].map(([k, v]) => [k, [...v]]),
      parts: [...parts.values()].map((p) => p.ref),
    };
    await this.storage.writeDurable(`${CHECKPOINT_DIR}/${logName(state.version)}`, JSON.stringify(head));
    await this.fault('checkpoint:after-write');
    await this.storage.writeDurable(LAST_CHECKPOINT, JSON.stringify({ version: state.version }) + '\n');
    await this.fault('checkpoint:after-pointer');
    const checkpoint = { version: state.version, parts };
    if (this.cache && this.cache.state.version === state.version) this.cache = { state, checkpoint };
    await this.pruneCheckpoints(pointed === known.version ? known : pointed, checkpoint);
  }

  /**
   * Removes the checkpoint heads and part files named by neither `replaced` nor `now` (older checkpoints, what a
   * crash left of an unfinished one): two checkpoints stay. `replaced` is the checkpoint this process knows, or the version of one it must read.
   */
  private async pruneCheckpoints(replaced: KnownCheckpoint | number, now: KnownCheckpoint): Promise<void> {
    const keep = new Set([...now.parts.values()].map((p) => p.ref.file));
    if (typeof replaced !== 'number') for (const p of replaced.parts.values()) keep.add(p.ref.file);
    else if (replaced > 0) {
      const text = await this.storage.readText(`${CHECKPOINT_DIR}/${logName(replaced)}`);
      const head = text === null ? null : (JSON.parse(text) as CheckpointHead | CheckpointDocument);
      if (head?.format === 2) for (const ref of head.parts) keep.add(ref.file);
    }
    for (const n of await this.storage.list(CHECKPOINT_DIR)) {
      const m = /^(\d{10})\.json$/.exec(n);
      if (m && Number(m[1]) !== (typeof replaced === 'number' ? replaced : replaced.version) && Number(m[1]) !== now.version) await this.storage.removeFile(`${CHECKPOINT_DIR}/${n}`);
    }
    for (const n of await this.storage.list(CHECKPOINT_PARTS_DIR)) if (!keep.has(n)) await this.storage.removeFile(`${CHECKPOINT_PARTS_DIR}/${n}`);
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

  /** Removes version directories older than the kept ones, except the newest of them: the spare the next commit reuses. */
  private async pruneVersionDirs(current: number): Promise<void> {
    const keep = this.keepVersions();
    for (const n of await this.storage.list(VERSION_DIR)) {
      const m = /^v(\d{10})$/.exec(n);
      if (m && Number(m[1]) < current - keep) await this.storage.removeTree(`${VERSION_DIR}/${n}`);
    }
  }

  /**
   * Brings the store to exactly the last committed version (call holding the lock): deletes staging and
   * blobs/version dirs of commits that never reached the log, and publishes a committed version whose
   * publication was interrupted.
   */
  async recover(): Promise<TableState> {
    const state = await this.current();
    const last = state.version;
    // a commit that never reached the log is named by its scratch directory (created before any blob)
    for (const id of await this.storage.list(TMP_DIR)) if (id !== state.commitId) await this.storage.removeTree(`${BLOB_DIR}/${id}`);
    await this.storage.removeTree(TMP_DIR);
    for (const n of await this.storage.list(VERSION_DIR)) {
      const m = /^v(\d{10})$/.exec(n);
      if (!m || Number(m[1]) > last) await this.storage.removeTree(`${VERSION_DIR}/${n}`);
    }
    if (last === 0) return state;
    const legacy = this.layoutChecked ? false : (await this.legacyLayout()).length > 0;
    this.layoutChecked = true;
    if (legacy || (await this.publishedVersion()) !== last) {
      this.partsChecked = false;
      // the older version directories of the old layout must not be reused by the next commit
      if (legacy) for (const n of await this.storage.list(VERSION_DIR)) if (n !== versionName(last)) await this.storage.removeTree(`${VERSION_DIR}/${n}`);
      await this.buildVersionDir(state);
      await this.publish(last, state, (await this.readEntry(last))!);
    } else await this.ensureTableLinks(last);
    return state;
  }
}

export { EMPTY_STATE };
