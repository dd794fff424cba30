/**
 * The table's state as pure values: which files each partition holds at a version, replayed from the
 * append-only commit log. No I/O here.
 */
import { unscaledToText } from '../events/money.js';
import { landingDayOf } from '../partitions/index.js';
import { BucketMap, BucketSet, UnreadBucket } from './buckets.js';
import { currentPartitionDir } from './schema.js';

export interface TotalRow {
  billing_source: string;
  event_type: string;
  currency: string;
  rows: number;
  /**
   * Events these rows hold now, when it differs from `rows`: REVERSAL correction rows count -1 (compare this,
   * not `rows`, with a source's own count of its events). Absent when equal to `rows`.
   */
  net_rows?: number;
  /** Exact sum, DECIMAL(38,9) text. */
  amount_sum: string;
}

export interface FileEntry {
  /** File name inside the partition directory. */
  name: string;
  /** Immutable stored object, relative to the warehouse root. */
  blob: string;
  rows: number;
  bytes: number;
  /** ISO UTC min/max of event_ts (facts only). */
  minTs: string | null;
  maxTs: string | null;
  /** Control totals of this file (facts only). */
  totals: TotalRow[];
  /** Rows inside the file are in the partition order. */
  sorted: boolean;
  /** Files written together by one compaction share a group; a partition whose files all share one is compact. */
  group: string | null;
}

export interface PartitionState {
  /** Table directory name, e.g. fact_billing_event. */
  table: string;
  /** Hive directory name, e.g. event_day=2024-01-03 (tables written before the rename said event_date=: read as event_day=). */
  dir: string;
  files: FileEntry[];
  /** Stored _manifest.json of this partition version. */
  manifestBlob: string;
  /** Stored _SUCCESS marker, while the day is unchanged since it was written. */
  successBlob: string | null;
  /** Version that last changed the partition's data. */
  dataVersion: number;
  /** Version that last changed this partition in any way (set by applyCommit; names its view directory). */
  changedIn?: number;
}

export interface PartitionChange {
  /** `${table}/${dir}` */
  path: string;
  /** New state, or null when the partition is removed. */
  state: PartitionState | null;
}

/**
 * One immutable file of a source's event index (warehouse/versions.ts): Parquet rows
 * (event_id, eff_id, seqn, event_type, event_ts, amount, currency, mrr_delta, v), later `v` wins.
 */
export interface IndexSegment {
  blob: string;
  rows: number;
  /** Version of the commit that wrote it. */
  version: number;
  /**
   * Rows ordered by event_id in row groups of versions.ts INDEX_ROW_GROUP rows: a lookup reads only the row groups
   * whose min/max hold one of its ids. Absent in segments written before (read whole until a merge rewrites them).
   */
  sorted?: boolean;
}

/** The new segment list of one source's event index. */
export interface IndexChange {
  source: string;
  segments: IndexSegment[];
}

export type Operation = 'ingest' | 'compact' | 'dimension' | 'success' | 'clear-success' | 'reenrich' | 'bill' | 'import';

export interface CommitEntry {
  format: 1;
  version: number;
  commitId: string;
  /** ISO UTC. */
  committedAt: string;
  operation: Operation;
  runId: string | null;
  source: string | null;
  /** Source windows this commit covers (partitions.windowKey). */
  windows: string[];
  /** Input fingerprints `${path}@${sha256}`. */
  inputs: string[];
  /** Identity of the load (source + windows + inputs): the same load is never committed twice. */
  fingerprint: string | null;
  changes: PartitionChange[];
  /** Event-index changes (absent in entries written before the index existed). */
  index?: IndexChange[];
  added: string[];
  removed: string[];
  summary: Record<string, number | string>;
}

/**
 * What a source's ingest commits covered: answers committedInputs, loadedWindows and the same-load check. Each set
 * is in buckets of a month (windowBucket, inputBucket, loadKey), so a commit copies one month of them.
 */
export interface SourceLoads {
  windows: BucketSet;
  inputs: BucketSet;
  /** loadKey(windows, fingerprint) of each load (see committedLoad). */
  fingerprints: BucketSet;
}

export interface TableState {
  version: number;
  committedAt: string | null;
  /** Commit id of `version` (null at version 0). */
  commitId: string | null;
  /** By `${table}/${dir}`, in buckets of a table's month (partitionBucket). */
  partitions: BucketMap<PartitionState>;
  /** Per billing source, the segments of its event index (warehouse/versions.ts). */
  indexes: ReadonlyMap<string, readonly IndexSegment[]>;
  /** Per billing source, the windows, inputs and load fingerprints its ingest commits covered. */
  loads: ReadonlyMap<string, SourceLoads>;
}

