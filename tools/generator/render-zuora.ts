/**
 * Zuora as a warehouse loader lands it: one CSV per table (invoice, invoice_item, taxation_item, payment,
 * invoice_payment, refund, credit_balance_adjustment, amendment, subscription), snake_case columns, naive
 * datetimes in the tenant zone (`2016-01-15 22:30:00.000000`), nightly bill-run stamps written as a bare date,
 * amounts in major units with any scale.
 */
import type { EventType } from '../../events/model.js';
import { csvRow } from '../../events/csv.js';
import { anyScaleStyle, majorText } from './format.js';
import type { GenEvent, Rendered, Renderer } from './model.js';
import type { Rng } from './rng.js';
import { resolveWall, wallDate, wallOf, wallText } from './wall.js';

const TZ = 'America/Los_Angeles';

const COLUMNS: Record<string, readonly string[]> = {
  invoice: ['id', '_fivetran_deleted', 'account_id', 'amount', 'balance', 'invoice_date', 'invoice_number', 'posted_date', 'status', 'source', 'transaction_currency', 'created_date', 'updated_date'],
  invoice_item: ['id', '_fivetran_deleted', 'account_id', 'invoice_id', 'subscription_id', 'product_id', 'charge_name', 'charge_type', 'accounting_code', 'processing_type', 'quantity', 'charge_amount', 'charge_date', 'service_start_date', 'transaction_currency', 'created_date', 'updated_date'],
  taxation_item: ['id', '_fivetran_deleted', 'account_id', 'invoice_id', 'subscription_id', 'name', 'jurisdiction', 'tax_rate', 'tax_amount', 'tax_date', 'transaction_currency', 'created_date', 'updated_date'],
  payment: ['id', '_fivetran_deleted', 'account_id', 'amount', 'currency', 'effective_date', 'gateway_response', 'payment_number', 'status', 'type', 'created_date', 'updated_date'],
  invoice_payment: ['id', '_fivetran_deleted', 'account_id', 'invoice_id', 'payment_id', 'amount', 'transaction_currency', 'created_date', 'updated_date'],
  refund: ['id', '_fivetran_deleted', 'account_id', 'amount', 'currency', 'method_type', 'payment_id', 'refund_date', 'refund_transaction_time', 'status', 'type', 'created_date', 'updated_date'],
  credit_balance_adjustment: ['id', '_fivetran_deleted', 'account_id', 'invoice_id', 'adjustment_date', 'amount', 'number', 'status', 'type', 'transaction_currency', 'created_date', 'updated_date'],
  amendment: ['id', '_fivetran_deleted', 'subscription_id', 'code', 'name', 'type', 'status', 'effective_date', 'created_date', 'updated_date'],
  subscription: ['id', '_fivetran_deleted', 'account_id', 'name', 'status', 'original_id', 'original_created_date', 'subscription_start_date', 'version', 'created_date', 'updated_date'],
};

/** Canonical event type → Zuora table. */
const OBJECT_OF: Partial<Record<EventType, string>> = {
  INVOICE_POSTED: 'invoice',
  INVOICE_ITEM_CHARGED: 'invoice_item',
  USAGE_RECORDED: 'invoice_item',
  DISCOUNT_APPLIED: 'invoice_item',
  TAX_CHARGED: 'taxation_item',
  PAYMENT_PROCESSED: 'payment',
  PAYMENT_FAILED: 'payment',
  PAYMENT_APPLIED: 'invoice_payment',
  REFUND_PROCESSED: 'refund',
  REFUND_FAILED: 'refund',
  CREDIT_BALANCE_INCREASED: 'credit_balance_adjustment',
  CREDIT_BALANCE_DECREASED: 'credit_balance_adjustment',
  SUBSCRIPTION_CREATED: 'subscription',
  SUBSCRIPTION_AMENDED: 'amendment',
  SUBSCRIPTION_RENEWED: 'amendment',
  SUBSCRIPTION_CANCELLED: 'amendment',
  SUBSCRIPTION_PAUSED: 'amendment',
  SUBSCRIPTION_RESUMED: 'amendment',
};

