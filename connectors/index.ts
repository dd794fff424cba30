/**
 * Billing-source connectors: the API jobs use (docs/CONTRACTS.md, docs/connectors.md).
 *
 *   const src = openSource(config, 'zuora');
 *   const batch = await src.read(window, { lookbackHours, nowMs, committed, runId });
 *   await table.commitIngest({ ..., inputs: batch.inputs, events: batch.events, quarantine: batch.quarantine });
 *   await src.controlTotals('2024-01-03');
 */
import { ConfigError, RecordError, RetriableError } from '../events/errors.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import { parseSourceConfig, type SourceConfig } from '../config/sources.js';
import type { Window } from '../partitions/index.js';
import type { ProofKind } from '../config/completeness.js';
import { openControl, windowDeliveries, type ControlProvider, type WindowDelivery } from './control/index.js';
import { planPickup, type PickupPlan, type PickupSettings, type PlannedFile } from './landing/pickup.js';
import { fileSource, HashTap, readSmallFile, sha256Hex, WHOLE_FILE_BYTES, type ByteSource } from './landing/bytes.js';
import { DEFAULT_MAX_RECORD_BYTES, readRecords, type ReadLimits } from './landing/readers.js';
import { compileMapper, type Mapper } from './mapping/map.js';
import { compileMrrObserver, type MrrObserver } from './mapping/mrr.js';
import { MapSession, textBucket, type HoldSpill, type MapStats, type SpillBuckets } from './mapping/session.js';
import { observationFromJson, observationToJson } from '../events/wire.js';
import type { MrrObservation } from '../events/mrr.js';
import type { ControlTotals, InputFile, MapContext, MapResult, RawRecord } from './types.js';

export type { ControlTotals, InputFile, MapContext, MapResult, RawRecord, RecordLocation } from './types.js';
export { Skipped } from './types.js';
export { MapSession, skippedTotal, REPEATED_VERSION, SPILL_BUCKETS, textBucket, type HoldSpill, type MapStats, type SpillBuckets } from './mapping/session.js';
export type { PickupPlan, PickupSettings } from './landing/pickup.js';
export { compileMapper, toQuarantine, type Mapper } from './mapping/map.js';
export { parseFileName, readRecords } from './landing/readers.js';
export { planPickup } from './landing/pickup.js';
export { readControlTotals, controlPath, openControl, windowDeliveries, aggregateControl, type ControlProvider, type WindowDelivery } from './control/index.js';
export { loadSourceFile } from './load.js';
export { NO_CURRENCY } from './mapping/values.js';

export interface ReadOptions {
  lookbackHours: number;
  nowMs: number;
  /** `${path}@${sha256}` of inputs the warehouse already committed (FactTable.committedInputs). */
  committed?: ReadonlySet<string>;
  runId: string;
  /** Where the read spills what it holds for the whole stream past a budget (a prepare's scratch); default: memory. */
  spill?: HoldSpill;
}

export interface SourceBatch {
  inputs: InputFile[];
  skipped: InputFile[];
  pending: { path: string; reason: string }[];
  unrecognised: { path: string; reason: string }[];
  /** Landing folders (`<source>/<day>/<HH>`) that were looked at. */
  folders: string[];
  /** Streamed; each file is read when iteration reaches it. */
  events: AsyncIterable<BillingEvent>;
  /** Filled while `events` is iterated; complete after it ends. */
  quarantine: QuarantineEntry[];
  /** Filled while `events` is iterated: records read = records that produced events (mapped) + quarantined + skipped. */
  stats: MapStats;
  /** MRR observations of the records read (objects with an `mrr:` clause); complete after `events` ends. Empty once they spilled: see mrrChunks. */
  mrr: MrrObservation[];
  /**
   * The MRR observations after `events` ended, in chunks that each hold every observation of their subscriptions
   * (so each chunk can be planned on its own): `mrr` as one chunk, or, for a read that spilled them past its
   * budget, one bucket of subscriptions at a time.
   */
  mrrChunks(): AsyncIterable<MrrObservation[]>;
}