const MONTH_RE = /^\d{4}-\d{2}/;
/** Bucket of keys without a month. */
const NO_MONTH = '-';

/** A partition's bucket: its table and the month of its partition value (`fact_billing_event/2024-01`), else the table's `-`. */
export function partitionBucket(p: string): string {
  const slash = p.indexOf('/');
  const value = p.slice(p.indexOf('=', slash) + 1);
  return `${p.slice(0, slash)}/${MONTH_RE.test(value) ? value.slice(0, 7) : NO_MONTH}`;
}

/** A window key's bucket: the month it starts in. */
export function windowBucket(key: string): string {
  return MONTH_RE.test(key) ? key.slice(0, 7) : NO_MONTH;
}

/** An input's (`<source>/<YYYY-MM-DD>/<HH>/<file>@<sha256>`) bucket: the month of its landing folder. */
export function inputBucket(input: string): string {
  return landingDayOf(input)?.slice(0, 7) ?? NO_MONTH;
}

/** Landing days as an inclusive range of `YYYY-MM-DD` (what a read's window and lookback reach). */
export interface DayRange {
  from: string;
  to: string;
}

/**
 * The committed inputs of a source whose landing folder's day is in `days`, and those whose path names no day:
 * what a read of those days' folders must skip. Reads the buckets of the range's months only.
 */
export function committedInputsIn(loads: SourceLoads | undefined, days: DayRange): Set<string> {
  const out = new Set<string>();
  if (!loads) return out;
  for (const k of loads.inputs.bucket(NO_MONTH)) out.add(k);
  for (const m of inputBuckets(days).slice(1)) {
    for (const k of loads.inputs.bucket(m)) {
      const d = landingDayOf(k);
      if (d === null || (d >= days.from && d <= days.to)) out.add(k);
    }
  }
  return out;
}

/** The committed windows of a source that start on a day in `days` (and keys naming no month). Reads the range's buckets only. */
export function loadedWindowsIn(loads: SourceLoads | undefined, days: DayRange): Set<string> {
  const out = new Set<string>();
  if (!loads) return out;
  for (const k of loads.windows.bucket(NO_MONTH)) out.add(k);
  for (const m of inputBuckets(days).slice(1)) for (const k of loads.windows.bucket(m)) if (k.slice(0, 10) >= days.from && k.slice(0, 10) <= days.to) out.add(k);
  return out;
}

function nextMonth(m: string): string {
  const y = Number(m.slice(0, 4));
  const mo = Number(m.slice(5, 7));
  return mo === 12 ? `${String(y + 1).padStart(4, '0')}-01` : `${m.slice(0, 4)}-${String(mo + 1).padStart(2, '0')}`;
}

/** Fingerprints read from a checkpoint written before loads were in buckets (their windows unknown). */
const OLD_LOADS = 'old';

/** How a load's fingerprint is kept: in the bucket of the month its first window starts in. */
export function loadKey(windowKeys: readonly string[], fingerprint: string): string {
  let first: string | null = null;
  for (const w of windowKeys) if (first === null || w < first) first = w;
  return `${windowBucket(first ?? '')}/${fingerprint}`;
}

