/**
 * The prepare of one ingest attempt as one value in, one value out, so it can run on another core (a worker
 * thread, jobs/prepare-pool.ts) or in this thread: open the source from its configuration, read and map the
 * window's landing files, enrich the events from the dimension snapshots, and stage them (sorted, de-duplicated
 * CSV runs) in the scratch directory the warehouse handed out. Nothing is read from config or the clock here:
 * the task carries the source definition, `nowMs`, the committed inputs, the snapshots and the tuning.
 * The publish (dedupe against the table, Parquet, log entry) stays with the caller, under the writer lock.
 */
import path from 'node:path';
import { openSource, type ConnectorConfig, type HoldSpill, SPILL_BUCKETS } from '../connectors/index.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import type { MrrObservation } from '../events/mrr.js';
import type { Window } from '../partitions/index.js';
import { stageEventsAt, type Staged } from '../warehouse/staging.js';
import { BucketSpill } from '../warehouse/scratch.js';
import { DEFAULT_TUNING } from '../warehouse/options.js';
import { DimensionLookup } from './enrich.js';
import type { DimRow, InputFile, SourceBatch } from './ports.js';

export interface PrepareTask {
  /** The connector configuration the source is opened from (landing, pickup, source definitions). */
  connector: ConnectorConfig;
  source: string;
  window: Window;
  lookbackHours: number;
  nowMs: number;
  /** `${path}@${sha256}` of inputs the warehouse already committed for the source. */
  committed: string[];
  runId: string;
  dims: { accounts: { snapshotDate: string; rows: DimRow[] }[]; products: { snapshotDate: string; rows: DimRow[] }[] };
  /** The prepare scratch directory (a local path from FactTable.prepareScratch). */
  scratch: string;
  spillRows: number;
  /** Default: the warehouse's default (DEFAULT_TUNING.spillBytes). */
  spillBytes?: number;
}

/** The read batch without its event stream (consumed into `staged`), plus the staged runs. */
export interface PreparedBatch {
  inputs: InputFile[];
  skipped: InputFile[];
  quarantine: QuarantineEntry[];
  pending: { path: string; reason: string }[];
  unrecognised: { path: string; reason: string }[];
  folders: string[];
  stats: NonNullable<SourceBatch['stats']>;
  staged: Staged;
}

/**
 * The MRR step of a source that states MRR: the observations of the records read go to the caller (the plan
 * needs the source's durable MRR state, which stays in the main thread) in chunks of whole subscriptions (one
 * chunk, or one spilled bucket at a time: SourceBatch.mrrChunks), and the mrr_delta events it answers for each are
 * staged with the batch, exactly where the in-thread ingest puts them (after the source's events).
 */
export type MrrHook = (observations: MrrObservation[]) => Promise<BillingEvent[]>;

/**
 * What a prepare holds for its whole source-day goes to bucket files in its scratch past a budget: the history
 * versions a source's `history: true` objects hold until the stream ends (connectors/mapping/session.ts), and the
 * MRR observations of a source that states MRR (planned a bucket of subscriptions at a time: MrrHook per chunk). Held
 * events are heavier than staged lines (an event object ~0.8 KB against a line's ~0.3 KB), so the budget is a
 * quarter of the staging's `spillRows`: with the defaults 25 000 events (~20 MB) beside 100 000 staged lines.
 */
export function prepareSpill(scratch: string, spillRows: number): HoldSpill {
  let n = 0;
  return { holdValues: Math.max(1, Math.floor(spillRows / 4)), flushBytes: 8 * 2 ** 20, open: (name) => new BucketSpill(path.join(scratch, `hold-${n++}-${name}`), SPILL_BUCKETS) };
}

/** Runs a prepare task to the end (in whatever thread calls it). */
export async function runPrepareTask(task: PrepareTask, mrrHook?: MrrHook): Promise<PreparedBatch> {
  const src = openSource(task.connector, task.source);
  if (src.statesMrr && !mrrHook) throw new Error(`internal: source ${task.source} states MRR; its prepare needs the MRR hook`);
  const batch = await src.read(task.window, { lookbackHours: task.lookbackHours, nowMs: task.nowMs, committed: new Set(task.committed), runId: task.runId, spill: prepareSpill(task.scratch, task.spillRows) });
  const dims = new DimensionLookup(task.dims.accounts, task.dims.products);
  async function* events(): AsyncGenerator<BillingEvent> {
    yield* batch.events;
    // one chunk of whole subscriptions at a time (a spilled read: one bucket), each answered with its mrr_delta events
    for await (const chunk of batch.mrrChunks()) for (const e of await mrrHook!(chunk)) yield e;
  }
  const staged = await stageEventsAt(task.scratch, { source: task.source, runId: task.runId, events: src.statesMrr ? events() : batch.events, dims: (e) => dims.attributes(e) }, { spillRows: task.spillRows, spillBytes: task.spillBytes ?? DEFAULT_TUNING.spillBytes });
  return {
    inputs: batch.inputs,
    skipped: batch.skipped,
    quarantine: batch.quarantine,
    pending: batch.pending,
    unrecognised: batch.unrecognised,
    folders: batch.folders,
    stats: { records: batch.stats.records, mapped: batch.stats.mapped, quarantined: batch.stats.quarantined, skipped: { ...batch.stats.skipped } },
    staged,
  };
}

export { eventsIn, eventsOut, observationsIn, observationsOut, type WireEvent, type WireObservation } from '../events/wire.js';
