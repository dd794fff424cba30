/**
 * Stripe as its API returns objects, one JSON object per line (`charge.jsonl`, `invoice.jsonl`, ...): epoch
 * seconds, integer minor units (JPY has none), lower-case currency. Invoices, credit notes and disputes are
 * state objects: a later status re-states the earlier events with the same values (they dedupe by event_id).
 */
import type { EventType } from '../../events/model.js';
import { epochS, jsonText as json } from './format.js';
import type { GenEvent, Renderer } from './model.js';

const OBJECT_OF: Partial<Record<EventType, string>> = {
  PAYMENT_PROCESSED: 'charge',
  PAYMENT_FAILED: 'charge',
  REFUND_PROCESSED: 'refund',
  REFUND_FAILED: 'refund',
  FEE_CHARGED: 'balance_transaction',
  INVOICE_POSTED: 'invoice',
  INVOICE_PAID: 'invoice',
  INVOICE_VOIDED: 'invoice',
  WRITE_OFF: 'invoice',
  INVOICE_ITEM_CHARGED: 'invoice_line_item',
  CREDIT_MEMO_POSTED: 'credit_note',
  INVOICE_ITEM_ADJUSTED: 'credit_note',
  CHARGEBACK_OPENED: 'dispute',
  CHARGEBACK_WON: 'dispute',
  CHARGEBACK_LOST: 'dispute',
  PAYOUT_PAID: 'payout',
  DISCOUNT_APPLIED: 'discount',
};



export const stripeRenderer: Renderer = {
  source: 'stripe',
  format: 'jsonl',
  extension: 'jsonl',
  normalise(ev) {
    const object = OBJECT_OF[ev.eventType];
    if (!object) return null;
    // Stripe's discount object carries no amount: the event is recorded with amount 0 and no currency.
    if (object === 'discount') return { ...ev, object, amountMinor: 0n, currency: 'XXX' };
    return { ...ev, object };
  },
  header() {
    return '';
  },
  render(ev) {
    return { object: ev.object, text: json(stripeRecord(ev)) };
  },
  bad(reason, ev) {
    const rec = stripeRecord(ev);
    const amountKey = ev.object === 'invoice' ? 'total' : ev.object === 'credit_note' ? 'total' : ev.object === 'balance_transaction' ? 'fee' : 'amount';
    switch (reason) {
      case 'BAD_TIMESTAMP':
        if (ev.object !== 'charge' && ev.object !== 'refund' && ev.object !== 'payout') return null;
        rec.created = '2023-02-29T10:00:00Z';
        if (ev.object === 'payout') rec.arrival_date = '2023-02-29T10:00:00Z';
        break;
      case 'BAD_AMOUNT':
        if (ev.object === 'discount') return null;
        rec[amountKey] = '12.50';
        break;
      case 'AMOUNT_OUT_OF_RANGE':
        if (ev.object === 'discount') return null;
        rec[amountKey] = 10n ** 40n; // 41 digits: beyond DECIMAL(38,9)
        break;
      case 'MISSING_FIELD':
        if (ev.object !== 'charge') return null;
        delete rec.created;
        break;
      case 'UNKNOWN_CURRENCY':
        if (ev.object === 'discount') return null;
        rec.currency = 'zzz';
        break;
      case 'MISSING_ID':
        delete rec.id;
        break;
      case 'MALFORMED_RECORD':
        return { object: ev.object, text: json(rec).slice(0, 40) };
      case 'UNKNOWN_EVENT_TYPE':
        if (ev.object !== 'charge') return null;
        rec.status = 'teleported';
        break;
      default:
        return null;
    }
    return { object: ev.object, text: json(rec) };
  },
};