function loadBucket(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

/** Whether a load (its windows' keys and fingerprint) was committed. */
export function committedLoad(loads: SourceLoads | undefined, windowKeys: readonly string[], fingerprint: string): boolean {
  return !!loads && (loads.fingerprints.has(loadKey(windowKeys, fingerprint)) || loads.fingerprints.has(`${OLD_LOADS}/${fingerprint}`));
}

export function emptyPartitions(): BucketMap<PartitionState> {
  return BucketMap.empty<PartitionState>(partitionBucket);
}

export const EMPTY_STATE: TableState = { version: 0, committedAt: null, commitId: null, partitions: emptyPartitions(), indexes: new Map(), loads: new Map() };

const EMPTY_LOADS: SourceLoads = { windows: BucketSet.empty(windowBucket), inputs: BucketSet.empty(inputBucket), fingerprints: BucketSet.empty(loadBucket) };

export function partitionPath(table: string, dir: string): string {
  return `${table}/${dir}`;
}

/** `${table}/${dir}` as the current layout names it (a log entry of an older table says `…/event_date=D`). */
export function currentPartitionPath(p: string): string {
  const i = p.lastIndexOf('/');
  return `${p.slice(0, i + 1)}${currentPartitionDir(p.slice(i + 1))}`;
}

/**
 * The state after `entry`. `state` is unchanged and shares with the result every bucket the entry does not touch
 * (buckets.ts): the work is the entry's, never the history's.
 */
export function applyCommit(state: TableState, entry: CommitEntry): TableState {
  if (entry.version !== state.version + 1) throw new Error(`commit log is broken: version ${entry.version} follows ${state.version}`);
  const set: [string, PartitionState][] = [];
  const remove: string[] = [];
  for (const ch of entry.changes) {
    const at = currentPartitionPath(ch.path);
    if (ch.state) set.push([at, { ...ch.state, dir: currentPartitionDir(ch.state.dir), changedIn: entry.version }]);
    else remove.push(at);
  }
  const partitions = state.partitions.update(set, remove);
  let indexes = state.indexes;
  if (entry.index && entry.index.length > 0) {
    const next = new Map(indexes);
    for (const ch of entry.index) next.set(ch.source, ch.segments);
    indexes = next;
  }
  let loads = state.loads;
  if (entry.operation === 'ingest' && entry.source !== null) {
    const was = loads.get(entry.source) ?? EMPTY_LOADS;
    const next = new Map(loads);
    next.set(entry.source, {
      windows: was.windows.with(entry.windows),
      inputs: was.inputs.with(entry.inputs),
      fingerprints: entry.fingerprint ? was.fingerprints.with([loadKey(entry.windows, entry.fingerprint)]) : was.fingerprints,
    });
    loads = next;
  }
  return { version: entry.version, committedAt: entry.committedAt, commitId: entry.commitId, partitions, indexes, loads };
}

/** State after every commit with committedAt ≤ asOf (all when asOf is undefined). */
export function replay(entries: readonly CommitEntry[], asOfMs?: number): TableState {
  let s = EMPTY_STATE;
  for (const e of entries) {
    if (asOfMs !== undefined && Date.parse(e.committedAt) > asOfMs) break;
    s = applyCommit(s, e);
  }
  return s;
}

/** A checkpoint written before checkpoints were in parts (core.ts): the whole state at a version as one JSON document. Still read. */
export interface CheckpointDocument {
  format: 1;
  version: number;
  committedAt: string | null;
  commitId: string | null;
  partitions: PartitionState[];
  indexes: [string, IndexSegment[]][];
  loads: [string, { windows: string[]; inputs: string[]; fingerprints: string[] }][];
}

/** The format-1 document of a state (what older billing-mart wrote; tests make old tables with it). */
export function checkpointDocument(s: TableState): CheckpointDocument {
  return {
    format: 1,
    version: s.version,
    committedAt: s.committedAt,
    commitId: s.commitId,
    partitions: [...s.partitions.values()],
    indexes: [...s.indexes.entries()].map(([k, v]) => [k, [...v]]),
    loads: [...s.loads.entries()].map(([k, v]) => [k, { windows: [...v.windows], inputs: [...v.inputs], fingerprints: [...v.fingerprints].map((f) => f.slice(f.indexOf('/') + 1)) }]),
  };
}

export function stateFromCheckpoint(d: CheckpointDocument): TableState {
  if (d.format !== 1 || !Number.isInteger(d.version) || !Array.isArray(d.partitions)) throw new Error('not a format-1 checkpoint');
  return {
    version: d.version,
    committedAt: d.committedAt,
    commitId: d.commitId,
    partitions: BucketMap.of(partitionBucket, d.partitions.map((p) => ({ ...p, dir: currentPartitionDir(p.dir) })).map((p) => [partitionPath(p.table, p.dir), p] as const)),
    indexes: new Map(d.indexes),
    loads: new Map(
      d.loads.map(([k, v]) => [
        k,
        { windows: BucketSet.of(windowBucket, v.windows), inputs: BucketSet.of(inputBucket, v.inputs), fingerprints: BucketSet.of(loadBucket, v.fingerprints.map((f) => `${OLD_LOADS}/${f}`)) },
      ]),
    ),
  };
}

/**
 * A checkpoint in parts (core.ts): the head names one part per bucket of the state (the partitions of a table's
 * month, one kind of a source's loads of a month); a part is an immutable file, shared by the checkpoints after it
 * while its bucket is unchanged.
 */
export interface CheckpointHead {
  format: 2;
  version: number;
  committedAt: string | null;
  commitId: string | null;
  indexes: [string, IndexSegment[]][];
  parts: CheckpointPartRef[];
}

export interface CheckpointPartRef {
  /** `p/<bucket>` (partitions), `w|i|f/<source>/<bucket>` (a source's windows, inputs, load fingerprints). */
  id: string;
  /** File name under the checkpoint parts directory. */
  file: string;
  entries: number;
}

/** One part's file. */
export interface CheckpointPart {
  id: string;
  entries: PartitionState[] | string[];
}

const LOAD_KINDS = { w: 'windows', i: 'inputs', f: 'fingerprints' } as const;

/** A bucket of the state as a checkpoint sees it: its part id, the object (unchanged buckets are the same object) and its entries. */
export interface StateBucket {
  id: string;
  bucket: object;
  /** Throws for an unread bucket not loaded (core.ts loads those with additions before a checkpoint). */
  entries: () => PartitionState[] | string[];
}

/** Every bucket of the state with its part id. */
export function stateBuckets(s: TableState): StateBucket[] {
  const out: StateBucket[] = [];
  for (const [b, m] of s.partitions.buckets) out.push({ id: `p/${b}`, bucket: m, entries: () => [...m.values()] });
  for (const [source, l] of s.loads) {
    for (const [kind, field] of Object.entries(LOAD_KINDS)) {
      for (const [b, m] of l[field].buckets) {
        const keys = (): string[] => {
          if (!(m instanceof UnreadBucket)) return [...m.keys()];
          if (!m.loaded) throw new Error(`internal: part ${kind}/${source}/${b} of the state is not read`);
          return [...m.loaded];
        };
        out.push({ id: `${kind}/${source}/${b}`, bucket: m, entries: keys });
      }
    }
  }
  return out;
}

/** The unread buckets of a source's loads (`kind` windows / inputs / fingerprints; `ids`: some buckets only) not loaded yet. */
export function unreadLoads(s: TableState, source: string, kind: keyof SourceLoads, ids?: Iterable<string>): UnreadBucket[] {
  return s.loads.get(source)?.[kind].toRead(ids) ?? [];
}

/** The unread buckets of the state not loaded yet: those with keys added since their part (`changed`), or all. */
export function unreadOf(s: TableState, which: 'changed' | 'all'): UnreadBucket[] {
  const out: UnreadBucket[] = [];
  for (const l of s.loads.values()) for (const field of Object.values(LOAD_KINDS)) for (const u of l[field].toRead()) if (which === 'all' || u.added.length > 0) out.push(u);
  return out;
}

/** The buckets of `windowKeys`' loads bucket (and of loads from a format-1 checkpoint): what committedLoad reads. */
export function loadBuckets(windowKeys: readonly string[]): string[] {
  return [loadBucket(loadKey(windowKeys, 'x')), OLD_LOADS];
}

/** The buckets committedInputsIn and loadedWindowsIn read for `days` (the months of the range, and keys of no month). */
export function inputBuckets(days: DayRange): string[] {
  const out = [NO_MONTH];
  for (let m = days.from.slice(0, 7); m <= days.to.slice(0, 7); m = nextMonth(m)) out.push(m);
  return out;
}

/**
 * The state of a checkpoint head and its partition parts (by id); a source's loads stay unread (UnreadBucket: read
 * when asked for, core.ts). The buckets made are returned by id too (to know them unchanged later).
 */
export function stateFromParts(head: CheckpointHead, parts: ReadonlyMap<string, CheckpointPart>): { state: TableState; buckets: Map<string, object> } {
  if (head.format !== 2 || !Number.isInteger(head.version) || !Array.isArray(head.parts)) throw new Error('not a format-2 checkpoint');
  const partitionBuckets = new Map<string, Map<string, PartitionState>>();
  const unread = new Map<string, { windows: Map<string, UnreadBucket>; inputs: Map<string, UnreadBucket>; fingerprints: Map<string, UnreadBucket> }>();
  for (const ref of head.parts) {
    const [kind, ...rest] = ref.id.split('/');
    if (kind === 'p') {
      const part = parts.get(ref.id);
      if (!part || part.id !== ref.id || !Array.isArray(part.entries) || part.entries.length !== ref.entries) throw new Error(`part ${ref.id} (${ref.file}) is missing or not what the head says`);
      partitionBuckets.set(rest.join('/'), new Map((part.entries as PartitionState[]).map((p) => [partitionPath(p.table, p.dir), p])));
    } else if (kind === 'w' || kind === 'i' || kind === 'f') {
      const bucket = rest.pop()!;
      const source = rest.join('/');
      let l = unread.get(source);
      if (!l) unread.set(source, (l = { windows: new Map(), inputs: new Map(), fingerprints: new Map() }));
      l[LOAD_KINDS[kind]].set(bucket, new UnreadBucket(ref.file, ref.entries));
    } else throw new Error(`part ${ref.id}: unknown kind`);
  }
  const loads = new Map<string, SourceLoads>();
  const none = new Map<string, string[]>();
  for (const [source, l] of unread) {
    loads.set(source, { windows: BucketSet.fromBuckets(windowBucket, none, l.windows), inputs: BucketSet.fromBuckets(inputBucket, none, l.inputs), fingerprints: BucketSet.fromBuckets(loadBucket, none, l.fingerprints) });
  }
  const state: TableState = {
    version: head.version,
    committedAt: head.committedAt,
    commitId: head.commitId,
    partitions: BucketMap.fromBuckets(partitionBucket, partitionBuckets),
    indexes: new Map(head.indexes),
    loads,
  };
  return { state, buckets: new Map(stateBuckets(state).map((b) => [b.id, b.bucket])) };
}

/** Partitions of one table, sorted by directory name. */
export function partitionsOf(state: TableState, table: string): PartitionState[] {
  return [...state.partitions.values()].filter((p) => p.table === table).sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

const DEC_RE = /^(-?)(\d+)(?:\.(\d{1,9}))?$/;

/** DECIMAL(38,9) text → unscaled bigint, exact. */
export function textToUnscaled(text: string): bigint {
  const m = DEC_RE.exec(text);
  if (!m) throw new Error(`"${text}" is not a DECIMAL(38,9) value`);
  const v = BigInt(m[2]! + (m[3] ?? '').padEnd(9, '0'));
  return m[1] ? -v : v;
}

function totalKey(t: { billing_source: string; event_type: string; currency: string }): string {
  return `${t.billing_source}\u0000${t.event_type}\u0000${t.currency}`;
}

/** Accumulates control totals exactly (bigint sums of unscaled amounts). */
export class TotalsAccumulator {
  private readonly acc = new Map<string, { billing_source: string; event_type: string; currency: string; rows: number; net: number; sum: bigint }>();

  add(billing_source: string, event_type: string, currency: string, rows: number, unscaled: bigint, netRows = rows): void {
    const k = totalKey({ billing_source, event_type, currency });
    const cur = this.acc.get(k);
    if (cur) {
      cur.rows += rows;
      cur.net += netRows;
      cur.sum += unscaled;
    } else this.acc.set(k, { billing_source, event_type, currency, rows, net: netRows, sum: unscaled });
  }

  addTotals(rows: readonly TotalRow[]): void {
    for (const t of rows) this.add(t.billing_source, t.event_type, t.currency, t.rows, textToUnscaled(t.amount_sum), t.net_rows ?? t.rows);
  }

  result(): TotalRow[] {
    return [...this.acc.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, v]) => ({ billing_source: v.billing_source, event_type: v.event_type, currency: v.currency, rows: v.rows, ...(v.net !== v.rows ? { net_rows: v.net } : {}), amount_sum: unscaledToText(v.sum) }));
  }
}

