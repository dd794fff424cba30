/**
 * What jobs need from the warehouse and the connectors, as narrow interfaces. jobs/adapters.ts binds them to
 * warehouse/index.ts and connectors/index.ts (docs/CONTRACTS.md); tests bind them to in-memory fakes, so the
 * orchestration logic is tested without Parquet.
 */
import type { RecordError } from '../events/errors.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import type { MrrObservation } from '../events/mrr.js';
import type { Window } from '../partitions/index.js';
import type { ConnectorConfig, ControlTotals } from '../connectors/index.js';
import type { Staged, TotalRow as TotalsRow } from '../warehouse/index.js';

export interface InputFile {
  /** Path relative to the landing zone. */
  path: string;
  sha256: string;
  bytes: number;
}

export interface CommitResult {
  commitId: string | null;
  version: number | null;
  /** True when nothing new was committed (all inputs already committed). */
  skipped: boolean;
  rowsIn: number;
  rowsWritten: number;
  duplicatesInBatch: number;
  duplicatesExisting: number;
  quarantined: number;
  filesAdded: number;
  /** Days (event_date partitions) the commit touched. */
  partitions: string[];
  /** ms outside the writer lock (this call's part of the prepare), waiting for it, and holding it (the publish). */
  timing?: { prepareMs: number; lockWaitMs: number; publishMs: number };
  /**
   * Rows of the source's event index the de-duplication read (absent: the warehouse does not count them). The
   * cost of a commit's lookup against the table's history: it must not grow with the table's age.
   */
  indexRowsRead?: number;
}

/** A control-total row (per source, event type and currency) as the warehouse's manifests keep it. */
export type { TotalsRow };

export interface DayManifest {
  files: unknown[];
  totals: TotalsRow[];
}

export interface CommitRequest {
  runId: string;
  source: string;
  windows: Window[];
  inputs: InputFile[];
  events: AsyncIterable<BillingEvent>;
  quarantine: QuarantineEntry[];
  /** Writes to other tables committed in the same commit (the source's MRR state); may be filled while `events` is iterated. */
  tables?: TableWriteRequest[];
}

/** A cell of a table row: text, int64/µs/unscaled DECIMAL(38,9) as bigint, bool, date as 'YYYY-MM-DD', or null. */
export type Cell = string | bigint | boolean | null;

/** A write to a table of the warehouse beside the fact table (warehouse/tables.ts TableWrite). */
export interface TableWriteRequest {
  table: string;
  partition: string;
  rows: Record<string, Cell>[];
  mode: 'create' | 'append';
  /** The partition's data version the rows were computed from (null: it did not exist); checked at commit. */
  basis?: number | null;
}

/** Reads one partition of a table (keyed snapshot tables: the newest snapshot per key) with its data version. */
export interface TableReader {
  readTable(table: string, partition: string, keys?: { column: string; values: readonly string[] }): Promise<{ rows: Record<string, Cell>[]; basis: number | null }>;
}

export type DimRow = Record<string, string | null>;

/** A prepare scratch directory the warehouse handed out: `path` is local, a worker thread stages into it. */
export interface PrepareScratch {
  dir: string;
  path: string;
  /** The warehouse's spill threshold (rows per in-memory staging buffer) the prepare must use. */
  spillRows: number;
  /** And its byte budget (staged line text per buffer). */
  spillBytes: number;
}

export interface WarehousePort extends TableReader {
  commitIngest(req: CommitRequest): Promise<CommitResult>;
  /**
   * The prepare/publish split for prepares run elsewhere (jobs/prepare-pool.ts): a scratch directory to stage
   * into, the publish of what was staged there (under the writer lock, like commitIngest), or its discard.
   * Absent on a warehouse that only commits in-thread.
   */
  prepareScratch?(): Promise<PrepareScratch>;
  publishStaged?(req: Omit<CommitRequest, 'events'>, scratch: PrepareScratch, staged: Staged): Promise<CommitResult>;
  discardScratch?(scratch: PrepareScratch): Promise<void>;
  /** `${path}@${sha256}` committed for `source`; with `days` (inclusive), only those of landing folders of those days or of no day. */
  committedInputs(source: string, days?: { from: string; to: string }): Promise<Set<string>>;
  /** Window keys committed for `source`; with `days` (inclusive), only those of windows starting on those days. */
  loadedWindows(source: string, days?: { from: string; to: string }): Promise<Set<string>>;
  manifest(day: string): Promise<DayManifest | null>;
  /** The manifests of many days from one read of the table state (status shows a range of days). */
  manifests(days: readonly string[]): Promise<Map<string, DayManifest | null>>;
  compact(days: string[]): Promise<void>;
  writeSuccess(day: string, payload: unknown): Promise<void>;
  clearSuccess(day: string): Promise<void>;
  readSuccess(day: string): Promise<unknown | null>;
  /** Days whose `_SUCCESS` is in place. */
  markedDays(): Promise<Set<string>>;
  writeDimensionSnapshot(name: 'dim_account' | 'dim_product', snapshotDate: string, rows: DimRow[]): Promise<void>;
  /** All stored snapshots of a dimension, any order. */
  dimensionSnapshots(name: 'dim_account' | 'dim_product'): Promise<{ snapshotDate: string; rows: DimRow[] }[]>;
  /** Root directory of the fact table (for messages and the demo's DuckDB query). */
  readonly factPath: string;
}