function stripeRecord(ev: GenEvent): Record<string, unknown> {
  const ccy = ev.currency.toLowerCase();
  const created = epochS(ev.ms);
  const t = ev.eventType;
  switch (ev.object) {
    case 'charge':
      return { id: ev.recordId, object: 'charge', amount: t === 'PAYMENT_FAILED' ? BigInt(ev.attrs.attempted ?? '0') : ev.amountMinor, currency: ccy, created, customer: ev.accountId, invoice: ev.invoiceId, paid: t !== 'PAYMENT_FAILED', status: t === 'PAYMENT_FAILED' ? 'failed' : 'succeeded', failure_code: t === 'PAYMENT_FAILED' ? 'card_declined' : null, livemode: false };
    case 'refund':
      return { id: ev.recordId, object: 'refund', amount: -ev.amountMinor, currency: ccy, created, charge: ev.attrs.payment_id, customer: ev.accountId, status: t === 'REFUND_FAILED' ? 'failed' : 'succeeded', reason: 'requested_by_customer' };
    case 'balance_transaction':
      return { id: ev.recordId, object: 'balance_transaction', amount: 0n, fee: -ev.amountMinor, net: ev.amountMinor, currency: ccy, created, type: 'stripe_fee', source: ev.attrs.payment_id, customer: ev.accountId };
    case 'invoice': {
      const total = BigInt(ev.attrs.total ?? ev.amountMinor.toString());
      const postedS = epochS(Number(ev.attrs.posted_ms ?? ev.ms));
      const status = t === 'INVOICE_POSTED' ? 'open' : t === 'INVOICE_PAID' ? 'paid' : t === 'INVOICE_VOIDED' ? 'void' : 'uncollectible';
      return {
        id: ev.recordId,
        object: 'invoice',
        customer: ev.accountId,
        subscription: ev.subscriptionId,
        currency: ccy,
        status,
        total,
        amount_paid: status === 'paid' ? total : 0n,
        amount_remaining: status === 'paid' || status === 'void' ? 0n : total,
        created: postedS,
        status_transitions: {
          finalized_at: postedS,
          paid_at: status === 'paid' ? created : null,
          voided_at: status === 'void' ? created : null,
          marked_uncollectible_at: status === 'uncollectible' ? created : null,
        },
      };
    }
    case 'invoice_line_item':
      return { id: ev.recordId, object: 'line_item', invoice: ev.invoiceId, subscription: ev.subscriptionId, customer: ev.accountId, amount: ev.amountMinor, currency: ccy, quantity: Number(ev.attrs.quantity ?? '1'), period: { start: created, end: created + 30 * 86_400 }, price: { product: ev.productId } };
    case 'credit_note': {
      const total = BigInt(ev.attrs.total ?? (-ev.amountMinor).toString());
      const postedS = epochS(Number(ev.attrs.posted_ms ?? ev.ms));
      const voided = t === 'INVOICE_ITEM_ADJUSTED';
      return { id: ev.recordId, object: 'credit_note', customer: ev.accountId, invoice: ev.invoiceId, currency: ccy, status: voided ? 'void' : 'issued', total, created: postedS, effective_at: postedS, voided_at: voided ? created : null, reason: 'order_change' };
    }
    case 'dispute': {
      const status = t === 'CHARGEBACK_OPENED' ? 'needs_response' : t === 'CHARGEBACK_WON' ? 'won' : 'lost';
      return { id: ev.recordId, object: 'dispute', amount: BigInt(ev.attrs.disputed ?? '0'), currency: ccy, charge: ev.attrs.payment_id, customer: ev.accountId, created: epochS(Number(ev.attrs.opened_ms ?? ev.ms)), status, reason: 'fraudulent' };
    }
    case 'payout':
      return { id: ev.recordId, object: 'payout', amount: ev.amountMinor, currency: ccy, created: created - 2 * 86_400 < 0 ? created : created - 2 * 86_400, arrival_date: created, status: 'paid', method: 'standard' };
    case 'discount':
      return { id: ev.recordId, object: 'discount', coupon: { id: 'SPRING10', percent_off: 10 }, customer: ev.accountId, subscription: ev.subscriptionId, invoice: ev.invoiceId, start: created };
    default:
      throw new Error(`stripe renderer: unexpected object ${ev.object}`);
  }
}