export function mergeTotals(files: readonly FileEntry[]): TotalRow[] {
  const acc = new TotalsAccumulator();
  for (const f of files) acc.addTotals(f.totals);
  return acc.result();
}

/** Totals equal as sets (same keys, rows and exact sums). Returns a description of the first difference. */
export function diffTotals(a: readonly TotalRow[], b: readonly TotalRow[]): string | null {
  const norm = (xs: readonly TotalRow[]) => new Map(xs.map((t) => [totalKey(t), `${t.rows} rows, sum ${unscaledToText(textToUnscaled(t.amount_sum))}`]));
  const ma = norm(a);
  const mb = norm(b);
  for (const [k, v] of ma) if (mb.get(k) !== v) return `${k.replace(/\u0000/g, '/')}: ${v} vs ${mb.get(k) ?? 'missing'}`;
  for (const [k, v] of mb) if (!ma.has(k)) return `${k.replace(/\u0000/g, '/')}: missing vs ${v}`;
  return null;
}

/** The _manifest.json document of a partition version. */
export function manifestDocument(p: Omit<PartitionState, 'manifestBlob' | 'successBlob'>, version: number, commitId: string, meta?: Record<string, unknown>) {
  return {
    format: 1,
    table: p.table,
    partition: p.dir,
    version,
    data_version: p.dataVersion,
    commit_id: commitId,
    rows: p.files.reduce((n, f) => n + f.rows, 0),
    bytes: p.files.reduce((n, f) => n + f.bytes, 0),
    files: p.files.map((f) => ({ name: f.name, rows: f.rows, bytes: f.bytes, min_event_ts: f.minTs, max_event_ts: f.maxTs, sorted: f.sorted })),
    totals: mergeTotals(p.files),
    /** What the writer records about the partition version (a bill run's manifest); absent for most tables. */
    ...(meta ? { meta } : {}),
  };
}
export type ManifestDocument = ReturnType<typeof manifestDocument>;