export interface LandingSource {
  readonly name: string;
  readonly config: SourceConfig;
  /** Which files a read would take (no records are read). */
  plan(window: Window, o: Omit<ReadOptions, 'runId'>): Promise<PickupPlan>;
  /** Raw records of the window's ready, uncommitted files. */
  records(window: Window, o: Omit<ReadOptions, 'runId'>): AsyncIterable<RawRecord>;
  /** One record → events or a RecordError. */
  map(record: RawRecord, ctx: MapContext): MapResult;
  /** True when some object declares `mrr:` (ingest then turns observations into mrr_delta rows). */
  readonly statesMrr: boolean;
  /** Plan + read + map, as the warehouse's commitIngest wants it. */
  read(window: Window, o: ReadOptions): Promise<SourceBatch>;
  /** How the source proves a day (its `completeness.control`) and where its numbers come from. */
  readonly proof: { kind: ProofKind; origin: string | null };
  /** The source's own totals for the day (its ControlProvider), or null when none are declared or reported yet. */
  controlTotals(day: string): Promise<ControlTotals | null>;
  /** Delivery evidence per window of the day (for ARRIVED). */
  deliveries(day: string): Promise<WindowDelivery[]>;
}

export interface ConnectorConfig {
  landing: string;
  pickup: PickupSettings;
  /** Validated source definitions (Config.sources), or raw ones (validated here). */
  sources: readonly unknown[];
  /** A record larger than this is quarantined (RECORD_TOO_LARGE) unparsed; default 16 MiB. */
  maxRecordBytes?: number;
}

const toInput = (f: PlannedFile): InputFile => ({ path: f.path, sha256: f.sha256, bytes: f.bytes });

/**
 * A planned file as a byte source that checks, at the end of every pass, that the bytes are still the ones the plan
 * fingerprinted (sha256 computed while streaming): a file re-delivered during the run fails the run (retried).
 */
export function verifiedSource(f: Pick<PlannedFile, 'abs' | 'path' | 'sha256'>): ByteSource {
  const open = fileSource(f.abs);
  return async function* () {
    const tap = new HashTap();
    for await (const c of open()) {
      tap.add(c);
      yield c;
    }
    if (tap.digest() !== f.sha256) {
      throw new RetriableError(changedWhileReading(f.path));
    }
  };
}

/**
 * A small planned file (at most WHOLE_FILE_BYTES) read whole, once: its sha256 checked against the plan's before a
 * record is read, then its encoding check and its records come from that one buffer.
 */
function wholeVerified(f: Pick<PlannedFile, 'abs' | 'path' | 'sha256' | 'bytes'>): Buffer | null {
  const b = readSmallFile(f.abs);
  if (b === null) return null; // grown since the plan: read as a stream (whose check then fails)
  if (b.length !== f.bytes || sha256Hex(b) !== f.sha256) throw new RetriableError(changedWhileReading(f.path));
  return b;
}

const changedWhileReading = (path: string) => `landing file ${path} changed while this run was reading it (re-delivery in progress?); the run will be retried`;

/**
 * Reads the records of planned files, checking each file still has the content that was planned: a small file
 * read whole once, a larger one as a stream (read twice, each pass checked).
 */
export async function* recordsOf(files: readonly PlannedFile[], limits?: ReadLimits): AsyncGenerator<RawRecord> {
  for (const f of files) {
    const src = (f.bytes <= WHOLE_FILE_BYTES ? wholeVerified(f) : null) ?? verifiedSource(f);
    yield* readRecords(src, f.name, f.spec, f.path, limits);
  }
}

/**
 * Maps a record stream: events stream out, quarantine entries and counts fill in as it is iterated. With an MRR
 * observer (objects that declare `mrr:`), each mapped record's MRR observation is collected in `mrr`; a record whose
 * MRR cannot be read is quarantined whole (its events too), so every record still ends in exactly one place.
 */
