/**
 * Built-in Stripe mapping, written in the source mapping language (docs/connectors.md).
 * Reads warehouse-table CSVs (`charge.csv`: naive UTC `2021-02-18 14:07:57`, `customer_id`-style columns) and
 * API objects (`charge.jsonl` one object per line, or `charge.json` as a list page `{"data":[...]}` or a single
 * object): epoch seconds, `customer`-style fields. Amounts are integer minor units, currency lower-case.
 */
import type { SourceConfigInput } from '../sources.js';

type ObjectInput = SourceConfigInput['objects'][number];

const CUSTOMER = ['customer', 'customer_id'];
const TS = { created: 'auto', arrival_date: 'auto', period_start: 'auto', period_end: 'auto', start: 'auto', effective_at: 'auto', voided_at: 'auto' } as const;

function stripeObject(o: Pick<ObjectInput, 'object' | 'events'> & Partial<ObjectInput>): ObjectInput {
  return {
    id: 'id',
    recordsPath: ['data[]', '$'],
    timestamps: { ...TS },
    currency: { column: 'currency' },
    money: { amount: { unit: 'minor' } },
    ...o,
    keys: { account: CUSTOMER, ...o.keys },
  };
}

export const STRIPE: SourceConfigInput = {
  name: 'stripe',
  kind: 'landing',
  description: 'Stripe warehouse tables (CSV, naive UTC) and API objects (JSON, epoch seconds); minor units.',
  timezone: 'UTC',
  objects: [
    stripeObject({
      object: 'charge',
      keys: { invoice: ['invoice', 'invoice_id'] },
      events: [
        { eventType: 'PAYMENT_PROCESSED', when: { status: 'succeeded' }, ts: 'created', amount: 'amount' },
        { eventType: 'PAYMENT_FAILED', when: { status: 'failed' }, ts: 'created' },
      ],
    }),
    stripeObject({
      object: 'refund',
      events: [
        { eventType: 'REFUND_PROCESSED', when: { status: 'succeeded' }, ts: 'created', amount: 'amount', sign: -1 },
        { eventType: 'REFUND_FAILED', when: { status: { in: ['failed', 'canceled'] } }, ts: 'created' },
      ],
    }),
    stripeObject({
      object: 'balance_transaction',
      money: { fee: { unit: 'minor' } },
      // Charges, refunds and payouts are their own objects; a balance transaction contributes its Stripe fee.
      events: [{ eventType: 'FEE_CHARGED', ts: 'created', amount: 'fee', sign: -1 }],
    }),
    stripeObject({
      object: 'invoice',
      timestamps: {
        ...TS,
        'status_transitions.finalized_at': 'epoch_s',
        'status_transitions.paid_at': 'epoch_s',
        'status_transitions.voided_at': 'epoch_s',
        'status_transitions.marked_uncollectible_at': 'epoch_s',
      },
      money: { total: { unit: 'minor' }, amount_paid: { unit: 'minor' }, amount_remaining: { unit: 'minor' } },
      keys: { subscription: ['subscription', 'subscription_id'], invoice: 'id' },
      events: [
        { eventType: 'INVOICE_POSTED', when: { status: { in: ['open', 'paid', 'void', 'uncollectible'] } }, ts: ['status_transitions.finalized_at', 'created', 'period_start'], amount: 'total' },
        { eventType: 'INVOICE_PAID', when: { status: 'paid' }, ts: ['status_transitions.paid_at', 'created', 'period_end'], amount: 'amount_paid' },
        { eventType: 'INVOICE_VOIDED', when: { status: 'void' }, ts: ['status_transitions.voided_at', 'created', 'period_end'], amount: 'total', sign: -1 },
        { eventType: 'WRITE_OFF', when: { status: 'uncollectible' }, ts: ['status_transitions.marked_uncollectible_at', 'created', 'period_end'], amount: 'amount_remaining', sign: -1 },
      ],
    }),
    stripeObject({
      object: 'invoice_line_item',
      timestamps: { ...TS, 'period.start': 'epoch_s' },
      keys: { invoice: ['invoice', 'invoice_id'], subscription: ['subscription', 'subscription_id'], product: ['price.product', 'plan.product', 'plan_id'] },
      events: [{ eventType: 'INVOICE_ITEM_CHARGED', ts: ['period.start', 'period_start', 'created'], amount: 'amount' }],
    }),
    stripeObject({
      object: 'credit_note',
      money: { total: { unit: 'minor' } },
      keys: { invoice: ['invoice', 'invoice_id'] },
      events: [
        { eventType: 'CREDIT_MEMO_POSTED', when: { status: { in: ['issued', 'void'] } }, ts: ['effective_at', 'created'], amount: 'total', sign: -1 },
        // A voided credit note reverses its memo: a new, positive adjustment (the memo event itself is immutable).
        { eventType: 'INVOICE_ITEM_ADJUSTED', name: 'credit_note_voided', when: { status: 'void' }, ts: ['voided_at', 'created'], amount: 'total' },
      ],
    }),
    stripeObject({
      object: 'dispute',
      events: [
        { eventType: 'CHARGEBACK_OPENED', ts: 'created' },
        { eventType: 'CHARGEBACK_WON', when: { status: 'won' }, ts: 'created' },
        { eventType: 'CHARGEBACK_LOST', when: { status: 'lost' }, ts: 'created', amount: 'amount', sign: -1 },
      ],
    }),
    stripeObject({
      object: 'payout',
      events: [{ eventType: 'PAYOUT_PAID', when: { status: { in: ['paid', 'in_transit'] } }, ts: ['arrival_date', 'created'], amount: 'amount' }],
    }),
    stripeObject({
      object: 'discount',
      currency: undefined,
      money: {},
      keys: { subscription: ['subscription', 'subscription_id'], invoice: ['invoice', 'invoice_id'] },
      // A discount is already netted into invoice totals: the event records it with amount 0.
      checks: [
        { field: 'coupon_id', notPattern: '^\\d{4}-\\d{2}-\\d{2}', reason: 'MALFORMED_RECORD', message: 'coupon_id holds a timestamp: the columns of this row are shifted' },
        { field: 'start', required: true, reason: 'MISSING_FIELD' },
      ],
      events: [{ eventType: 'DISCOUNT_APPLIED', ts: 'start' }],
    }),
  ],
};
