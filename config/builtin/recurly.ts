/**
 * The built-in Recurly source: the tables of Fivetran's Recurly connector, mapped in the configuration language
 * only (it is the proof that the language is enough). The definition is plain YAML text, exactly what a data
 * engineer would put in a file of their own (test/fixtures/recurly/recurly.yaml is the same text; a test keeps
 * them identical). Golden tests on Fivetran's public sample rows: test/connectors/golden.test.ts.
 */
import YAML from 'yaml';
import type { SourceConfigInput } from '../sources.js';

export const RECURLY_YAML = `# Recurly, as Fivetran's Recurly connector lands it: one table per object, exported one CSV per table named after
# the table (transaction.csv, invoice_history.csv, ...). Fivetran conventions: the connector's documented column
# names, naive datetimes in UTC, decimal amounts in major units ("99.0"), \`_fivetran_synced\` on every row, and
# \`*_history\` tables holding one row per version of a record (primary key id + updated_at).
# Written in the mapping language only (docs/connectors.md): nothing in code knows about Recurly.
name: recurly
kind: landing
description: Recurly through Fivetran (connector tables as CSV; naive UTC; decimal major units; *_history = one row per version)
timezone: UTC
eventTypes:
  PAYMENT_VOIDED:
    sign: negative
    description: a successful payment voided before it settled (Recurly transaction status void); reverses its PAYMENT_PROCESSED
  CREDIT_PAYMENT_VOIDED:
    sign: any
    description: a credit payment (account credit applied or returned) that was voided; reverses the event it implied
objects:
  - object: transaction                       # not a history table: one row per transaction, re-synced on change
    formats: [csv]
    id: id
    version: status
    seqn: { column: _fivetran_synced, kind: timestamp }
    currency: { column: currency }
    money:
      amount: { unit: major, scale: 2 }
    keys: { account: account_id, invoice: invoice_id }
    columns: [_fivetran_synced, id, created_at, voided_at, collected_at, original_transaction_id, account_id, invoice_id,
      voided_by_invoice_id, uuid, type, origin, currency, amount, status, success, refunded, billing_first_name,
      billing_last_name, billing_phone, billing_street_1, billing_street_2, billing_city, billing_region,
      billing_postal_code, billing_country, collection_method, payment_method_object, status_code, status_message,
      customer_message, customer_message_locale, gateway_message, gateway_reference, gateway_approval_code,
      gateway_response_code, gateway_response_time, payment_gateway_id, payment_gateway_name, gateway_response_values]
    skip:
      - name: card_verification
        when: { type: verify }
        description: a card check (usually 0.00, success or declined); no money is owed or moved
      - name: authorization
        when: { type: authorization }
        description: a hold on the card; the capture that follows is the payment
    events:
      - { eventType: PAYMENT_PROCESSED, when: { type: [purchase, capture, payment], status: [success, void, chargeback] }, ts: created_at, amount: amount }
      - { eventType: PAYMENT_VOIDED, when: { type: [purchase, capture, payment], status: void }, ts: [voided_at, created_at], amount: amount, sign: -1 }
      - { eventType: CHARGEBACK_LOST, when: { type: [purchase, capture, payment], status: chargeback }, ts: [collected_at, created_at], amount: amount, sign: -1 }
      - { eventType: PAYMENT_FAILED, when: { type: [purchase, capture, payment], status: [declined, error] }, ts: created_at }
      - { eventType: REFUND_PROCESSED, when: { type: refund, status: success }, ts: created_at, amount: amount, sign: -1 }
      - { eventType: REFUND_FAILED, when: { type: refund, status: [declined, error, void] }, ts: created_at }
  - object: invoice_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    currency: { column: currency }
    money:
      total: { unit: major, scale: 2 }
      paid: { unit: major, scale: 2 }
    keys: { account: account_id, invoice: id }
    columns: [_fivetran_synced, id, created_at, updated_at, due_at, closed_at, account_id, previous_invoice_id, type,
      origin, state, number, collection_method, po_number, net_terms, currency, balance, paid, total, subtotal,
      refundable_amount, discount, tax, tax_type, tax_region, tax_rate]
    skip:
      - name: not_yet_posted
        when: { state: [pending, processing] }
        description: an invoice still being built; its posted version is a later row of the history
    events:
      # charge invoices (and pre-2018 legacy ones): posted once, paid once, voided once, whatever versions repeat
      - { eventType: INVOICE_POSTED, when: { type: [charge, legacy], state: [open, past_due, paid, failed, closed, voided] }, ts: created_at, amount: total }
      - { eventType: INVOICE_PAID, when: { type: [charge, legacy], state: [paid, closed] }, ts: [closed_at, created_at], amount: paid }
      - { eventType: INVOICE_VOIDED, when: { type: [charge, legacy], state: voided }, ts: [closed_at, created_at], amount: total, sign: -1 }
      # credit invoices: a credit memo, negative whichever sign the total is written with
      - { eventType: CREDIT_MEMO_POSTED, when: { type: credit, total: { lte: 0 } }, ts: created_at, amount: total }
      - { eventType: CREDIT_MEMO_POSTED, name: credit_invoice_positive, when: { type: credit, total: { gt: 0 } }, ts: created_at, amount: total, sign: -1 }
  - object: line_item_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    currency: { column: currency }
    money:
      subtotal: { unit: major }
      discount: { unit: major }
      tax: { unit: major }
    keys: { account: account_id, invoice: invoice_id, subscription: subscription_id, product: [plan_id, product_code] }
    columns: [_fivetran_synced, id, created_at, updated_at, account_id, plan_id, add_on_id, invoice_id,
      previous_line_item_id, original_line_item_invoice_id, subscription_id, uuid, type, state, plan_code, add_on_code,
      invoice_number, origin, product_code, currency, amount, description, quantity, unit_amount, subtotal, discount,
      tax, taxable, tax_exempt, tax_code, tax_type, tax_region, tax_rate, proration_rate, refund, refunded_quantity,
      credit_applied, start_date, end_date]
    skip:
      - name: pending_line_item
        when: { state: pending }
        description: not on an invoice yet; its invoiced version is a later row of the history
    events:
      # subtotal (quantity × unit amount) − discount + tax = the line's share of the invoice total
      - { eventType: INVOICE_ITEM_CHARGED, when: { type: charge, state: invoiced }, ts: [start_date, created_at], amount: subtotal }
      - { eventType: INVOICE_ITEM_ADJUSTED, name: credit_line_item, when: { type: credit, state: invoiced }, ts: [start_date, created_at], amount: subtotal }
      - { eventType: DISCOUNT_APPLIED, when: { state: invoiced, discount: { ne: 0 } }, ts: [start_date, created_at], amount: discount, sign: -1 }
      - { eventType: TAX_CHARGED, when: { state: invoiced, tax: { ne: 0 } }, ts: [start_date, created_at], amount: tax }
  - object: subscription_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    currency: { column: currency }
    keys: { account: account_id, subscription: id, product: plan_id }
    columns: [_fivetran_synced, id, created_at, updated_at, activated_at, canceled_at, expires_at, account_id, plan_id,
      object, uuid, state, current_period_started_at, current_period_ends_at, current_term_started_at,
      current_term_ends_at, trial_started_at, trial_ends_at, remaining_billing_cycles, total_billing_cycles,
      renewal_billing_cycles, auto_renew, paused_at, remaining_pause_cycles, currency, unit_amount, quantity,
      add_ons_total, subtotal, collection_method, expiration_reason, started_with_gift]
    skip:
      - name: not_started
        when: { state: [future, pending, failed] }
        description: a subscription that has not started (future start, pending purchase, failed sign-up)
    events:
      - { eventType: SUBSCRIPTION_CREATED, when: { activated_at: { present: true } }, ts: activated_at }
      # a new billing period is a renewal (one per period start, however many versions repeat it); the first is not
      - eventType: SUBSCRIPTION_RENEWED
        when: { state: active, current_period_started_at: { present: true, not: { column: activated_at } } }
        ts: current_period_started_at
        changeMarker: current_period_started_at
      - { eventType: SUBSCRIPTION_CANCELLED, when: { state: [canceled, expired] }, ts: [canceled_at, expires_at] }
      - { eventType: SUBSCRIPTION_PAUSED, when: { state: paused }, ts: paused_at, changeMarker: paused_at }
  - object: subscription_change_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    keys: { subscription: subscription_id, product: plan_id }
    columns: [_fivetran_synced, id, updated_at, plan_id, subscription_id, object, unit_amount, quantity, activate_at,
      activated, created_at, deleted_at]
    skip:
      - name: change_not_applied
        when: { activated: { not: 'true' } }
        description: a scheduled plan/quantity change not applied (yet, or deleted before it was)
    events:
      - { eventType: SUBSCRIPTION_AMENDED, when: { activated: 'true' }, ts: [activate_at, updated_at] }
  - object: credit_payment_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    currency: { column: currency }
    money:
      amount: { unit: major, scale: 2 }
    keys: { account: account_id, invoice: applied_to_invoice_id }
    columns: [_fivetran_synced, id, updated_at, account_id, applied_to_invoice_id, original_invoice_id,
      refund_transaction_id, original_credit_payment_id, uuid, action, currency, amount, created_at, voided_at]
    events:
      # account credit applied to an invoice settles it like a payment
      - { eventType: PAYMENT_APPLIED, name: credit_applied, when: { action: payment }, ts: created_at, amount: amount }
      # credit leaving the balance without paying an invoice (the refund's money movement is its transaction)
      - { eventType: CREDIT_BALANCE_DECREASED, when: { action: [refund, reduction, write_off] }, ts: created_at, amount: amount, sign: -1 }
      - { eventType: CREDIT_PAYMENT_VOIDED, name: credit_applied_voided, when: { action: payment, voided_at: { present: true } }, ts: voided_at, amount: amount, sign: -1 }
      - { eventType: CREDIT_PAYMENT_VOIDED, name: credit_decrease_voided, when: { action: [refund, reduction, write_off], voided_at: { present: true } }, ts: voided_at, amount: amount }
  - object: account_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    keys: { account: id }
    columns: [_fivetran_synced, id, created_at, updated_at, deleted_at, code, bill_to, state, username,
      account_first_name, account_last_name, first_name, last_name, email, cc_emails, company, vat_number, tax_exempt,
      account_country]
    events:
      - { eventType: ACCOUNT_CREATED, ts: created_at }
  - object: plan_history
    formats: [csv]
    history: true
    id: id
    version: updated_at
    seqn: { column: updated_at, kind: timestamp }
    columns: [_fivetran_synced, id, created_at, updated_at, deleted_at, code, state, name, description, interval_unit,
      interval_length, trial_unit, trial_length, total_billing_cycles, auto_renew, accounting_code,
      setup_fee_accounting_code, tax_code, tax_exempt]
    skip:
      - name: plan_catalog
        when: { id: { present: true } }
        description: the plan catalogue (a dimension, not a billing event); loaded for completeness of the export only
`;

export const RECURLY: SourceConfigInput = YAML.parse(RECURLY_YAML) as SourceConfigInput;
