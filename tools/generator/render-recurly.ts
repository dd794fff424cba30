/**
 * Recurly as Fivetran's Recurly connector lands it (the built-in config/builtin/recurly.ts): one CSV per connector
 * table, named after the table, with the connector's column names, naive UTC datetimes, decimal major units
 * written like `99.0` and `_fivetran_synced`. The `*_history` tables get one row per version of a record: an
 * invoice posted then paid is two rows of invoice_history (state open, then paid), a subscription created then
 * paused is two rows of subscription_history. Card verifications (type verify) are written beside some payments:
 * the mapping skips them by rule. Renewals are not rendered (a subscription_history row restates the creation of
 * a subscription the simulation may have started before the generated range); the golden test covers them.
 */
import { createHash } from 'node:crypto';
import type { EventType } from '../../events/model.js';
import { csvRow } from '../../events/csv.js';
import { majorText } from './format.js';
import type { GenEvent, Rendered, Renderer } from './model.js';
import type { Rng } from './rng.js';
import { wallOf, wallText } from './wall.js';

const TZ = 'UTC';

/** The connector's documented columns (the mapping declares the same lists). */
const COLUMNS: Record<string, readonly string[]> = {
  transaction: ['_fivetran_synced', 'id', 'created_at', 'voided_at', 'collected_at', 'original_transaction_id', 'account_id', 'invoice_id', 'voided_by_invoice_id', 'uuid', 'type', 'origin', 'currency', 'amount', 'status', 'success', 'refunded', 'collection_method', 'payment_method_object', 'status_code', 'status_message', 'gateway_reference', 'payment_gateway_name'],
  invoice_history: ['_fivetran_synced', 'id', 'created_at', 'updated_at', 'due_at', 'closed_at', 'account_id', 'previous_invoice_id', 'type', 'origin', 'state', 'number', 'collection_method', 'po_number', 'net_terms', 'currency', 'balance', 'paid', 'total', 'subtotal', 'refundable_amount', 'discount', 'tax', 'tax_type', 'tax_region', 'tax_rate'],
  line_item_history: ['_fivetran_synced', 'id', 'created_at', 'updated_at', 'account_id', 'plan_id', 'add_on_id', 'invoice_id', 'subscription_id', 'uuid', 'type', 'state', 'plan_code', 'origin', 'product_code', 'currency', 'amount', 'description', 'quantity', 'unit_amount', 'subtotal', 'discount', 'tax', 'taxable', 'start_date', 'end_date'],
  subscription_history: ['_fivetran_synced', 'id', 'created_at', 'updated_at', 'activated_at', 'canceled_at', 'expires_at', 'account_id', 'plan_id', 'object', 'uuid', 'state', 'current_period_started_at', 'current_period_ends_at', 'paused_at', 'currency', 'unit_amount', 'quantity', 'collection_method', 'expiration_reason'],
  subscription_change_history: ['_fivetran_synced', 'id', 'updated_at', 'plan_id', 'subscription_id', 'object', 'unit_amount', 'quantity', 'activate_at', 'activated', 'created_at', 'deleted_at'],
  account_history: ['_fivetran_synced', 'id', 'created_at', 'updated_at', 'deleted_at', 'code', 'bill_to', 'state', 'username', 'email', 'company', 'tax_exempt', 'account_country'],
};

const OBJECT_OF: Partial<Record<EventType, string>> = {
  ACCOUNT_CREATED: 'account_history',
  INVOICE_POSTED: 'invoice_history',
  INVOICE_PAID: 'invoice_history',
  INVOICE_VOIDED: 'invoice_history',
  INVOICE_ITEM_CHARGED: 'line_item_history',
  PAYMENT_PROCESSED: 'transaction',
  PAYMENT_FAILED: 'transaction',
  REFUND_PROCESSED: 'transaction',
  REFUND_FAILED: 'transaction',
  SUBSCRIPTION_CREATED: 'subscription_history',
  SUBSCRIPTION_CANCELLED: 'subscription_history',
  SUBSCRIPTION_PAUSED: 'subscription_history',
  SUBSCRIPTION_AMENDED: 'subscription_change_history',
};