export type { ControlTotals };

export interface SourceBatch {
  /** Ready input files of the window plus lookback that were not committed yet (these will be read). */
  inputs: InputFile[];
  /** Ready files skipped because already committed (same path and sha256). */
  skipped: InputFile[];
  events: AsyncIterable<BillingEvent>;
  /** Filled while `events` is iterated; complete after it ends. */
  quarantine: QuarantineEntry[];
  /** Files not ready yet (no marker, still changing): left for a later run. */
  pending?: { path: string; reason: string }[];
  /** Files matching no object of the source: reported, not read. */
  unrecognised?: { path: string; reason: string }[];
  /** Records accounting, complete after `events` ends: records = mapped + quarantined + Σ skipped (per rule). */
  stats?: { records: number; mapped: number; quarantined: number; skipped: Record<string, number> };
  /** Landing folders (`<source>/<day>/<HH>`) the read looked at. */
  folders?: string[];
  /** MRR observations of the records read (sources whose mappings declare `mrr:`); complete after `events` ends. */
  mrr?: MrrObservation[];
}

/** mrr_delta events of a batch and the MRR state write to commit with them (in the same commit). */
export interface MrrPlan {
  events: BillingEvent[];
  errors: RecordError[];
  tables: TableWriteRequest[];
}

/** Turns a source's MRR observations into mrr_delta events against the MRR state table (jobs/billing/mrr-store.ts). */
export interface MrrPort {
  plan(source: string, observations: readonly MrrObservation[], runId: string): Promise<MrrPlan>;
}

export interface SourcePort {
  readonly name: string;
  /** Some object of the source declares `mrr:` (its runs then hold the source's MRR lock and update its MRR state). */
  readonly statesMrr?: boolean;
  /** The connector configuration the source opens from: a prepare worker thread opens the same source from it. */
  readonly connector?: ConnectorConfig;
  /** Reads the window's landing folders plus `lookbackHours` before it, leaving out `committed` inputs. */
  read(window: Window, o: { lookbackHours: number; nowMs: number; committed: Set<string>; runId: string }): Promise<SourceBatch>;
  /**
   * How the source proves a day (config `completeness`): the kind of control ('none': ARRIVED at best), where its
   * numbers come from, and the volume rule of ARRIVED.
   */
  readonly completeness: SourceCompleteness;
  /** The source's own totals for the day (export, query or recount), or null when none are declared or reported yet. */
  controlTotals(day: string): Promise<ControlTotals | null>;
  /** API sources (config `pull.<source>`): lists the windows from the vendor and lands the pages before `read`. */
  pull?(windows: Window[], o: { lookbackHours: number; nowMs: number; signal?: AbortSignal; log: (event: string, fields: Record<string, unknown>) => void }): Promise<PullSummary>;
  /** API sources: the day listed again by creation time, mapped in memory (the source-side completeness control). */
  recount?(day: string): Promise<ControlTotals & { method: string; eventTypes: string[] }>;
  /** Delivery evidence per 4-hour window of the day: folder present and marked. */
  deliveries(day: string): Promise<WindowDelivery[]>;
}

export interface PullSummary {
  pages: number;
  records: number;
  requests: number;
  notes: string[];
}

export interface SourceCompleteness {
  proof: 'export' | 'query' | 'recount' | 'none';
  origin: string | null;
  arrival: { trailingDays: number; minHistory: number; tolerance: number };
}

export interface WindowDelivery {
  window: string;
  delivered: boolean;
  folders: string[];
  reason?: string;
}

export interface OltpPort {
  read(): Promise<{ accounts: DimRow[]; products: DimRow[]; origin: string }>;
}
