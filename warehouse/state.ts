/**
 * The table's state as pure values: which files each partition holds at a version, replayed from the
 * append-only commit log. No I/O here.
 */
import { unscaledToText } from '../events/money.js';
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

/** What a source's ingest commits covered: answers committedInputs, loadedWindows and the same-load check. */
export interface SourceLoads {
  windows: ReadonlySet<string>;
  inputs: ReadonlySet<string>;
  fingerprints: ReadonlySet<string>;
}

export interface TableState {
  version: number;
  committedAt: string | null;
  /** Commit id of `version` (null at version 0). */
  commitId: string | null;
  partitions: ReadonlyMap<string, PartitionState>;
  /** Per billing source, the segments of its event index (warehouse/versions.ts). */
  indexes: ReadonlyMap<string, readonly IndexSegment[]>;
  /** Per billing source, the windows, inputs and load fingerprints its ingest commits covered. */
  loads: ReadonlyMap<string, SourceLoads>;
}

export const EMPTY_STATE: TableState = { version: 0, committedAt: null, commitId: null, partitions: new Map(), indexes: new Map(), loads: new Map() };

const EMPTY_LOADS: SourceLoads = { windows: new Set(), inputs: new Set(), fingerprints: new Set() };

export function partitionPath(table: string, dir: string): string {
  return `${table}/${dir}`;
}

/** `${table}/${dir}` as the current layout names it (a log entry of an older table says `…/event_date=D`). */
export function currentPartitionPath(p: string): string {
  const i = p.lastIndexOf('/');
  return `${p.slice(0, i + 1)}${currentPartitionDir(p.slice(i + 1))}`;
}

export function applyCommit(state: TableState, entry: CommitEntry): TableState {
  if (entry.version !== state.version + 1) throw new Error(`commit log is broken: version ${entry.version} follows ${state.version}`);
  const partitions = new Map(state.partitions);
  for (const ch of entry.changes) {
    const at = currentPartitionPath(ch.path);
    if (ch.state) partitions.set(at, { ...ch.state, dir: currentPartitionDir(ch.state.dir), changedIn: entry.version });
    else partitions.delete(at);
  }
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
      windows: entry.windows.length ? new Set([...was.windows, ...entry.windows]) : was.windows,
      inputs: entry.inputs.length ? new Set([...was.inputs, ...entry.inputs]) : was.inputs,
      fingerprints: entry.fingerprint ? new Set([...was.fingerprints, entry.fingerprint]) : was.fingerprints,
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

/** A checkpoint (core.ts): the state at a version as one JSON document. */
export interface CheckpointDocument {
  format: 1;
  version: number;
  committedAt: string | null;
  commitId: string | null;
  partitions: PartitionState[];
  indexes: [string, IndexSegment[]][];
  loads: [string, { windows: string[]; inputs: string[]; fingerprints: string[] }][];
}

export function checkpointDocument(s: TableState): CheckpointDocument {
  return {
    format: 1,
    version: s.version,
    committedAt: s.committedAt,
    commitId: s.commitId,
    partitions: [...s.partitions.values()],
    indexes: [...s.indexes.entries()].map(([k, v]) => [k, [...v]]),
    loads: [...s.loads.entries()].map(([k, v]) => [k, { windows: [...v.windows], inputs: [...v.inputs], fingerprints: [...v.fingerprints] }]),
  };
}

export function stateFromCheckpoint(d: CheckpointDocument): TableState {
  if (d.format !== 1 || !Number.isInteger(d.version) || !Array.isArray(d.partitions)) throw new Error('not a format-1 checkpoint');
  return {
    version: d.version,
    committedAt: d.committedAt,
    commitId: d.commitId,
    partitions: new Map(d.partitions.map((p) => ({ ...p, dir: currentPartitionDir(p.dir) })).map((p) => [partitionPath(p.table, p.dir), p])),
    indexes: new Map(d.indexes),
    loads: new Map(d.loads.map(([k, v]) => [k, { windows: new Set(v.windows), inputs: new Set(v.inputs), fingerprints: new Set(v.fingerprints) }])),
  };
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