/** Objects whose rows carry no currency: their lifecycle events are in XXX. */
const NO_CURRENCY_OBJECTS = new Set(['account_history', 'subscription_change_history']);

const hex = (s: string) => createHash('md5').update(s).digest('hex');
const naive = (ms: number) => wallText(wallOf(ms, TZ));
/** Fivetran syncs a little after the change. */
const synced = (ms: number) => naive(ms + 5 * 60_000);

export const recurlyRenderer: Renderer = {
  source: 'recurly',
  format: 'csv',
  extension: 'csv',
  normalise(ev) {
    const object = OBJECT_OF[ev.eventType];
    if (!object) return null;
    if (object === 'subscription_history') return { ...ev, object, amountMinor: 0n };
    if (NO_CURRENCY_OBJECTS.has(object)) return { ...ev, object, amountMinor: 0n, currency: 'XXX' };
    return { ...ev, object };
  },
  header(object) {
    return COLUMNS[object]!.join(',');
  },
  render(ev) {
    return row(ev, recurlyRecord(ev));
  },
  extras(ev, rng: Rng): Rendered[] {
    // a card check before some payments: not a billing event (skipped by the mapping's card_verification rule)
    if (ev.eventType !== 'PAYMENT_PROCESSED' || !rng.chance(0.1)) return [];
    const rec = recurlyRecord(ev);
    return [row(ev, { ...rec, id: hex(`${ev.recordId}/verify`), uuid: hex(`${ev.recordId}/verify/uuid`), invoice_id: '', type: 'verify', origin: 'api', amount: '0.0', status: rng.chance(0.2) ? 'declined' : 'success' })];
  },
  bad(reason, ev) {
    const rec = recurlyRecord(ev);
    const cols = COLUMNS[ev.object]!;
    const isTxn = ev.object === 'transaction';
    const isInv = ev.object === 'invoice_history';
    switch (reason) {
      case 'BAD_TIMESTAMP':
        if (isTxn) rec.created_at = '2024-13-01 10:00:00';
        else if (isInv) rec.created_at = '0000-00-00 00:00:00';
        else if (ev.object === 'subscription_history') rec.activated_at = '13/45/2024 10:00:00';
        else return null;
        break;
      case 'BAD_AMOUNT':
        if (!isTxn) return null;
        rec.amount = '99.0.1';
        break;
      case 'AMOUNT_OUT_OF_RANGE':
        if (!isInv) return null;
        rec.total = '99.001';
        break;
      case 'UNKNOWN_CURRENCY':
        if (!isTxn && !isInv) return null;
        rec.currency = 'ZZZ';
        break;
      case 'MISSING_ID':
        if (!isTxn && !isInv && ev.object !== 'subscription_history') return null;
        rec.id = '';
        break;
      case 'MISSING_FIELD':
        if (!isTxn) return null;
        rec.created_at = '';
        break;
      case 'UNKNOWN_EVENT_TYPE':
        if (!isTxn) return null;
        rec.status = 'scheduled';
        break;
      case 'MALFORMED_RECORD':
        return { object: ev.object, text: csvRow(cols.slice(0, 2).map((c) => rec[c])) };
      default:
        return null;
    }
    return row(ev, rec);
  },
};

function row(ev: GenEvent, rec: Record<string, string>): Rendered {
  return { object: ev.object, text: csvRow(COLUMNS[ev.object]!.map((c) => rec[c])) };
}

