/**
 * Billing activity of the simulation: an invoice (items, discount, tax) and its payment attempt (processed or
 * failed; applied; invoice paid; processor fee). Shared by bill runs, sign-ups, voids and write-offs.
 */
import type { Rng } from './rng.js';
import { DAY_MS, type BillingSim, type Out, type Sub } from './sim-types.js';
import { dstTransition, resolveWall, wallDate, wallOf } from './wall.js';

/** `wall`: the naive local text to write instead of the instant's own wall time (a DST-gap value). */
export function postInvoice(sim: BillingSim, rng: Rng, out: Out, t: number, sub: Sub, nightly: boolean, unpaid = false, wall?: string): { invoiceId: string; total: bigint; t: number } {
  const invoiceId = sim.id(rng, 'inv');
  const b = { ...sim.base(sub.account, sub), invoiceId };
  const w: Record<string, string> = wall ? { wall, posted_wall: wall } : {};
  const itemAmount = sim.monthly(sub);
  const items: bigint[] = [itemAmount];
  if (rng.chance(0.3)) items.push(sim.scale(BigInt(rng.range(100, 9_000)), sub.account.currency));
  const discount = rng.chance(0.2) ? -(itemAmount / 10n) : 0n;
  const subtotal = items.reduce((a, x) => a + x, 0n) + discount;
  const tax = (subtotal * BigInt(rng.pick([0, 5, 8, 10, 20]))) / 100n;
  const total = subtotal + tax;
  out({ ...b, eventType: 'INVOICE_POSTED', object: 'invoice', recordId: invoiceId, version: 'posted', ms: t, nightly, amountMinor: total, attrs: { ...w, status: 'posted', total: total.toString(), posted_ms: String(t) } });
  items.forEach((amt, i) => out({ ...b, eventType: 'INVOICE_ITEM_CHARGED', object: 'invoice_item', recordId: sim.id(rng, 'line'), version: null, ms: t, nightly, amountMinor: amt, attrs: { ...w, line: String(i + 1), quantity: sub.quantity.toString() } }));
  if (discount !== 0n) out({ ...b, eventType: 'DISCOUNT_APPLIED', object: 'discount', recordId: sim.id(rng, 'disc'), version: null, ms: t, nightly, amountMinor: discount, attrs: w });
  if (tax !== 0n) out({ ...b, eventType: 'TAX_CHARGED', object: 'taxation_item', recordId: sim.id(rng, 'tax'), version: null, ms: t, nightly, amountMinor: tax, attrs: w });
  if (!unpaid) takePayment(sim, rng, out, t + rng.range(60, 6 * 3600) * 1000, sub, false, invoiceId, total, t, wall);
  return { invoiceId, total, t };
}

export function takePayment(sim: BillingSim, rng: Rng, out: Out, tRaw: number, sub: Sub, nightly: boolean, invoiceId: string, amount: bigint, postedMs: number, postedWall?: string): void {
  const dayEnd = Math.floor(postedMs / DAY_MS) * DAY_MS + DAY_MS;
  const t = Math.min(dayEnd - 10_000, Math.floor(tRaw / 1000) * 1000);
  const amt = amount;
  const inv = invoiceId;
  const b = { ...sim.base(sub.account, sub), invoiceId: inv };
  const payId = sim.id(rng, 'pay');
  if (rng.chance(0.12)) {
    out({ ...b, eventType: 'PAYMENT_FAILED', object: 'payment', recordId: payId, version: null, ms: t, nightly, amountMinor: 0n, attrs: { status: 'failed', attempted: amt.toString() } });
    return;
  }
  out({ ...b, eventType: 'PAYMENT_PROCESSED', object: 'payment', recordId: payId, version: null, ms: t, nightly, amountMinor: amt, attrs: { status: 'succeeded' } });
  out({ ...b, eventType: 'PAYMENT_APPLIED', object: 'invoice_payment', recordId: sim.id(rng, 'app'), version: null, ms: t + 1000, nightly, amountMinor: amt, attrs: { payment_id: payId } });
  out({ ...b, eventType: 'INVOICE_PAID', object: 'invoice', recordId: inv, version: 'paid', ms: t + 2000, nightly, amountMinor: amt, attrs: { status: 'paid', total: amt.toString(), posted_ms: String(postedMs), ...(postedWall ? { posted_wall: postedWall } : {}) } });
  if (rng.chance(0.5)) out({ ...b, eventType: 'FEE_CHARGED', object: 'fee', recordId: sim.id(rng, 'txn'), version: null, ms: t + 3000, nightly, amountMinor: -((amt * 29n) / 1000n + (sub.account.currency === 'JPY' ? 0n : 30n)), attrs: { payment_id: payId } });
  const paid = { paymentId: payId, account: sub.account, invoiceId: inv, amountMinor: amt, currency: sub.account.currency };
  sim.rememberPaid(rng, paid);
}

/**
 * On a DST transition day of the source zone, one invoice stamped 30 minutes into the transition hour as the
 * wall clock shows it: ambiguous (fall back: the earlier instant) or nonexistent (spring forward: written as the
 * skipped wall time, read with the pre-transition offset).
 */
export function dstInvoice(sim: BillingSim, rng: Rng, out: Out, zone: string, start: number, pickSub: () => Sub): void {
  const end = start + DAY_MS;
  const dst = dstTransition(new Date(start + 12 * 3_600_000).toISOString().slice(0, 10), zone);
  if (!dst || dst.ms < start || dst.ms >= end) return;
  const w = wallOf(dst.ms - 1000, zone);
  const wall = { ...w, minute: 30, second: 0, hour: dst.gapMinutes > 0 ? w.hour + 1 : w.hour };
  const r = resolveWall(wall, zone);
  const text = `${wallDate(wall)} ${String(wall.hour).padStart(2, '0')}:30:00`;
  if (r.ms >= start && r.ms < end - 7 * 3_600_000) postInvoice(sim, rng, out, r.ms, pickSub(), false, false, r.nonexistent ? text : undefined);
}
