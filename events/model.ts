/**
 * The canonical billing event: atomic grain, one row per billing event line, UTC, exact money, stable identity.
 * Everything downstream (warehouse, jobs, billing) consumes this shape; connectors produce it through makeEvent().
 */
import { isLosslessNumber } from 'lossless-json';
import { RecordError, type SourceLocation } from './errors.js';
import { Money } from './money.js';
import type { ParsedTimestamp, TsPrecision } from './time.js';

/** The normalised event vocabulary. Amount sign conventions are in the README's data model. */
export const EVENT_TYPES = [
  'ACCOUNT_CREATED',
  'SUBSCRIPTION_CREATED',
  'SUBSCRIPTION_AMENDED',
  'SUBSCRIPTION_RENEWED',
  'SUBSCRIPTION_CANCELLED',
  'SUBSCRIPTION_PAUSED',
  'SUBSCRIPTION_RESUMED',
  'INVOICE_POSTED',
  'INVOICE_PAID',
  'INVOICE_VOIDED',
  'INVOICE_ITEM_CHARGED',
  'INVOICE_ITEM_ADJUSTED',
  'USAGE_RECORDED',
  'TAX_CHARGED',
  'DISCOUNT_APPLIED',
  'PAYMENT_PROCESSED',
  'PAYMENT_FAILED',
  'PAYMENT_APPLIED',
  'REFUND_PROCESSED',
  'REFUND_FAILED',
  'CREDIT_MEMO_POSTED',
  'CREDIT_BALANCE_INCREASED',
  'CREDIT_BALANCE_DECREASED',
  'DEBIT_MEMO_POSTED',
  'CHARGEBACK_OPENED',
  'CHARGEBACK_WON',
  'CHARGEBACK_LOST',
  'FEE_CHARGED',
  'PAYOUT_PAID',
  'WRITE_OFF',
  'MRR_CHANGED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
export function isEventType(s: string): s is EventType {
  return EVENT_TYPE_SET.has(s);
}
/**
 * A canonical event type, or one a source declares in its configuration (`eventTypes:`, validated with its sign
 * convention when the configuration is loaded; docs/connectors.md).
 */
export type EventTypeName = EventType | (string & {});
const DECLARED_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Canonical, or shaped like a declared one (the configuration checked the declaration itself). */
export function isEventTypeName(s: string): boolean {
  return EVENT_TYPE_SET.has(s) || DECLARED_NAME.test(s);
}

export interface Lineage {
  /** Source file path (relative to the landing zone), API endpoint or query name. */
  sourceFile: string;
  /** 1-based line in a text file, else 0-based record position in the extract. */
  sourcePosition: number;
  ingestRunId: string;
}

/** Attributes denormalised from dimension snapshots at load time; null when unknown. */
export interface DimensionAttributes {
  accountName: string | null;
  accountSegment: string | null;
  accountCountry: string | null;
  productName: string | null;
  planName: string | null;
  /** 'OK' | 'MISSING_ACCOUNT' | 'MISSING_PRODUCT' | 'MISSING_BOTH' | 'NO_KEY': missing members are marked, not invented. */
  dimStatus: string;
}

export interface BillingEvent {
  readonly eventId: string;
  /** Order key from as far upstream as possible (source sequence/version, else extract position). int64. */
  readonly seqn: bigint;
  readonly billingSource: string;
  readonly eventType: EventTypeName;
  readonly sourceObjectType: string;
  readonly sourceRecordId: string;
  readonly sourceVersion: string | null;
  /** UTC microseconds since epoch. */
  readonly eventTs: bigint;
  /** UTC day of eventTs, YYYY-MM-DD: the partition key. */
  readonly eventDate: string;
  readonly tsPrecision: TsPrecision;
  readonly tsTruncated: boolean;
  readonly tsAmbiguous: boolean;
  readonly tsNonexistent: boolean;
  readonly sourceTsRaw: string;
  readonly sourceTimezone: string;
  readonly sourceLocalDate: string;
  /** Signed delta: refunds, credits, reversals negative. */
  readonly amount: Money;
  readonly accountId: string | null;
  readonly subscriptionId: string | null;
  readonly invoiceId: string | null;
  readonly productId: string | null;
  /** Stateful-measure delta (MRR change), when the record carries one; see the billing docs. */
  readonly mrrDelta: Money | null;
  readonly dims: DimensionAttributes | null;
  readonly lineage: Lineage;
}

export interface EventInput {
  eventId: string;
  seqn: bigint;
  billingSource: string;
  eventType: string;
  sourceObjectType: string;
  sourceRecordId: string;
  sourceVersion?: string | null;
  ts: ParsedTimestamp;
  sourceTsRaw: string;
  sourceTimezone: string;
  amount: Money;
  accountId?: string | null;
  subscriptionId?: string | null;
  invoiceId?: string | null;
  productId?: string | null;
  mrrDelta?: Money | null;
  dims?: DimensionAttributes | null;
  lineage: Lineage;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function optText(v: string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
}

/** Validated constructor: throws RecordError with the field and location on anything inconsistent. */
export function makeEvent(input: EventInput, location?: SourceLocation): BillingEvent {
  const loc = location ?? { file: input.lineage.sourceFile, line: input.lineage.sourcePosition };
  if (!/^[0-9a-f]{32}$/.test(input.eventId)) throw new RecordError('BAD_VALUE', `event_id ${JSON.stringify(input.eventId)} is not 32 hex chars`, input.eventId, loc);
  if (input.seqn < INT64_MIN || input.seqn > INT64_MAX) throw new RecordError('BAD_VALUE', `seqn ${input.seqn} does not fit int64`, input.seqn.toString(), loc);
  if (!isEventTypeName(input.eventType)) throw new RecordError('UNKNOWN_EVENT_TYPE', `unknown event type ${JSON.stringify(input.eventType)}`, input.eventType, loc);
  if (!optText(input.billingSource)) throw new RecordError('MISSING_FIELD', 'billing_source is empty', input.billingSource, loc);
  const recordId = optText(input.sourceRecordId);
  if (!recordId) throw new RecordError('MISSING_ID', 'source record id is empty', input.sourceRecordId, loc);
  const ev: BillingEvent = {
    eventId: input.eventId,
    seqn: input.seqn,
    billingSource: input.billingSource,
    eventType: input.eventType,
    sourceObjectType: input.sourceObjectType,
    sourceRecordId: recordId,
    sourceVersion: optText(input.sourceVersion),
    eventTs: input.ts.utcMicros,
    eventDate: input.ts.utcDate,
    tsPrecision: input.ts.precision,
    tsTruncated: input.ts.truncatedToMidnight,
    tsAmbiguous: input.ts.ambiguous,
    tsNonexistent: input.ts.nonexistent,
    sourceTsRaw: input.sourceTsRaw,
    sourceTimezone: input.sourceTimezone,
    sourceLocalDate: input.ts.sourceLocalDate,
    amount: input.amount,
    accountId: optText(input.accountId),
    subscriptionId: optText(input.subscriptionId),
    invoiceId: optText(input.invoiceId),
    productId: optText(input.productId),
    mrrDelta: input.mrrDelta ?? null,
    dims: input.dims ?? null,
    lineage: input.lineage,
  };
  return Object.freeze(ev);
}

/** A record that could not become an event: kept, with its reason and source location. Nothing is dropped. */
export interface QuarantineEntry {
  billingSource: string;
  sourceFile: string;
  /** 1-based line (text files) or 0-based record position. */
  sourcePosition: number;
  field: string | null;
  /** The offending raw value as text (or the whole raw record as JSON when no single field is to blame). */
  rawValue: string | null;
  reason: string;
  message: string;
  /** The whole raw record as JSON text, so it can be replayed after a fix. */
  rawRecord: string;
  ingestRunId: string;
}

export function quarantineFromError(err: RecordError, ctx: { billingSource: string; sourceFile: string; sourcePosition: number; rawRecord: string; ingestRunId: string }): QuarantineEntry {
  const raw = err.value;
  return {
    billingSource: ctx.billingSource,
    sourceFile: err.location?.file ?? ctx.sourceFile,
    sourcePosition: err.location?.line ?? err.location?.position ?? ctx.sourcePosition,
    field: err.location?.field ?? null,
    rawValue: raw === undefined || raw === null ? null : typeof raw === 'string' ? raw : typeof raw === 'bigint' ? raw.toString() : isLosslessNumber(raw) ? raw.value : JSON.stringify(raw, (_k, v) => (isLosslessNumber(v) ? v.value : v)),
    reason: err.code,
    message: err.message,
    rawRecord: ctx.rawRecord,
    ingestRunId: ctx.ingestRunId,
  };
}
