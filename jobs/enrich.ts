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

/** An id the event does not have, and an id no snapshot row has (the memo's keys besides the rows themselves). */
const NO_KEY = Symbol('no key');
const MISSING = Symbol('missing');
/** Pairs the memo holds at most (then it starts again): bounded memory for a lookup that lives as long as the app. */
const MEMO_PAIRS = 50_000;

function attributesOf(acc: DimRow | typeof NO_KEY | typeof MISSING, prod: DimRow | typeof NO_KEY | typeof MISSING): DimensionAttributes {
  const a = typeof acc === 'symbol' ? undefined : acc;
  const p = typeof prod === 'symbol' ? undefined : prod;
  const accMissing = acc === MISSING;
  const prodMissing = prod === MISSING;
  const dimStatus =
    acc === NO_KEY && prod === NO_KEY ? 'NO_KEY' : accMissing && prodMissing ? 'MISSING_BOTH' : accMissing ? 'MISSING_ACCOUNT' : prodMissing ? 'MISSING_PRODUCT' : 'OK';
  return Object.freeze({
    accountName: a?.account_name ?? null,
    accountSegment: a?.segment ?? null,
    accountCountry: a?.country ?? null,
    productName: p?.product_name ?? null,
    planName: p?.plan_name ?? null,
    dimStatus,
  });
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

  /** The attributes of each (account row, product row) pair met, frozen and shared: one object per pair, not per event. */
  private readonly memo = new Map<unknown, Map<unknown, DimensionAttributes>>();
  private memoSize = 0;
  private memoDay = '';
  private memoSnaps: [Snap | undefined, Snap | undefined] = [undefined, undefined];

  attributes(ev: Pick<BillingEvent, 'billingSource' | 'accountId' | 'productId' | 'eventDate'>): DimensionAttributes {
    if (ev.eventDate !== this.memoDay) {
      this.memoDay = ev.eventDate;
      this.memoSnaps = [asOf(this.accounts, ev.eventDate), asOf(this.products, ev.eventDate)];
    }
    const [accSnap, prodSnap] = this.memoSnaps;
    const acc = ev.accountId ? (accSnap?.byKey.get(`${ev.billingSource}\x1f${ev.accountId}`) ?? MISSING) : ev.accountId === null ? NO_KEY : MISSING;
    const prod = ev.productId ? (prodSnap?.byKey.get(`${ev.billingSource}\x1f${ev.productId}`) ?? MISSING) : ev.productId === null ? NO_KEY : MISSING;
    if (this.memoSize >= MEMO_PAIRS) {
      this.memo.clear();
      this.memoSize = 0;
    }
    let byProd = this.memo.get(acc);
    if (!byProd) this.memo.set(acc, (byProd = new Map()));
    let out = byProd.get(prod);
    if (!out) {
      byProd.set(prod, (out = attributesOf(acc, prod)));
      this.memoSize++;
    }
    return out;
  }

  enrich(ev: BillingEvent): BillingEvent {
    return Object.freeze({ ...ev, dims: this.attributes(ev) });
  }

  async *enrichAll(events: AsyncIterable<BillingEvent>): AsyncIterable<BillingEvent> {
    for await (const ev of events) yield this.enrich(ev);
  }
}
