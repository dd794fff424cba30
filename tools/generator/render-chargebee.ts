/**
 * Chargebee as its API lists records: pages `{"list":[{"invoice":{...}}, ...], "next_offset": ...}` per object
 * (`invoice.json`, `invoice-p2.json`, ...), epoch seconds, integer cents, `resource_version` in epoch ms (the change
 * marker and seqn), `payment_method_details` as JSON inside a string. Subscription lifecycle changes arrive as
 * `event` records; an invoice that changes state (payment_due → paid) is a new record version.
 */
import type { EventType } from '../../events/model.js';
import { epochS, jsonText } from './format.js';
import type { GenEvent, Renderer } from './model.js';

const OBJECT_OF: Partial<Record<EventType, string>> = {
  INVOICE_POSTED: 'invoice',
  INVOICE_PAID: 'invoice',
  INVOICE_VOIDED: 'invoice',
  WRITE_OFF: 'invoice',
  CREDIT_MEMO_POSTED: 'credit_note',
  INVOICE_ITEM_ADJUSTED: 'credit_note',
  PAYMENT_PROCESSED: 'transaction',
  PAYMENT_FAILED: 'transaction',
  REFUND_PROCESSED: 'transaction',
  REFUND_FAILED: 'transaction',
  CHARGEBACK_LOST: 'transaction',
  SUBSCRIPTION_CREATED: 'subscription',
  SUBSCRIPTION_CANCELLED: 'event',
  SUBSCRIPTION_PAUSED: 'event',
  SUBSCRIPTION_RESUMED: 'event',
  SUBSCRIPTION_AMENDED: 'event',
};

const EVENT_NAME: Partial<Record<EventType, string>> = {
  SUBSCRIPTION_CANCELLED: 'subscription_cancelled',
  SUBSCRIPTION_PAUSED: 'subscription_paused',
  SUBSCRIPTION_RESUMED: 'subscription_resumed',
  SUBSCRIPTION_AMENDED: 'subscription_changed',
};

/** The page wrapper key of each object (`{"list":[{"<key>": {...}}]}`). */
export function chargebeeWrap(object: string, recordText: string): string {
  return `{"${object}":${recordText}}`;
}

export const chargebeeRenderer: Renderer = {
  source: 'chargebee',
  format: 'pages',
  extension: 'json',
  normalise(ev) {
    const object = OBJECT_OF[ev.eventType];
    if (!object) return null;
    return { ...ev, object };
  },
  statesMrr: true,
  header() {
    return '';
  },
  render(ev) {
    return { object: ev.object, text: jsonText(chargebeeRecord(ev)) };
  },
  bad(reason, ev) {
    const rec = chargebeeRecord(ev) as Record<string, unknown>;
    const amountKey = ev.object === 'transaction' ? 'amount' : ev.object === 'invoice' || ev.object === 'credit_note' ? 'total' : null;
    switch (reason) {
      case 'BAD_TIMESTAMP':
        if (ev.object === 'event') rec.occurred_at = 'yesterday';
        else if (ev.object === 'subscription') rec.created_at = 'soon';
        else rec.date = 'N/A';
        break;
      case 'BAD_AMOUNT':
        if (!amountKey) return null;
        rec[amountKey] = '1,000';
        break;
      case 'AMOUNT_OUT_OF_RANGE':
        if (!amountKey) return null;
        rec[amountKey] = 10n ** 40n; // beyond DECIMAL(38,9)
        break;
      case 'UNKNOWN_CURRENCY':
        if (ev.object === 'event') return null;
        rec.currency_code = 'ZZZ';
        break;
      case 'MISSING_ID':
        rec.id = '';
        break;
      case 'BAD_VALUE':
        if (ev.object === 'event') return null;
        rec.resource_version = 'v2';
        break;
      case 'MISSING_FIELD':
        if (ev.object !== 'transaction') return null;
        delete rec.date;
        break;
      case 'UNKNOWN_EVENT_TYPE':
        if (ev.object !== 'transaction') return null;
        rec.status = 'in_progress';
        break;
      case 'MALFORMED_RECORD':
        if (ev.object !== 'transaction') return null;
        rec.payment_method_details = '{"card": {"brand": "visa"';
        break;
      default:
        return null;
    }
    return { object: ev.object, text: jsonText(rec) };
  },
};

/**
 * A subscription version's resource_version: epoch ms of the change plus the version number (the simulation's
 * changes fall on whole seconds, so this is unique and ordered like Chargebee's own).
 */
export function subscriptionVersion(ev: GenEvent): number | null {
  return ev.attrs.sub_version !== undefined ? ev.ms + Number(ev.attrs.sub_version) : null;
}

