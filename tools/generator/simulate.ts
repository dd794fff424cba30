/**
 * The source-independent simulation: customers sign up, subscribe, get invoiced (items, usage, tax, discounts)
 * by nightly bill runs stamped at local midnight, pay (some payments fail), amend, pause, resume, cancel, get
 * refunds, credits, chargebacks, write-offs and payouts. Emits canonical GenEvents for one source and one UTC
 * day at a time (the caller keeps the events its source has records for). State is per customer, not per event.
 */
import type { GenEvent } from './model.js';
import { dstInvoice, postInvoice } from './sim-billing.js';
import { ACTIVITIES, DAY_MS, type BillingSim, type Out, type Paid, type SimOptions, type Sub } from './sim-types.js';

export type { SimOptions } from './sim-types.js';
import { Rng } from './rng.js';
import { nightlyInstant } from './wall.js';
import { buildCatalog, newAccount, priceFor, recordIdFor, type Account, type GenSource, type Product } from './world.js';
import { dayStartMs } from '../../partitions/index.js';


const MAX_RECENT = 2000;
const MAX_ACCOUNTS_SAMPLE = 20_000;
const MAX_ACTIVE = 200_000;


export class SourceSim implements BillingSim {
  /** A bounded random sample of the accounts (all of them go to `onAccount`). */
  readonly accounts: Account[] = [];
  readonly products: Product[];
  /** Active and paused subscriptions (cancelled ones are dropped: memory follows live customers). */
  private active: Sub[] = [];
  private paused: Sub[] = [];
  private paid: Paid[] = [];
  private serial = 0;
  private idCounter = 0;
  private readonly src: GenSource;
  private readonly rangeStartMs: number;

  constructor(private readonly o: SimOptions, firstDay: string) {
    this.src = o.source;
    this.products = buildCatalog(o.seed, o.source);
    const rng = new Rng(o.seed, `init/${o.source.name}`);
    const t0 = dayStartMs(firstDay);
    this.rangeStartMs = t0;
    for (let i = 0; i < o.initialAccounts; i++) {
      const acct = newAccount(rng, this.src, t0 - rng.range(30, 700) * DAY_MS, ++this.serial);
      this.addAccount(rng, acct);
      this.active.push(this.newSub(rng, acct));
    }
  }

  private newSub(rng: Rng, account: Account): Sub {
    const flat = this.products.filter((p) => !p.usage);
    return { id: this.id(rng, 'sub'), account, product: rng.pick(flat), quantity: BigInt(rng.range(1, 20)), status: 'active', version: 1, createdMs: account.createdMs, wasPaused: false };
  }

  /** A source-shaped record id. */
  id(rng: Rng, kind: string): string {
    return recordIdFor(this.src.name, rng, kind, ++this.idCounter);
  }

