/**
 * The seam between the pull loop (pull.ts) and a vendor adapter (stripe.ts, chargebee.ts). An adapter knows
 * its API's objects, filters and pagination; the loop owns windows, ranges, landing, reporting and the recount.
 */
import type { ApiClock, ApiRetrySettings } from './http.js';
import type { PageWriter } from './land.js';

/** A creation-time (or update-time) range in epoch milliseconds, [fromMs, toMs). */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

export type ListingKind = 'created' | 'changes' | 'audit';

export interface PullContext {
  clock: ApiClock;
  retry: ApiRetrySettings;
  signal?: AbortSignal;
  /** Structured progress / retry lines (never carries a secret). */
  log: (event: string, fields: Record<string, unknown>) => void;
  nowMs: number;
  /** Whether the pull lands `object` (an adapter skips derived objects the source does not read). */
  wants(object: string): boolean;
}

export interface ListingResult {
  pages: number;
  records: number;
}

/** One page of a creation-time listing, as the recount reads it (the same text a pull would land). */
export interface ListedPage {
  object: string;
  text: string;
}

export interface VendorAdapter {
  readonly vendor: 'stripe' | 'chargebee';
  /** Mapping objects this adapter can list (by creation time); others are reported as not pullable. */
  readonly listable: readonly string[];
  /** Objects that are derived from another object's pages (Stripe invoice lines from invoices). */
  readonly derived: Readonly<Record<string, string>>;
  /** Lists `object` by creation time over `range`, landing every page through `writer`. */
  listCreated(object: string, range: TimeRange, kind: 'created' | 'audit', writer: PageWriter, ctx: PullContext): Promise<ListingResult>;
  /** Changes after creation over `range` (Stripe events, Chargebee updated_at); null when the API cannot say. */
  listChanges(objects: readonly string[], range: TimeRange, writer: PageWriter, ctx: PullContext): Promise<ListingResult & { note?: string }>;
  /** The same listing as listCreated, yielded page by page without landing (the completeness recount). */
  pagesCreated(object: string, range: TimeRange, ctx: PullContext): AsyncIterable<ListedPage>;
  /** Requests sent so far. */
  readonly requests: number;
}