export function mapRecords(
  records: AsyncIterable<RawRecord>,
  map: Mapper,
  billingSource: string,
  ingestRunId: string,
  observeMrr?: MrrObserver | null,
  spill?: HoldSpill,
): { events: AsyncIterable<BillingEvent>; quarantine: QuarantineEntry[]; stats: MapStats; mrr: MrrObservation[]; mrrChunks(): AsyncIterable<MrrObservation[]> } {
  const mrr: MrrObservation[] = [];
  // past the spill's budget, observations go to bucket files by subscription
  let mrrSpill: SpillBuckets | null = null;
  const collect = (o: MrrObservation) => {
    if (mrrSpill) return mrrSpill.add(textBucket(o.subscriptionId, mrrSpill.buckets), observationToJson(o));
    mrr.push(o);
    if (spill && mrr.length > spill.holdValues) {
      mrrSpill = spill.open('mrr');
      for (const x of mrr) mrrSpill.add(textBucket(x.subscriptionId, mrrSpill.buckets), observationToJson(x));
      mrr.length = 0;
    }
  };
  const session = new MapSession(observeMrr ? withMrr(map, observeMrr, collect) : map, billingSource, ingestRunId, spill);
  async function* events(): AsyncGenerator<BillingEvent> {
    // for-of + yield, not yield* of the array (which wraps it in an async-from-sync iterator per record)
    for await (const r of records) {
      for (const e of session.push(r).events) yield e;
      if (session.needsFlush) await session.flush();
      if (mrrSpill && mrrSpill.pendingBytes >= spill!.flushBytes) await mrrSpill.flush();
    }
    if (session.spilling) for await (const e of session.drain()) yield e;
    else for (const e of session.finish().events) yield e;
  }
  async function* mrrChunks(): AsyncGenerator<MrrObservation[]> {
    const s: SpillBuckets | null = mrrSpill;
    if (!s) {
      if (mrr.length) yield mrr;
      return;
    }
    for (let b = 0; b < s.buckets; b++) {
      const lines = await s.read(b);
      if (lines.length) yield lines.map(observationFromJson);
    }
    await s.remove();
  }
  return { events: events(), quarantine: session.quarantine, stats: session.stats, mrr, mrrChunks };
}

/** The mapper, also collecting each mapped record's MRR observation (a record whose MRR cannot be read → its error). */
function withMrr(map: Mapper, observe: MrrObserver, into: (o: MrrObservation) => void): Mapper {
  const wrapped = ((r, ctx) => {
    const res = map(r, ctx);
    if (!Array.isArray(res)) return res;
    try {
      const o = observe(r);
      if (o) into(o);
    } catch (e) {
      if (e instanceof RecordError) return e;
      throw e;
    }
    return res;
  }) as Mapper;
  return Object.assign(wrapped, map);
}

export function openSource(config: ConnectorConfig, sourceName: string, o: { recount?: ControlProvider } = {}): LandingSource {
  const raw = config.sources.find((s) => (s as { name?: unknown })?.name === sourceName);
  if (!raw) {
    const names = config.sources.map((s) => (s as { name?: unknown })?.name).join(', ');
    throw new ConfigError(`unknown source "${sourceName}"`, [`configured sources: ${names || '(none)'}`]);
  }
  const source = parseSourceConfig(raw, `source "${sourceName}"`);
  const mapper = compileMapper(source);
  const limits: ReadLimits = { maxRecordBytes: config.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES };
  const observeMrr = compileMrrObserver(source);
  const control = openControl(source.completeness.control, { landing: config.landing, source: source.name, ...(o.recount ? { recount: o.recount } : {}) });
  const plan = (w: Window, o: Omit<ReadOptions, 'runId'>) =>
    planPickup(config.landing, source, w, { lookbackHours: o.lookbackHours, nowMs: o.nowMs, pickup: config.pickup, ...(o.committed ? { committed: o.committed } : {}) });
  return {
    name: source.name,
    config: source,
    plan,
    async *records(w, o) {
      yield* recordsOf((await plan(w, o)).inputs, limits);
    },
    map: mapper,
    statesMrr: observeMrr !== null,
    async read(w, o) {
      const p = await plan(w, o);
      const m = mapRecords(recordsOf(p.inputs, limits), mapper, source.name, o.runId, observeMrr, o.spill);
      return { inputs: p.inputs.map(toInput), skipped: p.skipped.map(toInput), pending: p.pending, unrecognised: p.unrecognised, folders: p.folders, ...m };
    },
    proof: { kind: source.completeness.control.kind, origin: control?.origin ?? null },
    controlTotals: async (day) => (control ? control.totals(day) : null),
    deliveries: (day) => windowDeliveries(config.landing, source.name, day),
  };
}
