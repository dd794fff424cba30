/**
 * Sample BillingEvents for tests (any area may reuse these). Deterministic: the same arguments give the
 * same events. Timestamps are built directly (no parser), money through Money.major (exact).
 */
import { eventId } from '../../events/identity.js';
import { makeEvent, type BillingEvent, type EventType, type QuarantineEntry } from '../../events/model.js';
import { Money } from '../../events/money.js';
import type { ParsedTimestamp } from '../../events/time.js';

/** A UTC ISO instant (`2024-01-03T04:05:06.123456Z` or fewer fraction digits) as a ParsedTimestamp. */
export function utcTs(iso: string): ParsedTimestamp {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) throw new Error(`utcTs: "${iso}" is not YYYY-MM-DDTHH:MM:SS[.ffffff]Z`);
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  const frac = (m[3] ?? '').padEnd(6, '0');
  const utcMicros = BigInt(ms) * 1000n + BigInt(frac);
  return {
    utcMicros,
    utc: `${m[1]}T${m[2]}.${frac}Z`,
    utcDate: m[1]!,
    precision: m[3] ? 'microsecond' : 'second',
    truncatedToMidnight: false,
    ambiguous: false,
    nonexistent: false,
    sourceLocalDate: m[1]!,
  };
}

export interface SampleEventSpec {
  source?: string;
  type?: EventType;
  objectType?: string;
  recordId?: string;
  version?: string | null;
  ts?: string;
  amount?: string;
  currency?: string;
  seqn?: bigint;
  accountId?: string | null;
  productId?: string | null;
  mrrDelta?: string | null;
  sourceFile?: string;
  sourcePosition?: number;
  runId?: string;
  dims?: BillingEvent['dims'];
}

/** One valid event; fields default to a Stripe USD invoice payment. */
export function sampleEvent(s: SampleEventSpec = {}): BillingEvent {
  const source = s.source ?? 'stripe';
  const objectType = s.objectType ?? 'invoice';
  const recordId = s.recordId ?? 'in_0001';
  const version = s.version === undefined ? 'v1' : s.version;
  const currency = s.currency ?? 'USD';
  const iso = s.ts ?? '2024-01-03T04:05:06.123456Z';
  return makeEvent({
    eventId: eventId({ billingSource: source, sourceObjectType: objectType, sourceRecordId: recordId, sourceVersion: version }),
    seqn: s.seqn ?? 1n,
    billingSource: source,
    eventType: s.type ?? 'INVOICE_PAID',
    sourceObjectType: objectType,
    sourceRecordId: recordId,
    sourceVersion: version,
    ts: utcTs(iso),
    sourceTsRaw: iso,
    sourceTimezone: 'UTC',
    amount: Money.major(s.amount ?? '10.00', currency),
    accountId: s.accountId === undefined ? 'acct_1' : s.accountId,
    subscriptionId: null,
    invoiceId: recordId,
    productId: s.productId === undefined ? 'prod_1' : s.productId,
    mrrDelta: s.mrrDelta ? Money.major(s.mrrDelta, currency) : null,
    dims: s.dims ?? { accountName: 'Acme', accountSegment: 'SMB', accountCountry: 'US', productName: 'Pro', planName: 'Pro Monthly', dimStatus: 'OK' },
    lineage: { sourceFile: s.sourceFile ?? `${source}/2024-01-03/04/export.csv`, sourcePosition: s.sourcePosition ?? 2, ingestRunId: s.runId ?? 'run-test' },
  });
}

const TYPES: EventType[] = ['INVOICE_POSTED', 'INVOICE_PAID', 'PAYMENT_PROCESSED', 'REFUND_PROCESSED', 'TAX_CHARGED'];
const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD'];

/** A small deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` events of one source spread over the given UTC days, with varied types, currencies (incl. JPY and
 * KWD), signs and large/odd amounts. Record ids are `${prefix}${i}` so two calls with the same prefix overlap.
 */
export function sampleEvents(opts: { source?: string; days: string[]; count: number; seed?: number; prefix?: string; runId?: string }): BillingEvent[] {
  const r = rng(opts.seed ?? 1);
  const source = opts.source ?? 'stripe';
  const out: BillingEvent[] = [];
  for (let i = 0; i < opts.count; i++) {
    const day = opts.days[i % opts.days.length]!;
    const secs = Math.floor(r() * 86_400);
    const micros = Math.floor(r() * 1_000_000);
    const hh = String(Math.floor(secs / 3600)).padStart(2, '0');
    const mm = String(Math.floor((secs % 3600) / 60)).padStart(2, '0');
    const ss = String(secs % 60).padStart(2, '0');
    const type = TYPES[Math.floor(r() * TYPES.length)]!;
    const currency = CURRENCIES[Math.floor(r() * CURRENCIES.length)]!;
    const places = currency === 'JPY' ? 0 : currency === 'KWD' ? 3 : 2;
    const whole = Math.floor(r() * 100_000);
    const frac = places ? '.' + String(Math.floor(r() * 10 ** places)).padStart(places, '0') : '';
    const sign = type === 'REFUND_PROCESSED' ? '-' : '';
    const big = i % 97 === 0 ? '12345678901234567890123' : String(whole);
    out.push(
      sampleEvent({
        source,
        type,
        recordId: `${opts.prefix ?? 'rec'}${i}`,
        ts: `${day}T${hh}:${mm}:${ss}.${String(micros).padStart(6, '0')}Z`,
        amount: `${sign}${big}${frac}`,
        currency,
        seqn: BigInt(i + 1),
        mrrDelta: i % 5 === 0 ? `${sign}${whole}${frac}` : null,
        sourceFile: `${source}/${day}/00/export.csv`,
        sourcePosition: i + 2,
        runId: opts.runId ?? 'run-test',
        dims: i % 7 === 0 ? { accountName: null, accountSegment: null, accountCountry: null, productName: null, planName: null, dimStatus: 'MISSING_ACCOUNT' } : undefined,
      }),
    );
  }
  return out;
}

export function sampleQuarantine(over: Partial<QuarantineEntry> = {}): QuarantineEntry {
  return {
    billingSource: 'stripe',
    sourceFile: 'stripe/2024-01-03/04/export.csv',
    sourcePosition: 7,
    field: 'amount',
    rawValue: '12,50',
    reason: 'BAD_AMOUNT',
    message: 'amount "12,50" is not a decimal number',
    rawRecord: '{"id":"in_7","amount":"12,50"}',
    ingestRunId: 'run-test',
    ...over,
  };
}

/** Async iterable over an array (events arrive as a stream in production). */
export async function* streamOf<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const x of items) yield x;
}
