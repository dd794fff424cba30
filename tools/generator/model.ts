/** The generator's canonical event: what a source record will be read back as by the built-in mappings. */
import type { EventType } from '../../events/model.js';
import type { Rng } from './rng.js';

export interface GenEvent {
  source: string;
  eventType: EventType;
  /** Source object (file/table/API resource) the record belongs to. */
  object: string;
  recordId: string;
  /** Change marker / version the source writes (e.g. updated_at, resource_version), null when none. */
  version: string | null;
  /** UTC instant (ms, whole seconds) the mapping reads back. */
  ms: number;
  /** Stamped by a nightly run at local midnight: rendered date-only where the source does that. */
  nightly: boolean;
  /** Signed amount in the currency's minor units (refunds, credits, reversals negative). */
  amountMinor: bigint;
  currency: string;
  accountId: string | null;
  subscriptionId: string | null;
  invoiceId: string | null;
  productId: string | null;
  /** Source-specific extras (status, type, quantity...). */
  attrs: Readonly<Record<string, string>>;
}

export type Format = 'csv' | 'jsonl' | 'pages';

/** One rendered source record. */
export interface Rendered {
  object: string;
  /** CSV line (no newline) or one JSON object as text. */
  text: string;
}

export interface Renderer {
  readonly source: string;
  readonly format: Format;
  readonly extension: 'csv' | 'jsonl' | 'json';
  /**
   * The event as this source's mapping reads it back (amount, currency and instant semantics), or null when the
   * source has no record that yields it. Truth, control totals and rendering all use the normalised event.
   */
  normalise(ev: GenEvent): GenEvent | null;
  /**
   * The source's records state each subscription version's MRR (`attrs.mrr`, `attrs.sub_version` of lifecycle
   * events): the truth then records MRR movements for it (`_truth/expected_mrr.csv`).
   */
  readonly statesMrr?: boolean;
  /** CSV header line for an object (csv only). */
  header(object: string): string;
  render(ev: GenEvent, rng: Rng): Rendered;
  /** Records written next to an event's record that the mapping skips by rule (a card verification); none by default. */
  extras?(ev: GenEvent, rng: Rng): Rendered[];
  /** A record that the mapping must quarantine with `reason`, built from a valid event; null if this source cannot express it. */
  bad(reason: string, ev: GenEvent, rng: Rng): Rendered | null;
}
