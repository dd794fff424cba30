/**
 * FactBuffer: a batch of fact rows held column by column (plain arrays of the values the events already
 * carry; no per-row objects), de-duplicated by event_id as rows arrive, sorted with an index array.
 * The ingest path fills one buffer, then writes each day's rows in partition order as row-group blocks.
 */
import type { BillingEvent } from '../events/model.js';
import type { Money } from '../events/money.js';
import type { Block, CellValue, ColumnSpec } from './columns.js';
import { dayOfMicros, microsToIso } from './schema.js';

/** Run files (spilled batches) carry the arrival order so cross-run ties resolve like in-memory ones. */
export const ORD_COLUMN: ColumnSpec = { name: '_ord', kind: 'int64', nullable: false, doc: 'arrival order inside the batch (run files only)' };

const MICROS_PER_DAY = 86_400_000_000n;
const SCALE = 9;

/** Money → unscaled DECIMAL(38,9) bigint, exact, from its fixed 9-place text. */
export function unscaledMoney(m: Money): bigint {
  const t = m.toFixed();
  const dot = t.length - SCALE - 1;
  return BigInt(t.slice(0, dot) + t.slice(dot + 1));
}

function cmpStr(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}
function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class FactBuffer {
  readonly eventId: string[] = [];
  readonly seqn: bigint[] = [];
  readonly source: string[] = [];
  readonly type: string[] = [];
  readonly objectType: string[] = [];
  readonly recordId: string[] = [];
  readonly version: (string | null)[] = [];
  readonly ts: bigint[] = [];
  readonly day: string[] = [];
  readonly precision: string[] = [];
  readonly truncated: boolean[] = [];
  readonly ambiguous: boolean[] = [];
  readonly nonexistent: boolean[] = [];
  readonly tsRaw: string[] = [];
  readonly timezone: string[] = [];
  readonly localDate: string[] = [];
  readonly amount: Money[] = [];
  readonly currency: string[] = [];
  readonly accountId: (string | null)[] = [];
  readonly subscriptionId: (string | null)[] = [];
  readonly invoiceId: (string | null)[] = [];
  readonly productId: (string | null)[] = [];
  readonly mrr: (Money | null)[] = [];
  readonly dims: (BillingEvent['dims'])[] = [];
  readonly file: string[] = [];
  readonly position: number[] = [];
  readonly run: string[] = [];
  readonly ord: number[] = [];
  /** Rows that lost to another row with the same event_id (or were found in their partition). */
  readonly dropped = new Set<number>();
  private readonly byId = new Map<string, number>();
  /** (billing_source, event_type) pair id per row; pairs are ranked once before sorting. */
  private readonly pair: number[] = [];
  private readonly pairs = new Map<string, Map<string, number>>();
  private readonly pairNames: [string, string][] = [];
  private dayCache = { day: '', start: 0n, end: 0n };
  /** Rows removed as in-batch duplicates so far. */
  duplicates = 0;

  get length(): number {
    return this.eventId.length;
  }

  /** Rows kept (not dropped). */
  get live(): number {
    return this.eventId.length - this.dropped.size;
  }

  /**
   * Appends an event as a row; throws an Error naming the event and field when the warehouse cannot store
   * it (the caller quarantines it). A row with an event_id already in the buffer keeps only the winner.
   */
  append(e: BillingEvent, ord: number): void {
    const where = `event ${e.eventId} (${e.lineage.sourceFile}:${e.lineage.sourcePosition})`;
    if (e.mrrDelta && e.mrrDelta.currency !== e.amount.currency) throw new Error(`${where}: mrr_delta currency ${e.mrrDelta.currency} differs from amount currency ${e.amount.currency}`);
    const c = this.dayCache;
    if (e.eventDate !== c.day || e.eventTs < c.start || e.eventTs >= c.end) {
      const day = dayOfMicros(e.eventTs);
      if (day !== e.eventDate) throw new Error(`${where}: event_date ${e.eventDate} is not the UTC day of event_ts (${microsToIso(e.eventTs)})`);
      const start = BigInt(Date.parse(`${day}T00:00:00Z`)) * 1000n;
      this.dayCache = { day, start, end: start + MICROS_PER_DAY };
    }
    if (!Number.isSafeInteger(e.lineage.sourcePosition)) throw new Error(`${where}: source_position ${e.lineage.sourcePosition} is not an integer`);
    const i = this.eventId.length;
    this.eventId.push(e.eventId);
    this.seqn.push(e.seqn);
    this.source.push(e.billingSource);
    this.type.push(e.eventType);
    this.objectType.push(e.sourceObjectType);
    this.recordId.push(e.sourceRecordId);
    this.version.push(e.sourceVersion);
    this.ts.push(e.eventTs);
    this.day.push(e.eventDate);
    this.precision.push(e.tsPrecision);
    this.truncated.push(e.tsTruncated);
    this.ambiguous.push(e.tsAmbiguous);
    this.nonexistent.push(e.tsNonexistent);
    this.tsRaw.push(e.sourceTsRaw);
    this.timezone.push(e.sourceTimezone);
    this.localDate.push(e.sourceLocalDate);
    this.amount.push(e.amount);
    this.currency.push(e.amount.currency);
    this.accountId.push(e.accountId);
    this.subscriptionId.push(e.subscriptionId);
    this.invoiceId.push(e.invoiceId);
    this.productId.push(e.productId);
    this.mrr.push(e.mrrDelta);
    this.dims.push(e.dims);
    this.file.push(e.lineage.sourceFile);
    this.position.push(e.lineage.sourcePosition);
    this.run.push(e.lineage.ingestRunId);
    this.ord.push(ord);
    let types = this.pairs.get(e.billingSource);
    if (!types) this.pairs.set(e.billingSource, (types = new Map()));
    let p = types.get(e.eventType);
    if (p === undefined) {
      types.set(e.eventType, (p = this.pairNames.length));
      this.pairNames.push([e.billingSource, e.eventType]);
    }
    this.pair.push(p);
    const prev = this.byId.get(e.eventId);
    if (prev === undefined) {
      this.byId.set(e.eventId, i);
      return;
    }
    this.duplicates++;
    if (this.supersedes(i, prev)) {
      this.dropped.add(prev);
      this.byId.set(e.eventId, i);
    } else this.dropped.add(i);
  }

  /** Highest seqn wins, then the later source file / position / run; on a full tie the earlier row stays. */
  private supersedes(a: number, b: number): boolean {
    return (cmpBig(this.seqn[a]!, this.seqn[b]!) || cmpStr(this.file[a]!, this.file[b]!) || (this.position[a]! - this.position[b]!) || cmpStr(this.run[a]!, this.run[b]!)) > 0;
  }

  /** Drops the live row of an event_id (found in its partition); false when there is none. */
  dropLive(eventId: string): boolean {
    const i = this.byId.get(eventId);
    if (i === undefined || this.dropped.has(i)) return false;
    this.dropped.add(i);
    return true;
  }

  /** Days present among live rows, sorted. */
  days(): string[] {
    const out = new Set<string>();
    for (let i = 0; i < this.length; i++) if (!this.dropped.has(i)) out.add(this.day[i]!);
    return [...out].sort();
  }

  /** Live row indices per day, each in the partition order (billing_source, event_type, event_ts, seqn, event_id). */
  sortedByDay(): Map<string, number[]> {
    const rank = new Int32Array(this.pairNames.length);
    this.pairNames
      .map((n, id) => ({ n, id }))
      .sort((a, b) => cmpStr(a.n[0], b.n[0]) || cmpStr(a.n[1], b.n[1]))
      .forEach((x, r) => (rank[x.id] = r));
    const out = new Map<string, number[]>();
    for (let i = 0; i < this.length; i++) {
      if (this.dropped.has(i)) continue;
      let list = out.get(this.day[i]!);
      if (!list) out.set(this.day[i]!, (list = []));
      list.push(i);
    }
    const { pair, ts, seqn, eventId } = this;
    const cmp = (a: number, b: number) => rank[pair[a]!]! - rank[pair[b]!]! || cmpBig(ts[a]!, ts[b]!) || cmpBig(seqn[a]!, seqn[b]!) || cmpStr(eventId[a]!, eventId[b]!);
    for (const list of out.values()) list.sort(cmp);
    return new Map([...out.entries()].sort(([a], [b]) => cmpStr(a, b)));
  }

  /** Values of one column at `idx`, in the CellValue shape the writer takes. */
  gather(name: string, idx: readonly number[]): CellValue[] {
    const pick = <T extends CellValue>(arr: readonly T[]): CellValue[] => {
      const out = new Array<CellValue>(idx.length);
      for (let k = 0; k < idx.length; k++) out[k] = arr[idx[k]!]!;
      return out;
    };
    const map = <T>(arr: readonly T[], f: (v: T) => CellValue): CellValue[] => {
      const out = new Array<CellValue>(idx.length);
      for (let k = 0; k < idx.length; k++) out[k] = f(arr[idx[k]!]!);
      return out;
    };
    switch (name) {
      case 'event_id': return pick(this.eventId);
      case 'seqn': return pick(this.seqn);
      case 'billing_source': return pick(this.source);
      case 'event_type': return pick(this.type);
      case 'source_object_type': return pick(this.objectType);
      case 'source_record_id': return pick(this.recordId);
      case 'source_version': return pick(this.version);
      case 'event_ts': return pick(this.ts);
      case 'event_date': return pick(this.day);
      case 'ts_precision': return pick(this.precision);
      case 'ts_truncated': return pick(this.truncated);
      case 'ts_ambiguous': return pick(this.ambiguous);
      case 'ts_nonexistent': return pick(this.nonexistent);
      case 'source_ts_raw': return pick(this.tsRaw);
      case 'source_timezone': return pick(this.timezone);
      case 'source_local_date': return pick(this.localDate);
      case 'amount': return map(this.amount, unscaledMoney);
      case 'currency': return pick(this.currency);
      case 'account_id': return pick(this.accountId);
      case 'subscription_id': return pick(this.subscriptionId);
      case 'invoice_id': return pick(this.invoiceId);
      case 'product_id': return pick(this.productId);
      case 'mrr_delta': return map(this.mrr, (m) => (m ? unscaledMoney(m) : null));
      case 'account_name': return map(this.dims, (d) => d?.accountName ?? null);
      case 'account_segment': return map(this.dims, (d) => d?.accountSegment ?? null);
      case 'account_country': return map(this.dims, (d) => d?.accountCountry ?? null);
      case 'product_name': return map(this.dims, (d) => d?.productName ?? null);
      case 'plan_name': return map(this.dims, (d) => d?.planName ?? null);
      case 'dim_status': return map(this.dims, (d) => d?.dimStatus ?? 'NOT_ENRICHED');
      case 'source_file': return pick(this.file);
      case 'source_position': return map(this.position, (p) => BigInt(p));
      case 'ingest_run_id': return pick(this.run);
      case '_ord': return map(this.ord, (p) => BigInt(p));
      default:
        throw new Error(`internal: fact buffer has no column ${name}`);
    }
  }

  /** The rows at `idx` as a Block (columns gathered on first use, once). */
  block(idx: readonly number[]): Block {
    const cache = new Map<string, CellValue[]>();
    return {
      length: idx.length,
      column: (name) => {
        let c = cache.get(name);
        if (!c) cache.set(name, (c = this.gather(name, idx)));
        return c;
      },
    };
  }

  /** Row-group blocks over `idx`, in order. */
  async *blocks(idx: readonly number[], size: number): AsyncGenerator<Block> {
    for (let i = 0; i < idx.length; i += size) yield this.block(idx.slice(i, i + size));
  }
}

