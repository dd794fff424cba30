/**
 * The prepare of one ingest attempt as one value in, one value out, so it can run on another core (a worker
 * thread, jobs/prepare-pool.ts) or in this thread: open the source from its configuration, read and map the
 * window's landing files, enrich the events from the dimension snapshots, and stage them (sorted, de-duplicated
 * CSV runs) in the scratch directory the warehouse handed out. Nothing is read from config or the clock here:
 * the task carries the source definition, `nowMs`, the committed inputs, the snapshots and the tuning.
 * The publish (dedupe against the table, Parquet, log entry) stays with the caller, under the writer lock.
 */
import { openSource, type ConnectorConfig } from '../connectors/index.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import { Money } from '../events/money.js';
import type { MrrObservation } from '../events/mrr.js';
import type { Window } from '../partitions/index.js';
import { stageEventsAt, type Staged } from '../warehouse/staging.js';
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
 * needs the source's durable MRR state, which stays in the main thread) and the mrr_delta events it answers are
 * staged with the batch, exactly where the in-thread ingest puts them (after the source's events).
 */
export type MrrHook = (observations: MrrObservation[]) => Promise<BillingEvent[]>;

/** Runs a prepare task to the end (in whatever thread calls it). */
export async function runPrepareTask(task: PrepareTask, mrrHook?: MrrHook): Promise<PreparedBatch> {
  const src = openSource(task.connector, task.source);
  if (src.statesMrr && !mrrHook) throw new Error(`internal: source ${task.source} states MRR; its prepare needs the MRR hook`);
  const batch = await src.read(task.window, { lookbackHours: task.lookbackHours, nowMs: task.nowMs, committed: new Set(task.committed), runId: task.runId });
  const dims = new DimensionLookup(task.dims.accounts, task.dims.products);
  async function* events(): AsyncGenerator<BillingEvent> {
    yield* batch.events;
    if (src.statesMrr && batch.mrr.length) yield* await mrrHook!(batch.mrr);
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

/** Money and the objects holding it, as structured-clone values (Money is a class) and back, exactly. */
type WireMoney = { amount: string; currency: string };
const moneyOut = (m: Money): WireMoney => ({ amount: m.toFixed(), currency: m.currency });
const moneyIn = (m: WireMoney): Money => Money.major(m.amount, m.currency);

export type WireObservation = Omit<MrrObservation, 'mrr'> & { mrr: WireMoney };
export type WireEvent = Omit<BillingEvent, 'amount' | 'mrrDelta'> & { amount: WireMoney; mrrDelta: WireMoney | null };

export const observationsOut = (o: readonly MrrObservation[]): WireObservation[] => o.map((x) => ({ ...x, mrr: moneyOut(x.mrr) }));
export const observationsIn = (o: readonly WireObservation[]): MrrObservation[] => o.map((x) => ({ ...x, mrr: moneyIn(x.mrr) }));
export const eventsOut = (e: readonly BillingEvent[]): WireEvent[] => e.map((x) => ({ ...x, amount: moneyOut(x.amount), mrrDelta: x.mrrDelta ? moneyOut(x.mrrDelta) : null }));
export const eventsIn = (e: readonly WireEvent[]): BillingEvent[] => e.map((x) => Object.freeze({ ...x, amount: moneyIn(x.amount), mrrDelta: x.mrrDelta ? moneyIn(x.mrrDelta) : null }));
