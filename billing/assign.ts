/**
 * The billing run as a pure function: unassigned fact events + what is already billed → one record set.
 *
 * - The run closes every period that starts at the watermark W (billed through, exclusive) and ends on or
 *   before `endExclusive` (the day after --through). The new watermark W' is the end of the last one.
 * - An unassigned event dated in [W, W') is assigned ON TIME to the period containing it.
 * - An unassigned event dated before W arrived after its cycle was billed: it is assigned LATE to the party's
 *   NEXT OPEN cycle (the first period this run closes, starting at W) with a pointer to the cycle it belonged to.
 *   If the run closes no period it stays pending until one closes (nothing is re-billed, nothing is missed).
 * - Events dated on/after W' wait for their cycle to close; events before the first logic segment are before
 *   billing started and are counted, not billed.
 * Money is summed with decimal.js from exact decimal text.
 */
import { Decimal } from '../events/money.js';
import { cycleId, dayOfMicros, partyOf, periodAt, periodsBetween, recordId, type Period, type Timeline } from './cycles.js';

/** One fact-table event as the billing run reads it (money as exact DECIMAL text). */
export interface FactEventRow {
  eventId: string;
  /** event_ts in UTC microseconds. */
  tsMicros: bigint;
  billingSource: string;
  accountId: string | null;
  subscriptionId: string | null;
  currency: string;
  amount: string;
  mrrDelta: string | null;
  /** Data file (relative to the warehouse) the row was read from. */
  file: string;
}

/** One row of records.parquet: the totals of one party's cycle in one currency. */
export interface CycleRecord {
  recordId: string;
  runId: string;
  cycleId: string;
  cycle: string;
  per: string;
  billingSource: string;
  partyId: string;
  periodStart: string;
  periodEnd: string;
  currency: string;
  eventCount: number;
  amountSum: string;
  mrrDeltaSum: string;
  lateEventCount: number;
  lateAmountSum: string;
}

/** One row of assignments.parquet: an event assigned to a record. */
export interface Assignment {
  eventId: string;
  recordId: string;
  runId: string;
  cycleId: string;
  eventDate: string;
  late: boolean;
  /** For a late event: the cycle it belonged to (already billed when it arrived). */
  originalCycleId: string | null;
  currency: string;
  amount: string;
}

export interface PlanInput {
  runId: string;
  timeline: Timeline;
  /** Billed through (exclusive) before this run; undefined on the first run (= start of the timeline). */
  watermark: string | undefined;
  /** Day after --through. */
  endExclusive: string;
  /** Unassigned events dated before endExclusive (others are ignored). */
  events: Iterable<FactEventRow>;
}

export interface BillPlan {
  watermarkBefore: string | undefined;
  watermarkAfter: string | undefined;
  periods: Period[];
  records: CycleRecord[];
  assignments: Assignment[];
  onTime: number;
  late: number;
  /** Late events waiting because this run closes no period. */
  latePending: number;
  /** Events dated before billing started (before the first logic segment). */
  beforeStart: number;
}

interface Acc {
  rec: Omit<CycleRecord, 'eventCount' | 'amountSum' | 'mrrDeltaSum' | 'lateEventCount' | 'lateAmountSum'>;
  count: number;
  amount: Decimal;
  mrr: Decimal;
  lateCount: number;
  lateAmount: Decimal;
}

export function planBilling(input: PlanInput): BillPlan {
  const { timeline } = input;
  const start = timeline[0]?.from;
  const W = input.watermark ?? start;
  const periods = W === undefined ? [] : periodsBetween(timeline, W, input.endExclusive);
  const W2 = periods.length ? periods[periods.length - 1]!.end : W;
  const first = periods[0];
  const accs = new Map<string, Acc>();
  const assignments: Assignment[] = [];
  let onTime = 0;
  let late = 0;
  let latePending = 0;
  let beforeStart = 0;

  const seen = new Set<string>();
  const sorted = [...input.events].sort((a, b) => (a.tsMicros < b.tsMicros ? -1 : a.tsMicros > b.tsMicros ? 1 : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  for (const e of sorted) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const day = dayOfMicros(e.tsMicros);
    if (start === undefined || W === undefined || day < start) {
      beforeStart++;
      continue;
    }
    if (W2 !== undefined && day >= W2) continue; // its cycle is not closed yet
    let target: Period;
    let original: string | null = null;
    if (day >= W) {
      target = periodAt(timeline, day)!;
      onTime++;
    } else {
      if (!first) {
        latePending++;
        continue;
      }
      const orig = periodAt(timeline, day)!;
      original = cycleId(orig, partyOf(orig.per, e));
      target = first;
      late++;
    }
    const party = partyOf(target.per, e);
    const cid = cycleId(target, party);
    const rid = recordId(cid, e.currency);
    let acc = accs.get(rid);
    if (!acc) {
      acc = {
        rec: {
          recordId: rid,
          runId: input.runId,
          cycleId: cid,
          cycle: target.cycle,
          per: target.per,
          billingSource: party.billingSource,
          partyId: party.partyId,
          periodStart: target.start,
          periodEnd: target.end,
          currency: e.currency,
        },
        count: 0,
        amount: new Decimal(0),
        mrr: new Decimal(0),
        lateCount: 0,
        lateAmount: new Decimal(0),
      };
      accs.set(rid, acc);
    }
    const amount = new Decimal(e.amount);
    acc.count++;
    acc.amount = acc.amount.plus(amount);
    if (e.mrrDelta !== null) acc.mrr = acc.mrr.plus(new Decimal(e.mrrDelta));
    if (original !== null) {
      acc.lateCount++;
      acc.lateAmount = acc.lateAmount.plus(amount);
    }
    assignments.push({
      eventId: e.eventId,
      recordId: rid,
      runId: input.runId,
      cycleId: cid,
      eventDate: day,
      late: original !== null,
      originalCycleId: original,
      currency: e.currency,
      amount: amount.toFixed(9),
    });
  }
  const records = [...accs.values()]
    .map((a) => ({
      ...a.rec,
      eventCount: a.count,
      amountSum: a.amount.toFixed(9),
      mrrDeltaSum: a.mrr.toFixed(9),
      lateEventCount: a.lateCount,
      lateAmountSum: a.lateAmount.toFixed(9),
    }))
    .sort((x, y) => (x.cycleId < y.cycleId ? -1 : x.cycleId > y.cycleId ? 1 : x.currency < y.currency ? -1 : 1));
  assignments.sort((x, y) => (x.recordId < y.recordId ? -1 : x.recordId > y.recordId ? 1 : x.eventId < y.eventId ? -1 : 1));
  return { watermarkBefore: input.watermark, watermarkAfter: W2, periods, records, assignments, onTime, late, latePending, beforeStart };
}