function chargebeeRecord(ev: GenEvent): Record<string, unknown> {
  const at = epochS(ev.ms);
  const rv = ev.ms + (ev.eventType === 'INVOICE_POSTED' || ev.eventType === 'CREDIT_MEMO_POSTED' ? 0 : 7);
  const t = ev.eventType;
  switch (ev.object) {
    case 'invoice': {
      const total = BigInt(ev.attrs.total ?? ev.amountMinor.toString());
      const date = epochS(Number(ev.attrs.posted_ms ?? ev.ms));
      const status = t === 'INVOICE_POSTED' ? 'payment_due' : t === 'INVOICE_PAID' ? 'paid' : t === 'INVOICE_VOIDED' ? 'voided' : 'not_paid';
      const rec: Record<string, unknown> = {
        id: ev.recordId,
        customer_id: ev.accountId,
        subscription_id: ev.subscriptionId,
        recurring: true,
        status,
        date,
        due_date: date + 30 * 86_400,
        total,
        amount_paid: status === 'paid' ? total : 0n,
        amount_due: status === 'paid' || status === 'voided' ? 0n : total,
        write_off_amount: t === 'WRITE_OFF' ? total : 0n,
        currency_code: ev.currency,
        updated_at: at,
        resource_version: rv,
        object: 'invoice',
      };
      if (status === 'paid') rec.paid_at = at;
      if (status === 'voided') rec.voided_at = at;
      return rec;
    }
    case 'credit_note': {
      const total = BigInt(ev.attrs.total ?? (-ev.amountMinor).toString());
      const voided = t === 'INVOICE_ITEM_ADJUSTED';
      const rec: Record<string, unknown> = { id: ev.recordId, customer_id: ev.accountId, subscription_id: ev.subscriptionId, reference_invoice_id: ev.invoiceId, type: 'refundable', reason_code: 'subscription_cancellation', status: voided ? 'voided' : 'refund_due', date: epochS(Number(ev.attrs.posted_ms ?? ev.ms)), total, currency_code: ev.currency, updated_at: at, resource_version: rv, object: 'credit_note' };
      if (voided) rec.voided_at = at;
      return rec;
    }
    case 'transaction': {
      const type = t === 'PAYMENT_PROCESSED' || t === 'PAYMENT_FAILED' ? 'payment' : t === 'CHARGEBACK_LOST' ? 'payment_reversal' : 'refund';
      const failed = t === 'PAYMENT_FAILED' || t === 'REFUND_FAILED';
      const amount = t === 'PAYMENT_FAILED' ? BigInt(ev.attrs.attempted ?? '0') : ev.amountMinor < 0n ? -ev.amountMinor : ev.amountMinor;
      return {
        id: ev.recordId,
        customer_id: ev.accountId,
        subscription_id: ev.subscriptionId,
        gateway: 'chargebee',
        payment_method: 'card',
        payment_method_details: JSON.stringify({ card: { first_name: 'A', last4: '1111', funding_type: 'credit', brand: 'visa' } }),
        type,
        date: at,
        amount,
        currency_code: ev.currency,
        status: failed ? 'failure' : 'success',
        linked_invoices: ev.invoiceId ? [{ invoice_id: ev.invoiceId }] : [],
        updated_at: at,
        resource_version: rv,
        object: 'transaction',
      };
    }
    case 'subscription':
      return { id: ev.recordId, customer_id: ev.accountId, plan_id: ev.productId, plan_quantity: 1, status: 'active', created_at: at, started_at: at, currency_code: ev.currency, updated_at: at, resource_version: subscriptionVersion(ev) ?? rv, mrr: BigInt(ev.attrs.mrr ?? '0'), object: 'subscription' };
    case 'event':
      return {
        id: `ev_${ev.recordId}`,
        occurred_at: at,
        source: 'admin_console',
        object: 'event',
        api_version: 'v2',
        event_type: EVENT_NAME[t],
        content: {
          subscription: {
            id: ev.subscriptionId,
            customer_id: ev.accountId,
            status: t === 'SUBSCRIPTION_CANCELLED' ? 'cancelled' : t === 'SUBSCRIPTION_PAUSED' ? 'paused' : 'active',
            currency_code: ev.currency,
            ...(ev.attrs.mrr !== undefined ? { mrr: BigInt(ev.attrs.mrr), resource_version: subscriptionVersion(ev) } : {}),
          },
          customer: { id: ev.accountId },
        },
      };
    default:
      throw new Error(`chargebee renderer: unexpected object ${ev.object}`);
  }
}