  /**
   * Simulates one UTC day, calling `emit` for every canonical event (all with ms inside the day) until `quota`
   * events were kept (`emit` returns false for events the source has no record for).
   */
  day(day: string, quota: number, emit: (ev: GenEvent) => boolean): number {
    const rng = new Rng(this.o.seed, `day/${this.src.name}/${day}`);
    const start = dayStartMs(day);
    const end = start + DAY_MS;
    let count = 0;
    const out: Out = (e) => {
      if (e.ms < start || e.ms >= end) throw new Error(`generator bug: ${e.eventType} at ${new Date(e.ms).toISOString()} is outside ${day}`);
      if (emit({ ...e, source: this.src.name, attrs: e.attrs ?? {} })) count++;
    };
    const at = (ms: number) => Math.min(end - 1000, Math.max(start, Math.floor(ms / 1000) * 1000));
    const randomMs = () => start + rng.int(DAY_MS / 1000) * 1000;
    const nightlyMs = nightlyInstant(this.src.timezone, start);

    if (this.active.length) dstInvoice(this, rng, out, this.src.timezone, start, () => rng.pick(this.active));

    let guard = 0;
    while (count < quota && guard++ < quota * 20 + 100) {
      const activity = rng.weighted(ACTIVITIES);
      const active = this.active;
      switch (activity) {
        case 'signup': {
          if (this.active.length >= (this.o.maxActive ?? MAX_ACTIVE)) break; // population cap: memory stays bounded
          const t = randomMs();
          const acct = newAccount(rng, this.src, t, ++this.serial);
          this.addAccount(rng, acct);
          out({ ...this.base(acct, null), eventType: 'ACCOUNT_CREATED', object: 'account', recordId: acct.accountId, version: null, ms: t, nightly: false, amountMinor: 0n });
          const sub = this.newSub(rng, acct);
          sub.createdMs = at(t + 60_000);
          this.active.push(sub);
          out({ ...this.base(acct, sub), eventType: 'SUBSCRIPTION_CREATED', object: 'subscription', recordId: sub.id, version: '1', ms: sub.createdMs, nightly: false, amountMinor: 0n, attrs: { status: 'active', ...this.mrrAttrs(sub) } });
          postInvoice(this, rng, out, at(t + 120_000), sub, false);
          break;
        }
        case 'billrun': {
          if (!active.length) break;
          const sub = rng.pick(active);
          const runMs = nightlyMs ?? randomMs();
          if (rng.chance(0.3)) out({ ...this.base(sub.account, sub), eventType: 'SUBSCRIPTION_RENEWED', object: 'amendment', recordId: this.id(rng, 'sub'), version: null, ms: runMs, nightly: nightlyMs !== null, amountMinor: 0n, attrs: { type: 'Renewal' } });
          postInvoice(this, rng, out, runMs, sub, nightlyMs !== null);
          break;
        }
        case 'usage': {
          if (!active.length) break;
          const sub = rng.pick(active);
          const p = rng.pick(this.products.filter((x) => x.usage));
          const amt = BigInt(rng.range(1, 50_000));
          out({ ...this.base(sub.account, sub), productId: p.productId, eventType: 'USAGE_RECORDED', object: 'usage', recordId: this.id(rng, 'use'), version: null, ms: randomMs(), nightly: false, amountMinor: this.scale(amt, sub.account.currency), attrs: { quantity: String(rng.range(1, 100_000)) } });
          break;
        }
        case 'amend': {
          if (!active.length) break;
          const sub = rng.pick(active);
          // mostly upgrades (expansion), some downgrades (contraction) while more than one seat is left
          if (sub.quantity > 1n && rng.chance(0.3)) sub.quantity -= 1n;
          else sub.quantity += BigInt(rng.range(1, 5));
          sub.version++;
          const t = randomMs();
          out({ ...this.base(sub.account, sub), eventType: 'SUBSCRIPTION_AMENDED', object: 'amendment', recordId: this.id(rng, 'sub'), version: null, ms: t, nightly: false, amountMinor: 0n, attrs: { type: 'UpdateProduct', quantity: sub.quantity.toString(), ...this.mrrAttrs(sub) } });
          break;
        }
        case 'cancel':
        case 'pause': {
          // Only subscriptions created inside the generated range: a state record (status=canceled) also
          // re-states the creation event, which must be one the truth already holds.
          const sub = this.pickActive(rng, (s) => s.createdMs >= this.rangeStartMs && (activity !== 'pause' || !s.wasPaused));
          if (!sub) break;
          this.removeActive(sub);
          const t = randomMs();
          sub.version++;
          if (activity === 'cancel') {
            sub.status = 'cancelled';
            out({ ...this.base(sub.account, sub), eventType: 'SUBSCRIPTION_CANCELLED', object: 'amendment', recordId: this.id(rng, 'sub'), version: null, ms: t, nightly: false, amountMinor: 0n, attrs: { type: 'Cancellation', sub_created_ms: String(sub.createdMs), ...this.mrrAttrs(sub) } });
            const credit = this.monthly(sub) / 3n;
            if (credit !== 0n) {
              const memoId = this.id(rng, 'cn');
              const memoMs = at(t + 2000);
              const memo = { ...this.base(sub.account, sub), object: 'credit_memo', recordId: memoId, nightly: false, attrs: { status: 'issued', total: credit.toString(), posted_ms: String(memoMs) } };
              out({ ...memo, eventType: 'CREDIT_MEMO_POSTED', version: 'issued', ms: memoMs, amountMinor: -credit });
              // some credit notes are voided later that day: a new, positive adjustment
              if (rng.chance(0.25)) out({ ...memo, eventType: 'INVOICE_ITEM_ADJUSTED', version: 'void', ms: at(memoMs + 1_800_000), amountMinor: credit, attrs: { ...memo.attrs, status: 'void' } });
            }
          } else {
            sub.status = 'paused';
            sub.wasPaused = true;
            this.paused.push(sub);
            out({ ...this.base(sub.account, sub), eventType: 'SUBSCRIPTION_PAUSED', object: 'amendment', recordId: this.id(rng, 'sub'), version: null, ms: t, nightly: false, amountMinor: 0n, attrs: { type: 'Suspend', sub_created_ms: String(sub.createdMs), ...this.mrrAttrs(sub) } });
            if (this.paused.length > 1) {
              const r = this.paused.splice(rng.int(this.paused.length - 1), 1)[0]!; // not the one just paused (last)
              r.status = 'active';
              this.active.push(r);
              r.version++;
              out({ ...this.base(r.account, r), eventType: 'SUBSCRIPTION_RESUMED', object: 'amendment', recordId: this.id(rng, 'sub'), version: null, ms: at(t + 5000), nightly: false, amountMinor: 0n, attrs: { type: 'Resume', sub_created_ms: String(r.createdMs), ...this.mrrAttrs(r) } });
            }
          }
          break;
        }
        case 'refund': {
          const p = this.recentPaid(rng);
          if (!p) break;
          const amt = rng.chance(0.5) ? p.amountMinor : (p.amountMinor * BigInt(rng.range(1, 9))) / 10n;
          const failed = rng.chance(0.1);
          out({ ...this.basePaid(p), eventType: failed ? 'REFUND_FAILED' : 'REFUND_PROCESSED', object: 'refund', recordId: this.id(rng, 'ref'), version: null, ms: randomMs(), nightly: false, amountMinor: failed ? 0n : -amt, attrs: { status: failed ? 'failed' : 'succeeded', payment_id: p.paymentId } });
          break;
        }
        case 'credit': {
          const acct = rng.pick(this.accounts);
          const amt = this.scale(BigInt(rng.range(100, 20_000)), acct.currency);
          const up = rng.chance(0.5);
          const t = randomMs();
          out({ ...this.base(acct, null), eventType: up ? 'CREDIT_BALANCE_INCREASED' : 'CREDIT_BALANCE_DECREASED', object: 'credit_balance_adjustment', recordId: this.id(rng, 'cba'), version: null, ms: t, nightly: false, amountMinor: up ? amt : -amt, attrs: { type: up ? 'Increase' : 'Decrease' } });
          if (rng.chance(0.3)) out({ ...this.base(acct, null), eventType: 'DEBIT_MEMO_POSTED', object: 'debit_memo', recordId: this.id(rng, 'dm'), version: null, ms: at(t + 3000), nightly: false, amountMinor: amt });
          break;
        }
        case 'dispute': {
          const p = this.recentPaid(rng);
          if (!p) break;
          const t = randomMs();
          const id = this.id(rng, 'dp');
          const attrs = { payment_id: p.paymentId, disputed: p.amountMinor.toString(), opened_ms: String(t) };
          out({ ...this.basePaid(p), eventType: 'CHARGEBACK_OPENED', object: 'dispute', recordId: id, version: 'needs_response', ms: t, nightly: false, amountMinor: 0n, attrs: { ...attrs, status: 'needs_response' } });
          // the outcome is a later version of the same dispute, stamped with the dispute's creation time
          const won = rng.chance(0.5);
          out({ ...this.basePaid(p), eventType: won ? 'CHARGEBACK_WON' : 'CHARGEBACK_LOST', object: 'dispute', recordId: id, version: won ? 'won' : 'lost', ms: t, nightly: false, amountMinor: won ? 0n : -p.amountMinor, attrs: { ...attrs, status: won ? 'won' : 'lost' } });
          break;
        }
        case 'void': {
          if (!active.length) break;
          const sub = rng.pick(active);
          const { invoiceId, total, t } = postInvoice(this, rng, out, randomMs(), sub, false, true);
          out({ ...this.base(sub.account, sub), invoiceId, eventType: 'INVOICE_VOIDED', object: 'invoice', recordId: invoiceId, version: 'voided', ms: at(t + 600_000), nightly: false, amountMinor: -total, attrs: { status: 'voided', total: total.toString(), posted_ms: String(t) } });
          break;
        }
        case 'payout': {
          const ccy = rng.pick(this.src.currencies);
          out({ accountId: null, subscriptionId: null, invoiceId: null, productId: null, currency: ccy, eventType: 'PAYOUT_PAID', object: 'payout', recordId: this.id(rng, 'po'), version: null, ms: randomMs(), nightly: false, amountMinor: this.scale(BigInt(rng.range(10_000, 5_000_000)), ccy) });
          break;
        }
        case 'writeoff': {
          if (!active.length) break;
          const sub = rng.pick(active);
          const { invoiceId, total, t } = postInvoice(this, rng, out, randomMs(), sub, false, true);
          out({ ...this.base(sub.account, sub), invoiceId, eventType: 'WRITE_OFF', object: 'invoice', recordId: invoiceId, version: 'written_off', ms: at(t + 900_000), nightly: false, amountMinor: -total, attrs: { status: 'written_off', total: total.toString(), posted_ms: String(t) } });
          break;
        }
      }
    }
    return count;
  }