const AMENDMENT_TYPE: Partial<Record<EventType, string>> = {
  SUBSCRIPTION_AMENDED: 'UpdateProduct',
  SUBSCRIPTION_RENEWED: 'Renewal',
  SUBSCRIPTION_CANCELLED: 'Cancellation',
  SUBSCRIPTION_PAUSED: 'Suspend',
  SUBSCRIPTION_RESUMED: 'Resume',
};

/** Naive tenant-zone text; nightly (local midnight) stamps as a bare date, like Zuora's CSV exports. */
function zts(ms: number, nightly: boolean): string {
  const w = wallOf(ms, TZ);
  return nightly ? wallDate(w) : wallText(w, '.000000');
}

export const zuoraRenderer: Renderer = {
  source: 'zuora',
  format: 'csv',
  extension: 'csv',
  normalise(ev) {
    const object = OBJECT_OF[ev.eventType];
    if (!object) return null;
    // A naive wall time is read back under the policy (ambiguous → earlier instant).
    const ms = resolveWall(wallOf(ev.ms, TZ), TZ).ms;
    // Amendments and subscriptions carry no amount or currency: zero in "no currency" (XXX).
    if (object === 'amendment' || object === 'subscription') return { ...ev, object, ms, amountMinor: 0n, currency: 'XXX' };
    return { ...ev, object, ms };
  },
  header(object) {
    const cols = COLUMNS[object];
    if (!cols) throw new Error(`zuora renderer: no table ${object}`);
    return cols.join(',');
  },
  render(ev, rng) {
    const rec = zuoraRecord(ev, rng);
    return { object: ev.object, text: csvRow(COLUMNS[ev.object]!.map((c) => rec[c])) };
  },
  bad(reason, ev, rng) {
    const rec = zuoraRecord(ev, rng);
    const cols = COLUMNS[ev.object]!;
    const tsCol = tsColumnOf(ev);
    const amountCol = ev.object === 'taxation_item' ? 'tax_amount' : ev.object === 'invoice_item' ? 'charge_amount' : 'amount';
    const ccyCol = ev.object === 'payment' || ev.object === 'refund' ? 'currency' : 'transaction_currency';
    switch (reason) {
      case 'BAD_TIMESTAMP':
        rec[tsCol] = '2023-02-29 10:00:00.000000';
        break;
      case 'BAD_AMOUNT':
        rec[amountCol] = '12,50';
        break;
      case 'AMOUNT_OUT_OF_RANGE':
        rec[amountCol] = '10.1234567891';
        break;
      case 'UNKNOWN_CURRENCY':
        if (!cols.includes(ccyCol)) return null;
        rec[ccyCol] = 'ZZZ';
        break;
      case 'MISSING_ID':
        rec.id = '';
        break;
      case 'MALFORMED_RECORD':
        return { object: ev.object, text: csvRow(cols.slice(0, 3).map((c) => rec[c])) };
      case 'UNKNOWN_EVENT_TYPE':
        if (ev.object !== 'payment') return null;
        rec.status = 'Draft';
        break;
      case 'MISSING_FIELD':
        if (ev.object !== 'payment' && ev.object !== 'invoice_payment') return null;
        rec.created_date = '';
        break;
      default:
        return null;
    }
    return { object: ev.object, text: csvRow(cols.map((c) => rec[c])) };
  },
};

function tsColumnOf(ev: GenEvent): string {
  switch (ev.object) {
    case 'invoice':
      return 'posted_date';
    case 'invoice_item':
      return 'charge_date';
    case 'refund':
      return ev.eventType === 'REFUND_PROCESSED' ? 'refund_transaction_time' : 'created_date';
    case 'subscription':
      return 'original_created_date';
    default:
      return 'created_date';
  }
}

