/**
 * Billing cycles as pure values. All days are UTC calendar days 'YYYY-MM-DD'; a period is the half-open day
 * range [start, end).
 *
 * The billing LOGIC is a timeline of segments: from a day on, bill `monthly` or `weekly` (ISO weeks, Monday to
 * Sunday), per `account` or per `subscription`. A period is the calendar month/week clipped to its segment, so a
 * change of logic on 2024-03-13 ends the old logic's period on 2024-03-13 and starts the new one there: no
 * overlap, no gap. Segments before the billed-through watermark are frozen (their records exist and are
 * immutable); only the future can change.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../events/errors.js';
import { addDays, assertDay, dayOf, dayStartMs } from '../partitions/index.js';

export const CYCLES = ['monthly', 'weekly'] as const;
export type CycleKind = (typeof CYCLES)[number];
export const PARTIES = ['account', 'subscription'] as const;
export type PartyKind = (typeof PARTIES)[number];

export interface Policy {
  cycle: CycleKind;
  per: PartyKind;
}
export interface PolicySegment extends Policy {
  /** First day this logic applies to. */
  from: string;
}
/** Segments sorted by `from`, strictly increasing. */
export type Timeline = readonly PolicySegment[];

export interface Period extends Policy {
  start: string;
  /** Exclusive. */
  end: string;
}

/** The party (billed entity) of an event under a policy. A missing key bills to the party '-' so nothing is lost. */
export interface Party {
  billingSource: string;
  partyId: string;
}

export const NO_PARTY = '-';

export function samePolicy(a: Policy, b: Policy): boolean {
  return a.cycle === b.cycle && a.per === b.per;
}

export function describePolicy(p: Policy): string {
  return `${p.cycle} per ${p.per}`;
}

/** UTC day of a microsecond instant. */
export function dayOfMicros(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  return dayOf(Number(ms));
}

/** The calendar month or ISO week containing `day`. */
export function calendarPeriod(day: string, cycle: CycleKind): { start: string; end: string } {
  assertDay(day);
  if (cycle === 'monthly') {
    const [y, m] = day.split('-').map(Number) as [number, number];
    const start = `${day.slice(0, 7)}-01`;
    const end = m === 12 ? `${y + 1}-01-01` : `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}-01`;
    return { start, end };
  }
  const dow = new Date(dayStartMs(day)).getUTCDay(); // 0 = Sunday
  const start = addDays(day, -((dow + 6) % 7));
  return { start, end: addDays(start, 7) };
}

/** The segment in force on `day`, or undefined before the timeline starts. */
export function segmentAt(timeline: Timeline, day: string): { seg: PolicySegment; next: PolicySegment | undefined } | undefined {
  let found: number | undefined;
  for (let i = 0; i < timeline.length; i++) if (timeline[i]!.from <= day) found = i;
  return found === undefined ? undefined : { seg: timeline[found]!, next: timeline[found + 1] };
}

/** The billing period containing `day` under the timeline (clipped to its segment), or undefined before it starts. */
export function periodAt(timeline: Timeline, day: string): Period | undefined {
  const at = segmentAt(timeline, day);
  if (!at) return undefined;
  const cal = calendarPeriod(day, at.seg.cycle);
  const start = cal.start < at.seg.from ? at.seg.from : cal.start;
  const end = at.next && at.next.from < cal.end ? at.next.from : cal.end;
  return { cycle: at.seg.cycle, per: at.seg.per, start, end };
}

/** Consecutive periods starting at `from` (a period boundary) whose end is <= `endExclusive`. */
export function periodsBetween(timeline: Timeline, from: string, endExclusive: string): Period[] {
  const out: Period[] = [];
  let day = from;
  for (;;) {
    const p = periodAt(timeline, day);
    if (!p) throw new Error(`no billing logic in force on ${day}`);
    if (p.start !== day) throw new Error(`internal: ${day} is not a period boundary (period ${p.start}..${p.end})`);
    if (p.end > endExclusive) break;
    out.push(p);
    day = p.end;
  }
  return out;
}

export function partyOf(per: PartyKind, e: { billingSource: string; accountId: string | null; subscriptionId: string | null }): Party {
  const id = per === 'account' ? e.accountId : e.subscriptionId;
  return { billingSource: e.billingSource, partyId: id && id.trim() ? id : NO_PARTY };
}

/** Human-readable, stable id of one party's cycle: `monthly:account:zuora:A1:2024-01-01..2024-02-01`. */
export function cycleId(p: Period, party: Party): string {
  return `${p.cycle}:${p.per}:${party.billingSource}:${party.partyId}:${p.start}..${p.end}`;
}

/** Stable 32-hex id of the record of one cycle in one currency (the same cycle billed twice gets the same id). */
export function recordId(cycle: string, currency: string): string {
  return createHash('sha256').update(`billing_record\x1f${cycle}\x1f${currency}`).digest('hex').slice(0, 32);
}

export interface TimelineChange {
  timeline: PolicySegment[];
  changed: boolean;
  note?: string;
}

/**
 * The timeline after asking for `policy` (optionally from `from`), given what is billed (`watermark`, exclusive;
 * undefined before the first run). Refuses to touch billed days. `firstDay` is where billing starts on a first
 * run when `from` is not given (the start of the earliest event's period).
 */
export function changeTimeline(timeline: Timeline, watermark: string | undefined, policy: Policy, from: string | undefined, firstDay: string | undefined): TimelineChange {
  if (from !== undefined) assertDay(from);
  if (timeline.length === 0) {
    const start = from ?? (firstDay ? calendarPeriod(firstDay, policy.cycle).start : undefined);
    if (!start) return { timeline: [], changed: false, note: 'no events in the fact table yet and no --from: nothing to bill' };
    return { timeline: [{ ...policy, from: start }], changed: true };
  }
  const billed = watermark ?? timeline[0]!.from;
  const last = timeline[timeline.length - 1]!;
  if (from === undefined) {
    if (samePolicy(last, policy)) return { timeline: [...timeline], changed: false };
    from = billed;
  }
  if (from < billed) {
    throw new ConfigError(`cannot change the billing logic from ${from}: cycles up to ${addDays(billed, -1)} are already billed and their records are immutable; use --from ${billed} or later`);
  }
  const kept = timeline.filter((s) => s.from < from!);
  const inForce = kept[kept.length - 1];
  if (inForce && samePolicy(inForce, policy)) {
    if (kept.length === timeline.length) return { timeline: kept, changed: false, note: `billing logic already ${describePolicy(policy)} since ${inForce.from}; --from ${from} ignored` };
    return { timeline: kept, changed: true };
  }
  return { timeline: [...kept, { ...policy, from }], changed: true };
}
