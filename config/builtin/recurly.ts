/**
 * The Recurly demo source: a config-only source. Its definition is plain YAML text, exactly what a data engineer
 * would put in a config file; nothing in code knows about Recurly. (test/fixtures/recurly/recurly.yaml is the
 * same text; a test keeps them identical.)
 */
import YAML from 'yaml';
import type { SourceConfigInput } from '../sources.js';

export const RECURLY_YAML = `# A config-only billing source: Recurly-style CSV exports, onboarded with configuration alone.
# Naive datetimes are in the site's zone; amounts are decimals in major units written like "99.0".
name: recurly
kind: landing
description: Recurly exports (CSV, site zone America/Los_Angeles, decimal major units)
timezone: America/Los_Angeles
objects:
  - object: invoices                 # landing files invoices.csv, invoices-<suffix>.csv, invoices.csv.gz
    formats: [csv]
    id: invoice_number
    version: state                   # the change marker: a new state is a new version
    timestamps:
      created_at: auto               # 2024-01-03 10:15:00 (naive, site zone)
      closed_at: auto
    currency: { column: currency }
    money:
      total: { unit: major, scale: 2 }
    keys: { account: account_code, subscription: subscription_uuid, invoice: invoice_number }
    events:
      - eventType: INVOICE_POSTED
        when: { state: { in: [open, past_due, paid, failed, voided] } }
        ts: created_at
        amount: total
      - eventType: INVOICE_PAID
        when: { state: paid }
        ts: [closed_at, created_at]
        amount: total
      - eventType: INVOICE_VOIDED
        when: { state: voided }
        ts: [closed_at, created_at]
        amount: total
        sign: -1
  - object: transactions
    formats: [csv]
    id: uuid
    timestamps:
      date: iso
    currency: { column: currency }
    money:
      amount: { unit: major, scale: 2 }
    keys: { account: account_code, invoice: invoice_number, subscription: subscription_uuid }
    checks:
      - { field: uuid, pattern: '^[0-9a-f]{32}$', reason: MISSING_ID, message: 'uuid must be 32 hex characters' }
    events:
      - { eventType: PAYMENT_PROCESSED, when: { type: [purchase, capture], status: success }, ts: date, amount: amount }
      - { eventType: PAYMENT_FAILED, when: { type: [purchase, capture], status: declined }, ts: date }
      - { eventType: REFUND_PROCESSED, when: { type: refund, status: success }, ts: date, amount: amount, sign: -1 }
      - { eventType: REFUND_FAILED, when: { type: refund, status: declined }, ts: date }
  - object: subscriptions
    formats: [csv]
    id: uuid
    version: state
    timestamps:
      activated_at: us-date          # 01/03/2024 10:15:00 (month first, site zone)
      canceled_at: us-date
      paused_at: us-date
    keys: { account: account_code, subscription: uuid, product: plan_code }
    events:
      - { eventType: SUBSCRIPTION_CREATED, ts: activated_at }
      - { eventType: SUBSCRIPTION_CANCELLED, when: { state: [canceled, expired] }, ts: [canceled_at, activated_at] }
      - { eventType: SUBSCRIPTION_PAUSED, when: { state: paused }, ts: [paused_at, activated_at] }
`;

export const RECURLY: SourceConfigInput = YAML.parse(RECURLY_YAML) as SourceConfigInput;
