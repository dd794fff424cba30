/**
 * Events and MRR observations as plain values (a worker thread's structured-clone messages) or JSON text (a spill
 * file's lines) and back, exactly: Money is a class, so it travels as its canonical text and currency; in JSON the
 * bigints travel as their decimal text.
 */
import type { BillingEvent } from './model.js';
import { Money } from './money.js';
import type { MrrObservation } from './mrr.js';

type WireMoney = { amount: string; currency: string };
const moneyOut = (m: Money): WireMoney => ({ amount: m.toFixed(), currency: m.currency });
const moneyIn = (m: WireMoney): Money => Money.major(m.amount, m.currency);

export type WireObservation = Omit<MrrObservation, 'mrr'> & { mrr: WireMoney };
export type WireEvent = Omit<BillingEvent, 'amount' | 'mrrDelta'> & { amount: WireMoney; mrrDelta: WireMoney | null };

export const observationOut = (x: MrrObservation): WireObservation => ({ ...x, mrr: moneyOut(x.mrr) });
export const observationIn = (x: WireObservation): MrrObservation => ({ ...x, mrr: moneyIn(x.mrr) });
export const eventOut = (x: BillingEvent): WireEvent => ({ ...x, amount: moneyOut(x.amount), mrrDelta: x.mrrDelta ? moneyOut(x.mrrDelta) : null });
export const eventIn = (x: WireEvent): BillingEvent => Object.freeze({ ...x, amount: moneyIn(x.amount), mrrDelta: x.mrrDelta ? moneyIn(x.mrrDelta) : null });

export const observationsOut = (o: readonly MrrObservation[]): WireObservation[] => o.map(observationOut);
export const observationsIn = (o: readonly WireObservation[]): MrrObservation[] => o.map(observationIn);
export const eventsOut = (e: readonly BillingEvent[]): WireEvent[] => e.map(eventOut);
export const eventsIn = (e: readonly WireEvent[]): BillingEvent[] => e.map(eventIn);

/** One event as one line of JSON text (no newline), and back exactly. */
export const eventToJson = (x: BillingEvent): string => JSON.stringify({ ...eventOut(x), seqn: String(x.seqn), eventTs: String(x.eventTs) });
export const eventFromJson = (s: string): BillingEvent => {
  const x = JSON.parse(s) as Omit<WireEvent, 'seqn' | 'eventTs'> & { seqn: string; eventTs: string };
  return eventIn({ ...x, seqn: BigInt(x.seqn), eventTs: BigInt(x.eventTs) });
};

/** One MRR observation as one line of JSON text, and back exactly. */
export const observationToJson = (x: MrrObservation): string => JSON.stringify({ ...observationOut(x), versionSeq: String(x.versionSeq), effectiveTs: String(x.effectiveTs) });
export const observationFromJson = (s: string): MrrObservation => {
  const x = JSON.parse(s) as Omit<WireObservation, 'versionSeq' | 'effectiveTs'> & { versionSeq: string; effectiveTs: string };
  return observationIn({ ...x, versionSeq: BigInt(x.versionSeq), effectiveTs: BigInt(x.effectiveTs) });
};
