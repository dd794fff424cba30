/**
 * The control seam: where a source's own numbers for a UTC day come from. One small interface, one
 * implementation per kind of proof (docs/jobs.md#completeness):
 *   export  — a file the source (or its export job) drops: billing-mart's JSON shape, or any CSV/JSON report
 *             mapped by config (`billing-mart.ts`, `export.ts`)
 *   query   — SQL against the source's own PostgreSQL database (`query.ts`)
 *   recount — an API source counting the day again through the API, independently of the pull (connectors/api)
 * Every implementation runs the same contract suite (test/connectors/control-contract.ts).
 */
import { Decimal } from '../../events/money.js';
import type { ControlTotals } from '../types.js';

export type ControlKind = 'export' | 'query' | 'recount';

export interface ControlProvider {
  readonly kind: ControlKind;
  /** Where the numbers come from, for messages and the `_SUCCESS` payload (no credentials). */
  readonly origin: string;
  /**
   * The source's totals for one UTC day (rows and exact amount per event type and currency), or null when the
   * source has not produced them yet. Bad control data is a FatalError naming the file/line/field (or query);
   * a failure to reach the numbers (I/O, a server gone) is a RetriableError or the underlying I/O error.
   */
  totals(day: string): Promise<ControlTotals | null>;
}

/** One contribution to a day's totals, before aggregation. */
export interface ControlCell {
  event_type: string;
  currency: string;
  rows: number | bigint;
  /** Exact decimal (text or Decimal); never a float. */
  amount: string | Decimal;
}

/**
 * The canonical form every provider returns: one cell per (event_type, upper-case currency), rows summed,
 * amounts summed exactly and printed with 9 decimals, sorted by event type then currency.
 */
export function aggregateControl(source: string, date: string, cells: Iterable<ControlCell>, meta: { generated_at?: string; origin?: string } = {}): ControlTotals {
  const by = new Map<string, { event_type: string; currency: string; rows: bigint; amount: Decimal }>();
  for (const c of cells) {
    const currency = c.currency.toUpperCase();
    const k = `${c.event_type}|${currency}`;
    const cur = by.get(k) ?? { event_type: c.event_type, currency, rows: 0n, amount: new Decimal(0) };
    cur.rows += BigInt(c.rows);
    cur.amount = cur.amount.plus(typeof c.amount === 'string' ? new Decimal(c.amount) : c.amount);
    by.set(k, cur);
  }
  const totals = [...by.values()]
    .sort((a, b) => (a.event_type < b.event_type ? -1 : a.event_type > b.event_type ? 1 : a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0))
    .map((c) => ({ event_type: c.event_type, currency: c.currency, rows: Number(c.rows), amount_sum: c.amount.toFixed(9) }));
  return { source, date, ...(meta.generated_at !== undefined ? { generated_at: meta.generated_at } : {}), ...(meta.origin !== undefined ? { origin: meta.origin } : {}), totals };
}
