/**
 * Recurly-style CSV exports for the config-only source (config/builtin/recurly.ts): invoices.csv,
 * transactions.csv, subscriptions.csv; naive datetimes in the site zone, US month-first dates for subscription
 * dates, decimals in major units written like `99.0`.
 */
import { createHash } from 'node:crypto';
import type { EventType } from '../../events/model.js';
import { csvRow, majorText } from './format.js';
import type { GenEvent, Renderer } from './model.js';
import { resolveWall, wallOf, wallText, type Wall } from './wall.js';

const TZ = 'America/Los_Angeles';

const COLUMNS: Record<string, readonly string[]> = {
  invoices: ['invoice_number', 'account_code', 'subscription_uuid', 'state', 'currency', 'subtotal', 'total', 'created_at', 'closed_at'],
  transactions: ['uuid', 'account_code', 'invoice_number', 'subscription_uuid', 'type', 'status', 'amount', 'currency', 'date', 'gateway'],
  subscriptions: ['uuid', 'account_code', 'plan_code', 'state', 'activated_at', 'canceled_at', 'paused_at'],
};

const OBJECT_OF: Partial<Record<EventType, string>> = {
  INVOICE_POSTED: 'invoices',
  INVOICE_PAID: 'invoices',
  INVOICE_VOIDED: 'invoices',
  PAYMENT_PROCESSED: 'transactions',
  PAYMENT_FAILED: 'transactions',
  REFUND_PROCESSED: 'transactions',
  REFUND_FAILED: 'transactions',
  SUBSCRIPTION_CREATED: 'subscriptions',
  SUBSCRIPTION_CANCELLED: 'subscriptions',
  SUBSCRIPTION_PAUSED: 'subscriptions',
};

const uuid = (id: string) => createHash('md5').update(id).digest('hex');
const naive = (ms: number) => wallText(wallOf(ms, TZ));
const p2 = (n: number) => String(n).padStart(2, '0');
/** `01/03/2024 10:15:00` (month first). */
function usDate(ms: number): string {
  const w: Wall = wallOf(ms, TZ);
  return `${p2(w.month)}/${p2(w.day)}/${w.year} ${p2(w.hour)}:${p2(w.minute)}:${p2(w.second)}`;
}

export const recurlyRenderer: Renderer = {
  source: 'recurly',
  format: 'csv',
  extension: 'csv',
  normalise(ev) {
    const object = OBJECT_OF[ev.eventType];
    if (!object) return null;
    const ms = resolveWall(wallOf(ev.ms, TZ), TZ).ms;
    if (object === 'subscriptions') return { ...ev, object, ms, amountMinor: 0n, currency: 'XXX' };
    return { ...ev, object, ms };
  },
  header(object) {
    return COLUMNS[object]!.join(',');
  },
  render(ev) {
    const rec = recurlyRecord(ev);
    return { object: ev.object, text: csvRow(COLUMNS[ev.object]!.map((c) => rec[c])) };
  },
  bad(reason, ev) {
    const rec = recurlyRecord(ev);
    const cols = COLUMNS[ev.object]!;
    const isTxn = ev.object === 'transactions';
    switch (reason) {
      case 'BAD_TIMESTAMP':
        if (isTxn) rec.date = '2024-13-01 10:00:00';
        else if (ev.object === 'invoices') rec.created_at = '0000-00-00 00:00:00';
        else rec.activated_at = '13/45/2024 10:00:00';
        break;
      case 'BAD_AMOUNT':
        if (!isTxn) return null;
        rec.amount = '99.0.1';
        break;
      case 'AMOUNT_OUT_OF_RANGE':
        if (ev.object !== 'invoices') return null;
        rec.total = '99.001';
        break;
      case 'UNKNOWN_CURRENCY':
        if (ev.object === 'subscriptions') return null;
        rec.currency = 'ZZZ';
        break;
      case 'MISSING_ID':
        if (isTxn) rec.uuid = 'not-a-uuid';
        else if (ev.object === 'invoices') rec.invoice_number = '';
        else rec.uuid = '';
        break;
      case 'MISSING_FIELD':
        if (!isTxn) return null;
        rec.date = '';
        break;
      case 'UNKNOWN_EVENT_TYPE':
        if (!isTxn) return null;
        rec.status = 'void';
        break;
      case 'MALFORMED_RECORD':
        return { object: ev.object, text: csvRow(cols.slice(0, 2).map((c) => rec[c])) };
      default:
        return null;
    }
    return { object: ev.object, text: csvRow(cols.map((c) => rec[c])) };
  },
};

function recurlyRecord(ev: GenEvent): Record<string, string> {
  const amt = (m: bigint) => majorText(m < 0n ? -m : m, ev.currency, 'dot0');
  const t = ev.eventType;
  switch (ev.object) {
    case 'invoices': {
      const total = BigInt(ev.attrs.total ?? ev.amountMinor.toString());
      const state = t === 'INVOICE_POSTED' ? 'open' : t === 'INVOICE_PAID' ? 'paid' : 'voided';
      return { invoice_number: ev.recordId, account_code: ev.accountId ?? '', subscription_uuid: ev.subscriptionId ? uuid(ev.subscriptionId) : '', state, currency: ev.currency, subtotal: amt(total), total: amt(total), created_at: ev.attrs.posted_wall ?? naive(Number(ev.attrs.posted_ms ?? ev.ms)), closed_at: state === 'open' ? '' : naive(ev.ms) };
    }
    case 'transactions': {
      const type = t === 'REFUND_PROCESSED' || t === 'REFUND_FAILED' ? 'refund' : 'purchase';
      const failed = t === 'PAYMENT_FAILED' || t === 'REFUND_FAILED';
      return { uuid: uuid(ev.recordId), account_code: ev.accountId ?? '', invoice_number: ev.invoiceId ?? '', subscription_uuid: ev.subscriptionId ? uuid(ev.subscriptionId) : '', type, status: failed ? 'declined' : 'success', amount: amt(t === 'PAYMENT_FAILED' ? BigInt(ev.attrs.attempted ?? '0') : ev.amountMinor), currency: ev.currency, date: naive(ev.ms), gateway: 'braintree' };
    }
    case 'subscriptions': {
      const created = Number(ev.attrs.sub_created_ms ?? ev.ms);
      const state = t === 'SUBSCRIPTION_CREATED' ? 'active' : t === 'SUBSCRIPTION_CANCELLED' ? 'canceled' : 'paused';
      return { uuid: uuid(ev.subscriptionId ?? ev.recordId), account_code: ev.accountId ?? '', plan_code: ev.productId ?? '', state, activated_at: usDate(created), canceled_at: state === 'canceled' ? usDate(ev.ms) : '', paused_at: state === 'paused' ? usDate(ev.ms) : '' };
    }
    default:
      throw new Error(`recurly renderer: unexpected object ${ev.object}`);
  }
}
