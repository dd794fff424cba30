/**
 * Deltas for stateful measures (MRR). Billing systems report a subscription's MRR as an ABSOLUTE value per
 * subscription version; the fact table stores DELTAS (`mrr_delta`) so that SUM(mrr_delta) over any slice is the
 * MRR change of that slice.
 *
 * Pure: state in, state + new delta rows out. The job (jobs/billing/mrr-store.ts) persists the state log.
 *
 * Model. For one subscription with known versions v1 < v2 < … (ordered by `versionSeq`), the IDEAL delta of
 * version vi is value(vi) − value(vi−1) (value(v0) = 0), dated at vi's effective time. The state remembers, per
 * version, how much delta has already been emitted. After a batch of observations, every version whose ideal
 * delta differs from what was emitted gets one more row with the difference: the first row of a version is a
 * DELTA, later ones are CORRECTIONs. Rows are never edited; a late older version therefore yields its own DELTA
 * plus a CORRECTION dated at the next newer version, and the per-subscription sum always equals the latest
 * version's value, whatever the arrival order.
 *
 * Identity: event_id = eventId(source, 'mrr_delta', `<subscription>@<version>`, `<n>`) where n counts the rows
 * already emitted for that version, so re-running a batch from the same state yields the same ids.
 */
import { RecordError, type SourceLocation } from './errors.js';
import { eventId } from './identity.js';
import { makeEvent, type BillingEvent } from './model.js';
import { Decimal, Money } from './money.js';
import type { ParsedTimestamp } from './time.js';

/** One absolute MRR value as reported for one subscription version. */
export interface MrrObservation {
  billingSource: string;
  subscriptionId: string;
  accountId: string | null;
  /** Order of versions (source sequence / version number / updated_at micros). Higher is newer. */
  versionSeq: bigint;
  /** The version label as the source wrote it (part of the event id). */
  version: string;
  /** When the version took effect, UTC microseconds. The delta rows are dated here. */
  effectiveTs: bigint;
  /** The subscription's absolute MRR at this version. */
  mrr: Money;
  /** Where the observation came from (file + line), for lineage and error messages. */
  location: SourceLocation;
}

/** What the state keeps per known version. Money as exact decimal text. */
export interface MrrVersionState {
  seq: bigint;
  version: string;
  effectiveTs: bigint;
  value: string;
  /** Sum of the deltas already emitted for this version. */
  emitted: string;
  /** How many delta rows were emitted for this version (next row's ordinal). */
  rows: number;
  sourceFile: string;
  sourcePosition: number;
}

export interface MrrSubscriptionState {
  billingSource: string;
  subscriptionId: string;
  accountId: string | null;
  currency: string;
  /** Sorted by seq ascending. */
  versions: MrrVersionState[];
}

/** State keyed by subscriptionKey(). Treat as immutable: apply() returns a new map. */
export type MrrState = ReadonlyMap<string, MrrSubscriptionState>;

export type MrrDeltaKind = 'DELTA' | 'CORRECTION';

/** One delta row to append to the fact table (as an MRR_CHANGED event). */
export interface MrrDelta {
  eventId: string;
  kind: MrrDeltaKind;
  billingSource: string;
  subscriptionId: string;
  accountId: string | null;
  versionSeq: bigint;
  version: string;
  /** Ordinal of this row among the rows of its version (0 = the first). */
  row: number;
  effectiveTs: bigint;
  delta: Money;
  sourceFile: string;
  sourcePosition: number;
}

export interface MrrApplyResult {
  state: MrrState;
  deltas: MrrDelta[];
  /** Observations refused (currency change, same version with a different value): quarantine them. */
  errors: RecordError[];
  /** Observations that repeated a known version with the same value (idempotent re-reads). */
  duplicates: number;
}

const SEP = '\x1f';
export function subscriptionKey(billingSource: string, subscriptionId: string): string {
  return `${billingSource}${SEP}${subscriptionId}`;
}

export function mrrDeltaEventId(billingSource: string, subscriptionId: string, version: string, row: number): string {
  return eventId({ billingSource, sourceObjectType: 'mrr_delta', sourceRecordId: `${subscriptionId}@${version}`, sourceVersion: String(row) });
}

function cloneSub(s: MrrSubscriptionState): MrrSubscriptionState {
  return { ...s, versions: s.versions.map((v) => ({ ...v })) };
}

/** Inserts a version keeping seq order; returns an error text when it conflicts with a known one, 'dup' when identical. */
function insertVersion(sub: MrrSubscriptionState, o: MrrObservation): string | 'dup' | undefined {
  const value = o.mrr.amount;
  const i = sub.versions.findIndex((v) => v.seq >= o.versionSeq);
  const at = i === -1 ? sub.versions.length : i;
  const existing = sub.versions[at];
  if (existing && existing.seq === o.versionSeq) {
    if (new Decimal(existing.value).equals(value)) return 'dup';
    return `version ${o.version} (seq ${o.versionSeq}) of subscription ${o.subscriptionId} was already seen with MRR ${existing.value}, now ${value.toFixed()}; a version must not change its value — send a new version instead`;
  }
  sub.versions.splice(at, 0, {
    seq: o.versionSeq,
    version: o.version,
    effectiveTs: o.effectiveTs,
    value: value.toFixed(),
    emitted: '0',
    rows: 0,
    sourceFile: o.location.file,
    sourcePosition: o.location.line ?? o.location.position ?? 0,
  });
  return undefined;
}