function recurlyRecord(ev: GenEvent): Record<string, string> {
  const amt = (m: bigint) => majorText(m < 0n ? -m : m, ev.currency, 'dot0');
  const t = ev.eventType;
  const at = naive(ev.ms);
  const common = { _fivetran_synced: synced(ev.ms), account_id: ev.accountId ?? '' };
  switch (ev.object) {
    case 'transaction': {
      const refund = t === 'REFUND_PROCESSED' || t === 'REFUND_FAILED';
      const failed = t === 'PAYMENT_FAILED' || t === 'REFUND_FAILED';
      const amount = t === 'PAYMENT_FAILED' ? BigInt(ev.attrs.attempted ?? '0') : ev.amountMinor;
      return { ...common, id: hex(ev.recordId), created_at: at, collected_at: failed ? '' : at, invoice_id: ev.invoiceId ?? '', uuid: hex(`${ev.recordId}/uuid`), type: refund ? 'refund' : 'purchase', origin: refund ? 'refund' : 'recurring', currency: ev.currency, amount: amt(amount), status: failed ? 'declined' : 'success', success: failed ? 'false' : 'true', refunded: 'false', collection_method: 'automatic', payment_method_object: 'credit_card', status_code: failed ? 'declined' : '', gateway_reference: String(ev.ms % 10_000_000), payment_gateway_name: 'Test Gateway' };
    }
    case 'invoice_history': {
      const total = t === 'INVOICE_POSTED' ? ev.amountMinor : BigInt(ev.attrs.total ?? ev.amountMinor.toString());
      const state = t === 'INVOICE_POSTED' ? 'open' : t === 'INVOICE_PAID' ? 'paid' : 'voided';
      const created = naive(Number(ev.attrs.posted_ms ?? ev.ms));
      const paid = t === 'INVOICE_PAID' ? ev.amountMinor : 0n;
      return { ...common, id: ev.recordId, created_at: created, updated_at: at, due_at: created, closed_at: state === 'open' ? '' : at, type: 'charge', origin: 'renewal', state, number: String(ev.ms % 1_000_000), collection_method: 'automatic', net_terms: '0', currency: ev.currency, balance: amt(state === 'open' ? total : 0n), paid: amt(paid), total: amt(total < 0n ? -total : total), subtotal: amt(total), discount: '0.0', tax: '0.0' };
    }
    case 'line_item_history':
      return { ...common, id: ev.recordId, created_at: at, updated_at: at, plan_id: ev.productId ?? '', invoice_id: ev.invoiceId ?? '', subscription_id: ev.subscriptionId ?? '', uuid: hex(ev.recordId), type: 'charge', state: 'invoiced', plan_code: ev.productId ?? '', origin: 'plan', product_code: ev.productId ?? '', currency: ev.currency, amount: amt(ev.amountMinor), quantity: ev.attrs.quantity ?? '1', unit_amount: amt(ev.amountMinor), subtotal: amt(ev.amountMinor), discount: '0.0', tax: '0.0', taxable: 'false', start_date: at, end_date: '' };
    case 'subscription_history': {
      const created = naive(Number(ev.attrs.sub_created_ms ?? ev.ms));
      const state = t === 'SUBSCRIPTION_CREATED' ? 'active' : t === 'SUBSCRIPTION_CANCELLED' ? 'canceled' : 'paused';
      return { ...common, id: ev.subscriptionId ?? ev.recordId, created_at: created, updated_at: at, activated_at: created, canceled_at: state === 'canceled' ? at : '', expires_at: '', plan_id: ev.productId ?? '', object: 'subscription', uuid: hex(ev.subscriptionId ?? ev.recordId), state, current_period_started_at: created, current_period_ends_at: '', paused_at: state === 'paused' ? at : '', currency: ev.currency, unit_amount: '', quantity: ev.attrs.quantity ?? '1', collection_method: 'automatic', expiration_reason: state === 'canceled' ? 'canceled' : '' };
    }
    case 'subscription_change_history':
      return { ...common, id: ev.recordId, updated_at: at, plan_id: ev.productId ?? '', subscription_id: ev.subscriptionId ?? '', object: 'subscription_change', unit_amount: '', quantity: ev.attrs.quantity ?? '1', activate_at: at, activated: 'true', created_at: at, deleted_at: at };
    case 'account_history':
      return { ...common, id: ev.recordId, created_at: at, updated_at: at, deleted_at: '', code: hex(ev.recordId), bill_to: 'self', state: 'active', username: '', email: '', company: '', tax_exempt: 'false', account_country: '' };
    default:
      throw new Error(`recurly renderer: unexpected object ${ev.object}`);
  }
}