function zuoraRecord(ev: GenEvent, rng: Rng): Record<string, string> {
  const amt = (m: bigint) => majorText(m, ev.currency, ev.currency === 'JPY' ? 'trim' : anyScaleStyle(rng));
  // a wall time written in the spring-forward gap (the instant is what the policy reads it as)
  const at = ev.attrs.wall ? `${ev.attrs.wall}.000000` : zts(ev.ms, ev.nightly);
  const created = ev.nightly || ev.attrs.wall ? at : zts(ev.ms, false);
  const updated = zts(ev.ms + (ev.nightly ? 0 : 1000), false);
  const localDate = wallDate(wallOf(ev.ms, TZ));
  const r: Record<string, string> = { id: ev.recordId, _fivetran_deleted: 'FALSE', account_id: ev.accountId ?? '', created_date: created, updated_date: updated };
  switch (ev.object) {
    case 'invoice':
      Object.assign(r, { amount: amt(ev.amountMinor), balance: amt(ev.amountMinor), invoice_date: localDate, invoice_number: `INV${ev.recordId.slice(0, 8).toUpperCase()}`, posted_date: at, status: 'Posted', source: ev.nightly ? 'BillRun' : 'API', transaction_currency: ev.currency });
      break;
    case 'invoice_item': {
      const usage = ev.eventType === 'USAGE_RECORDED';
      const discount = ev.eventType === 'DISCOUNT_APPLIED';
      Object.assign(r, {
        invoice_id: ev.invoiceId ?? '',
        subscription_id: ev.subscriptionId ?? '',
        product_id: ev.productId ?? '',
        charge_name: usage ? 'Transaction Charge' : discount ? 'Discount' : 'Subscription Fee',
        charge_type: usage ? 'Usage' : discount ? 'OneTime' : 'Recurring',
        accounting_code: usage ? 'Usage Revenue' : discount ? 'Discounts' : 'Subscription Revenue',
        processing_type: discount ? '1' : '0',
        quantity: ev.attrs.quantity ?? '1',
        charge_amount: amt(ev.amountMinor),
        charge_date: at,
        service_start_date: localDate,
        transaction_currency: ev.currency,
      });
      break;
    }
    case 'taxation_item':
      Object.assign(r, { invoice_id: ev.invoiceId ?? '', subscription_id: ev.subscriptionId ?? '', name: 'VAT', jurisdiction: 'STATE', tax_rate: '0.1', tax_amount: amt(ev.amountMinor), tax_date: localDate, transaction_currency: ev.currency });
      break;
    case 'payment':
      Object.assign(r, { amount: amt(ev.eventType === 'PAYMENT_FAILED' ? BigInt(ev.attrs.attempted ?? '0') : ev.amountMinor), currency: ev.currency, effective_date: localDate, gateway_response: ev.eventType === 'PAYMENT_FAILED' ? 'Card declined' : 'Approved', payment_number: `P-${ev.recordId.slice(0, 8)}`, status: ev.eventType === 'PAYMENT_FAILED' ? 'Error' : 'Processed', type: 'Electronic' });
      break;
    case 'invoice_payment':
      Object.assign(r, { invoice_id: ev.invoiceId ?? '', payment_id: ev.attrs.payment_id ?? '', amount: amt(ev.amountMinor), transaction_currency: ev.currency });
      break;
    case 'refund':
      Object.assign(r, { amount: amt(-ev.amountMinor), currency: ev.currency, method_type: 'CreditCard', payment_id: ev.attrs.payment_id ?? '', refund_date: localDate, refund_transaction_time: at, status: ev.eventType === 'REFUND_FAILED' ? 'Error' : 'Processed', type: 'Electronic' });
      break;
    case 'credit_balance_adjustment':
      Object.assign(r, { invoice_id: ev.invoiceId ?? '', adjustment_date: localDate, amount: amt(ev.amountMinor < 0n ? -ev.amountMinor : ev.amountMinor), number: `CBA-${ev.recordId.slice(0, 8)}`, status: 'Processed', type: ev.eventType === 'CREDIT_BALANCE_INCREASED' ? 'Increase' : 'Decrease', transaction_currency: ev.currency });
      break;
    case 'amendment':
      Object.assign(r, { subscription_id: ev.subscriptionId ?? '', code: `A-AM${ev.recordId.slice(0, 8)}`, name: `${AMENDMENT_TYPE[ev.eventType]} amendment`, type: AMENDMENT_TYPE[ev.eventType]!, status: 'Completed', effective_date: localDate });
      break;
    case 'subscription':
      Object.assign(r, { name: `A-S${ev.recordId.slice(0, 8)}`, status: 'Active', original_id: ev.recordId, original_created_date: at, subscription_start_date: `${localDate} 00:00:00.000000`, version: '1' });
      break;
    default:
      throw new Error(`zuora renderer: unexpected object ${ev.object}`);
  }
  return r;
}
