/**
 * Built-in Zuora mapping, written in the source mapping language (docs/connectors.md).
 * Reads warehouse-table CSVs (`invoice_item.csv`: snake_case columns, naive `2016-01-15 22:30:00.000000` in the
 * tenant zone, date-only midnights) and Data Query / API exports (`invoice_item.jsonl`: lower-case columns such as
 * `createddate`, ISO 8601 with offset). Amounts are major units with any scale.
 */
import type { SourceConfigInput } from '../sources.js';

type ObjectInput = SourceConfigInput['objects'][number];

/** Columns shared by every Zuora table, in both shapes (warehouse snake_case, Data Query lower-case). */
const CREATED = ['created_date', 'createddate', 'CreatedDate'];
const UPDATED = ['updated_date', 'updateddate', 'UpdatedDate'];
const ACCOUNT = ['account_id', 'accountid', 'AccountId'];
const CURRENCY = { column: ['transaction_currency', 'transactioncurrency', 'currency', 'Currency'] };

function zuoraObject(o: Pick<ObjectInput, 'object' | 'events' | 'money'> & Partial<ObjectInput>): ObjectInput {
  return {
    id: ['id', 'Id'],
    recordPath: ['data', '$'],
    version: UPDATED,
    seqn: { column: UPDATED, kind: 'timestamp' },
    timestamps: Object.fromEntries([...CREATED, ...UPDATED].map((c) => [c, 'auto'])),
    currency: CURRENCY,
    ...o,
    keys: { account: ACCOUNT, ...o.keys },
  };
}