/** Emits, for each version of `sub`, the difference between its ideal delta and what was already emitted. */
function reconcile(sub: MrrSubscriptionState): MrrDelta[] {
  const out: MrrDelta[] = [];
  let prev = new Decimal(0);
  for (const v of sub.versions) {
    const value = new Decimal(v.value);
    const ideal = value.minus(prev);
    prev = value;
    const diff = ideal.minus(new Decimal(v.emitted));
    if (diff.isZero()) continue;
    out.push({
      eventId: mrrDeltaEventId(sub.billingSource, sub.subscriptionId, v.version, v.rows),
      kind: v.rows === 0 ? 'DELTA' : 'CORRECTION',
      billingSource: sub.billingSource,
      subscriptionId: sub.subscriptionId,
      accountId: sub.accountId,
      versionSeq: v.seq,
      version: v.version,
      row: v.rows,
      effectiveTs: v.effectiveTs,
      delta: Money.major(diff.toFixed(), sub.currency),
      sourceFile: v.sourceFile,
      sourcePosition: v.sourcePosition,
    });
    v.emitted = ideal.toFixed();
    v.rows += 1;
  }
  return out;
}

/**
 * Applies a batch of observations (any order) to the state. Returns the new state and the delta rows to append.
 * Applying the same observations again yields no rows.
 */
export function applyMrrObservations(state: MrrState, observations: Iterable<MrrObservation>): MrrApplyResult {
  const next = new Map(state);
  const touched = new Set<string>();
  const changed = new Set<string>();
  const errors: RecordError[] = [];
  let duplicates = 0;
  for (const o of observations) {
    const key = subscriptionKey(o.billingSource, o.subscriptionId);
    const current = next.get(key);
    if (current && current.currency !== o.mrr.currency) {
      errors.push(
        new RecordError(
          'BAD_VALUE',
          `subscription ${o.subscriptionId} changed MRR currency from ${current.currency} to ${o.mrr.currency} at version ${o.version}; MRR deltas need one currency per subscription — end it and start a new subscription id`,
          o.mrr.toString(),
          { ...o.location, field: o.location.field ?? 'mrr' },
        ),
      );
      continue;
    }
    let sub = current;
    if (!touched.has(key)) {
      sub = current ? cloneSub(current) : { billingSource: o.billingSource, subscriptionId: o.subscriptionId, accountId: o.accountId, currency: o.mrr.currency, versions: [] };
      next.set(key, sub);
      touched.add(key);
    }
    const s = sub!;
    const r = insertVersion(s, o);
    if (r === 'dup') duplicates += 1;
    else if (r !== undefined) errors.push(new RecordError('BAD_VALUE', r, o.mrr.toString(), { ...o.location, field: o.location.field ?? 'mrr' }));
    else {
      changed.add(key);
      if (o.accountId && s.versions[s.versions.length - 1]!.seq === o.versionSeq) s.accountId = o.accountId;
    }
  }
  for (const key of touched) {
    if (changed.has(key)) continue;
    const before = state.get(key);
    if (before) next.set(key, before);
    else next.delete(key);
  }
  const deltas: MrrDelta[] = [];
  for (const key of [...changed].sort()) deltas.push(...reconcile(next.get(key)!));
  return { state: next, deltas, errors, duplicates };
}

/** The subscription's current MRR according to the state (the latest version's value). */
export function currentMrr(state: MrrState, billingSource: string, subscriptionId: string): string | undefined {
  const s = state.get(subscriptionKey(billingSource, subscriptionId));
  return s?.versions[s.versions.length - 1]?.value;
}

/** A ParsedTimestamp for an instant already in UTC microseconds. */
export function utcTimestamp(micros: bigint): ParsedTimestamp {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const frac = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const day = iso.slice(0, 10);
  return {
    utcMicros: micros,
    utc: `${iso.slice(0, 19)}.${frac.toString().padStart(6, '0')}Z`,
    utcDate: day,
    precision: 'microsecond',
    truncatedToMidnight: false,
    ambiguous: false,
    nonexistent: false,
    sourceLocalDate: day,
  };
}

/** The fact-table row for a delta: event_type MRR_CHANGED, amount 0, mrr_delta = the delta. */
export function mrrDeltaToEvent(d: MrrDelta, ingestRunId: string): BillingEvent {
  const ts = utcTimestamp(d.effectiveTs);
  return makeEvent({
    eventId: d.eventId,
    seqn: d.versionSeq,
    billingSource: d.billingSource,
    eventType: 'MRR_CHANGED',
    sourceObjectType: 'mrr_delta',
    sourceRecordId: `${d.subscriptionId}@${d.version}`,
    sourceVersion: String(d.row),
    ts,
    sourceTsRaw: ts.utc,
    sourceTimezone: 'UTC',
    amount: Money.zero(d.delta.currency),
    accountId: d.accountId,
    subscriptionId: d.subscriptionId,
    mrrDelta: d.delta,
    lineage: { sourceFile: d.sourceFile, sourcePosition: d.sourcePosition, ingestRunId },
  });
}