  /** A random active subscription satisfying `pred` (a few tries; undefined when none found). */
  private pickActive(rng: Rng, pred: (s: Sub) => boolean): Sub | undefined {
    for (let i = 0; i < 12 && this.active.length; i++) {
      const s = this.active[rng.int(this.active.length)]!;
      if (pred(s)) return s;
    }
    return undefined;
  }

  private removeActive(sub: Sub): void {
    const i = this.active.indexOf(sub);
    if (i >= 0) {
      this.active[i] = this.active[this.active.length - 1]!;
      this.active.pop();
    }
  }

  base(acct: Account, sub: Sub | null) {
    return { accountId: acct.accountId, subscriptionId: sub?.id ?? null, invoiceId: null as string | null, productId: sub?.product.productId ?? null, currency: acct.currency };
  }

  private basePaid(p: Paid) {
    return { accountId: p.account.accountId, subscriptionId: null, invoiceId: p.invoiceId, productId: null, currency: p.currency };
  }

  private addAccount(rng: Rng, acct: Account): void {
    this.o.onAccount?.(acct);
    const cap = this.o.accountSample ?? MAX_ACCOUNTS_SAMPLE;
    if (this.accounts.length < cap) this.accounts.push(acct);
    else this.accounts[rng.int(cap)] = acct;
  }