export const ZUORA: SourceConfigInput = {
  name: 'zuora',
  kind: 'landing',
  description: 'Zuora warehouse tables (CSV) and Data Query/API exports (JSON lines); tenant zone America/Los_Angeles.',
  timezone: 'America/Los_Angeles',
  objects: [
    zuoraObject({
      object: 'account',
      currency: { column: ['currency', 'Currency'] },
      money: {},
      keys: { account: ['id', 'Id'] },
      events: [{ eventType: 'ACCOUNT_CREATED', ts: CREATED }],
    }),
    zuoraObject({
      object: 'invoice',
      money: { amount: { unit: 'major' } },
      keys: { invoice: ['id', 'Id'] },
      events: [{ eventType: 'INVOICE_POSTED', when: { status: 'Posted' }, ts: ['posted_date', 'posteddate', ...CREATED], amount: 'amount' }],
    }),
    zuoraObject({
      object: 'invoice_item',
      money: { charge_amount: { column: ['charge_amount', 'chargeamount'], unit: 'major' } },
      keys: { subscription: ['subscription_id', 'subscriptionid'], invoice: ['invoice_id', 'invoiceid'], product: ['product_id', 'productid'] },
      events: [
        {
          eventType: 'USAGE_RECORDED',
          when: [{ charge_type: 'Usage' }, { chargetype: 'Usage' }, { accounting_code: { matches: 'usage' } }],
          ts: ['charge_date', 'chargedate', ...CREATED],
          amount: 'charge_amount',
        },
        {
          eventType: 'DISCOUNT_APPLIED',
          when: [{ processing_type: '1' }, { processingtype: '1' }],
          unless: [{ charge_type: 'Usage' }, { chargetype: 'Usage' }, { accounting_code: { matches: 'usage' } }],
          ts: ['charge_date', 'chargedate', ...CREATED],
          amount: 'charge_amount',
        },
        {
          eventType: 'INVOICE_ITEM_CHARGED',
          unless: [{ charge_type: 'Usage' }, { chargetype: 'Usage' }, { accounting_code: { matches: 'usage' } }, { processing_type: '1' }, { processingtype: '1' }],
          ts: ['charge_date', 'chargedate', ...CREATED],
          amount: 'charge_amount',
        },
      ],
    }),
    zuoraObject({
      object: 'invoice_payment',
      money: { amount: { unit: 'major' } },
      keys: { invoice: ['invoice_id', 'invoiceid'] },
      events: [{ eventType: 'PAYMENT_APPLIED', ts: CREATED, amount: 'amount' }],
    }),
    zuoraObject({
      object: 'payment',
      money: { amount: { unit: 'major' } },
      events: [
        { eventType: 'PAYMENT_PROCESSED', when: { status: 'Processed' }, ts: CREATED, amount: 'amount' },
        { eventType: 'PAYMENT_FAILED', when: { status: 'Error' }, ts: CREATED },
      ],
    }),
    zuoraObject({
      object: 'refund',
      // Zuora refund rows carry no currency column: the tenant's home currency applies unless the export adds one.
      currency: { column: ['currency', 'transaction_currency', 'Currency'], default: 'USD' },
      money: { amount: { unit: 'major' } },
      events: [
        { eventType: 'REFUND_PROCESSED', when: { status: 'Processed' }, ts: ['refund_transaction_time', ...CREATED], amount: 'amount', sign: -1 },
        { eventType: 'REFUND_FAILED', when: { status: { in: ['Error', 'Canceled'] } }, ts: CREATED },
      ],
    }),
    zuoraObject({
      object: 'credit_balance_adjustment',
      money: { amount: { unit: 'major' } },
      keys: { invoice: ['invoice_id', 'invoiceid'] },
      events: [
        { eventType: 'CREDIT_BALANCE_INCREASED', when: { status: 'Processed', type: 'Increase' }, ts: CREATED, amount: 'amount' },
        { eventType: 'CREDIT_BALANCE_DECREASED', when: { status: 'Processed', type: 'Decrease' }, ts: CREATED, amount: 'amount', sign: -1 },
      ],
    }),
    zuoraObject({
      object: 'taxation_item',
      money: { tax_amount: { column: ['tax_amount', 'taxamount'], unit: 'major' } },
      keys: { subscription: ['subscription_id', 'subscriptionid'], invoice: ['invoice_id', 'invoiceid'], product: ['product_id', 'productid'] },
      events: [{ eventType: 'TAX_CHARGED', ts: CREATED, amount: 'tax_amount' }],
    }),
    zuoraObject({
      object: 'amendment',
      currency: undefined,
      money: {},
      keys: { account: ACCOUNT, subscription: ['subscription_id', 'subscriptionid'] },
      events: [
        { eventType: 'SUBSCRIPTION_RENEWED', when: { status: 'Completed', type: 'Renewal' }, ts: CREATED },
        { eventType: 'SUBSCRIPTION_CANCELLED', when: { status: 'Completed', type: 'Cancellation' }, ts: CREATED },
        { eventType: 'SUBSCRIPTION_PAUSED', when: { status: 'Completed', type: 'Suspend' }, ts: CREATED },
        { eventType: 'SUBSCRIPTION_RESUMED', when: { status: 'Completed', type: 'Resume' }, ts: CREATED },
        {
          eventType: 'SUBSCRIPTION_AMENDED',
          when: { status: 'Completed', type: { in: ['NewProduct', 'RemoveProduct', 'UpdateProduct', 'TermsAndConditions', 'Composite', 'OwnerTransfer'] } },
          ts: CREATED,
        },
      ],
    }),
    zuoraObject({
      object: 'subscription',
      currency: undefined,
      money: {},
      keys: { account: ACCOUNT, subscription: ['id', 'Id'] },
      events: [
        // Every version row of a subscription shares one SUBSCRIPTION_CREATED identity (the original subscription).
        {
          eventType: 'SUBSCRIPTION_CREATED',
          unless: { status: { in: ['Draft', 'Pending Activation', 'Pending Acceptance'] } },
          ts: ['original_created_date', 'originalcreateddate', ...CREATED],
          identity: { id: ['original_id', 'originalid', 'id', 'Id'] },
        },
      ],
    }),
  ],
};
