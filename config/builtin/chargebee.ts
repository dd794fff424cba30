/**
 * Built-in Chargebee mapping, written in the source mapping language (docs/connectors.md).
 * Reads API list pages (`invoice.json`: `{"list":[{"invoice":{...}}, ...]}`) and JSON lines (`invoice.jsonl`: one
 * object per line, or Airbyte record messages `{"stream","data":{...},"emitted_at"}`). Epoch seconds,
 * `resource_version` in epoch milliseconds (the change marker and seqn), integer minor units, JSON inside strings.
 * Site zone Europe/London (only matters for naive values; Chargebee's epochs are UTC).
 */
import type { SourceConfigInput } from '../sources.js';

type ObjectInput = SourceConfigInput['objects'][number];

const EPOCH = ['date', 'paid_at', 'voided_at', 'updated_at', 'created_at', 'started_at', 'cancelled_at', 'pause_date', 'resume_date', 'occurred_at'];

function chargebeeObject(o: Pick<ObjectInput, 'object' | 'events'> & Partial<ObjectInput>): ObjectInput {
  return {
    formats: ['json', 'jsonl'],
    recordsPath: `list[].${o.object}`,
    recordPath: ['data', '$'],
    id: 'id',
    version: 'resource_version',
    seqn: { column: 'resource_version', kind: 'integer' },
    timestamps: Object.fromEntries(EPOCH.map((c) => [c, 'epoch_s'])),
    currency: { column: 'currency_code' },
    ...o,
    keys: { account: 'customer_id', subscription: 'subscription_id', ...o.keys },
  };
}

const SUBSCRIPTION_STATES = { in: ['active', 'in_trial', 'non_renewing', 'cancelled', 'paused', 'future'] };

export const CHARGEBEE: SourceConfigInput = {
  name: 'chargebee',
  kind: 'landing',
  description: 'Chargebee API records (list pages or JSON lines); epoch seconds, cents, resource_version change markers.',
  timezone: 'Europe/London',
  objects: [
    chargebeeObject({
      object: 'invoice',
      money: { total: { unit: 'minor' }, amount_paid: { unit: 'minor' }, write_off_amount: { unit: 'minor' } },
      keys: { invoice: 'id' },
      events: [
        // Stable per invoice: a re-read or a later version of the same invoice dedupes to this one event...
        { eventType: 'INVOICE_POSTED', when: { status: { in: ['posted', 'payment_due', 'not_paid', 'paid', 'voided'] } }, ts: 'date', amount: 'total' },
        // ...while a status change (payment_due → paid) adds the event the new state implies.
        { eventType: 'INVOICE_PAID', when: { status: 'paid' }, ts: ['paid_at', 'updated_at'], amount: 'amount_paid' },
        { eventType: 'INVOICE_VOIDED', when: { status: 'voided' }, ts: ['voided_at', 'updated_at'], amount: 'total', sign: -1 },
        { eventType: 'WRITE_OFF', when: { write_off_amount: { present: true, notIn: [0, '0'] } }, ts: 'updated_at', amount: 'write_off_amount', sign: -1 },
      ],
    }),
    chargebeeObject({
      object: 'credit_note',
      money: { total: { unit: 'minor' } },
      keys: { invoice: 'reference_invoice_id' },
      events: [
        { eventType: 'CREDIT_MEMO_POSTED', when: { status: { in: ['adjusted', 'refunded', 'refund_due', 'voided'] } }, ts: 'date', amount: 'total', sign: -1 },
        { eventType: 'INVOICE_ITEM_ADJUSTED', name: 'credit_note_voided', when: { status: 'voided' }, ts: ['voided_at', 'updated_at'], amount: 'total' },
      ],
    }),
    chargebeeObject({
      object: 'transaction',
      money: { amount: { unit: 'minor' } },
      jsonFields: ['payment_method_details'],
      events: [
        { eventType: 'PAYMENT_PROCESSED', when: { type: 'payment', status: 'success' }, ts: 'date', amount: 'amount' },
        { eventType: 'PAYMENT_FAILED', when: { type: 'payment', status: 'failure' }, ts: 'date' },
        { eventType: 'REFUND_PROCESSED', when: { type: 'refund', status: 'success' }, ts: 'date', amount: 'amount', sign: -1 },
        { eventType: 'REFUND_FAILED', when: { type: 'refund', status: 'failure' }, ts: 'date' },
        { eventType: 'CHARGEBACK_LOST', when: { type: 'payment_reversal', status: 'success' }, ts: 'date', amount: 'amount', sign: -1 },
      ],
    }),
    chargebeeObject({
      object: 'subscription',
      money: {},
      keys: { account: 'customer_id', subscription: 'id' },
      events: [
        { eventType: 'SUBSCRIPTION_CREATED', when: { status: SUBSCRIPTION_STATES }, ts: ['created_at', 'started_at'] },
        { eventType: 'SUBSCRIPTION_CANCELLED', when: { status: 'cancelled' }, ts: ['cancelled_at', 'updated_at'] },
        { eventType: 'SUBSCRIPTION_PAUSED', when: { status: 'paused' }, ts: ['pause_date', 'updated_at'] },
      ],
      // MRR (S2): Chargebee states each subscription version's monthly recurring revenue in `mrr` (cents).
      mrr: { when: { mrr: { present: true } }, version: { column: 'resource_version', kind: 'integer' }, ts: ['updated_at', 'created_at'], amount: { column: 'mrr', unit: 'minor' } },
    }),
    chargebeeObject({
      object: 'event',
      version: undefined,
      seqn: { column: 'occurred_at', kind: 'timestamp' },
      currency: { column: 'content.subscription.currency_code' },
      money: {},
      keys: { account: 'content.customer.id', subscription: 'content.subscription.id' },
      // Lifecycle events share identity with the subscription record's events, so landing both never double counts.
      events: [
        { eventType: 'SUBSCRIPTION_CREATED', when: { event_type: 'subscription_created' }, ts: 'occurred_at', identity: { object: 'subscription', id: 'content.subscription.id' } },
        { eventType: 'SUBSCRIPTION_CANCELLED', when: { event_type: 'subscription_cancelled' }, ts: 'occurred_at', identity: { object: 'subscription', id: 'content.subscription.id' } },
        { eventType: 'SUBSCRIPTION_PAUSED', when: { event_type: 'subscription_paused' }, ts: 'occurred_at', identity: { object: 'subscription', id: 'content.subscription.id' } },
        { eventType: 'SUBSCRIPTION_RESUMED', when: { event_type: 'subscription_resumed' }, ts: 'occurred_at', identity: { object: 'subscription', id: 'content.subscription.id' } },
        // a plan or quantity change: one event per change (the event's own id)
        { eventType: 'SUBSCRIPTION_AMENDED', when: { event_type: 'subscription_changed' }, ts: 'occurred_at' },
      ],
      // MRR (S2): an event's content is the subscription as it became, with its `mrr` and resource_version.
      mrr: {
        when: { 'content.subscription.mrr': { present: true } },
        subscription: 'content.subscription.id',
        version: { column: 'content.subscription.resource_version', kind: 'integer' },
        ts: 'occurred_at',
        amount: { column: 'content.subscription.mrr', unit: 'minor' },
      },
    }),
  ],
};