  /** Live (active + paused) subscriptions held in memory. */
  get live(): number {
    return this.active.length + this.paused.length;
  }

  /** A bounded reservoir of recent payments (refunds and disputes pick from it). */
  rememberPaid(rng: Rng, p: Paid): void {
    if (this.paid.length < MAX_RECENT) this.paid.push(p);
    else this.paid[rng.int(MAX_RECENT)] = p;
  }

  private recentPaid(rng: Rng): Paid | undefined {
    return this.paid.length ? this.paid[rng.int(this.paid.length)] : undefined;
  }

  /** Minor units of a USD-cent amount in the account's currency. */
  scale(usdCents: bigint, ccy: string): bigint {
    const v = priceFor(usdCents, ccy);
    return ccy === 'JPY' ? v / 100n + 1n : v;
  }

  /**
   * The subscription's state as a source states it on a lifecycle record: its MRR (minor units; 0 while cancelled
   * or paused) and its version (each change adds one). Sources that state MRR render these; the truth follows them.
   */
  mrrAttrs(sub: Sub): { mrr: string; sub_version: string } {
    return { mrr: (sub.status === 'active' ? this.monthly(sub) : 0n).toString(), sub_version: String(sub.version) };
  }

  monthly(sub: Sub): bigint {
    return this.scale(sub.product.baseMinor, sub.account.currency) * sub.quantity;
  }

  /** Posts an invoice with items, tax and maybe a discount, then (unless `unpaid`) a payment attempt. */
}
