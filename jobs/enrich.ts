/**
 * Denormalises dimension attributes onto events: the latest snapshot as of the event's day (the newest snapshot
 * dated on or before event_date; the oldest one when the event predates them all). Members are looked up by
 * (billing_source, id); a missing member is marked in dim_status, never invented.
 */
import type { BillingEvent, DimensionAttributes } from '../events/model.js';
import type { DimRow } from './ports.js';

interface Snap {
  snapshotDate: string;
  byKey: Map<string, DimRow>;
}

function index(snaps: { snapshotDate: string; rows: DimRow[] }[], idCol: string): Snap[] {
  return snaps
    .map((s) => ({ snapshotDate: s.snapshotDate, byKey: new Map(s.rows.map((r) => [`${r.billing_source ?? ''}\x1f${r[idCol] ?? ''}`, r])) }))
    .sort((a, b) => a.snapshotDate.localeCompare(b.snapshotDate));
}

function asOf(snaps: Snap[], day: string): Snap | undefined {
  let best: Snap | undefined;
  for (const s of snaps) {
    if (s.snapshotDate <= day) best = s;
    else break;
  }
  return best ?? snaps[0];
}

export class DimensionLookup {
  private readonly accounts: Snap[];
  private readonly products: Snap[];
  readonly snapshots: { accounts: { snapshotDate: string; rows: DimRow[] }[]; products: { snapshotDate: string; rows: DimRow[] }[] };
  constructor(
    accounts: { snapshotDate: string; rows: DimRow[] }[],
    products: { snapshotDate: string; rows: DimRow[] }[],
  ) {
    /** The snapshots as given (a prepare worker thread builds its own lookup from them). */
    this.snapshots = { accounts, products };
    this.accounts = index(accounts, 'account_id');
    this.products = index(products, 'product_id');
  }

  get empty(): boolean {
    return this.accounts.length === 0 && this.products.length === 0;
  }

  attributes(ev: Pick<BillingEvent, 'billingSource' | 'accountId' | 'productId' | 'eventDate'>): DimensionAttributes {
    const acc = ev.accountId ? asOf(this.accounts, ev.eventDate)?.byKey.get(`${ev.billingSource}\x1f${ev.accountId}`) : undefined;
    const prod = ev.productId ? asOf(this.products, ev.eventDate)?.byKey.get(`${ev.billingSource}\x1f${ev.productId}`) : undefined;
    const accMissing = ev.accountId !== null && !acc;
    const prodMissing = ev.productId !== null && !prod;
    const dimStatus =
      ev.accountId === null && ev.productId === null ? 'NO_KEY' : accMissing && prodMissing ? 'MISSING_BOTH' : accMissing ? 'MISSING_ACCOUNT' : prodMissing ? 'MISSING_PRODUCT' : 'OK';
    return {
      accountName: acc?.account_name ?? null,
      accountSegment: acc?.segment ?? null,
      accountCountry: acc?.country ?? null,
      productName: prod?.product_name ?? null,
      planName: prod?.plan_name ?? null,
      dimStatus,
    };
  }

  enrich(ev: BillingEvent): BillingEvent {
    return Object.freeze({ ...ev, dims: this.attributes(ev) });
  }

  async *enrichAll(events: AsyncIterable<BillingEvent>): AsyncIterable<BillingEvent> {
    for await (const ev of events) yield this.enrich(ev);
  }
}
