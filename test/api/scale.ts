/**
 * Scales the real recorded vendor objects (test/fixtures: Stripe's OpenAPI fixtures, Chargebee records from
 * Airbyte's connector tests; see their PROVENANCE files) into stand-in stores: each object is a copy of a real one
 * with its id rewritten, its times moved (every time field by the same shift, so their order is kept) and its
 * status, currency and amount taken from a fixed rotation of values the API really uses. Deterministic.
 * Also the ground truth: what the built-in mapping makes of every object the stand-in holds.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseLossless, stringify as stringifyLossless, LosslessNumber } from 'lossless-json';
import { CHARGEBEE, STRIPE } from '../../config/defaults.js';
import { parseSourceConfig } from '../../config/sources.js';
import { compileMapper } from '../../connectors/mapping/map.js';
import type { ChargebeeStore, Json, StripeStore } from './standin.js';

const FIX = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures');
const lossless = (text: string) => parseLossless(text) as Json;
const clone = <T>(o: T): T => parseLossless(stringifyLossless(o) as string) as T;
const n = (v: number | bigint) => new LosslessNumber(String(v));
const numOf = (v: unknown) => (v === null || v === undefined ? null : Number(String(v)));

function stripeFixture(name: string): Json {
  const p = ['event', 'subscription'].includes(name) ? path.join(FIX, 'api', 'stripe', `${name}.json`) : path.join(FIX, 'stripe', `${name}-api.json`);
  return lossless(readFileSync(p, 'utf8'));
}

const STRIPE_PATHS: Record<string, string> = {
  charge: '/v1/charges',
  refund: '/v1/refunds',
  balance_transaction: '/v1/balance_transactions',
  invoice: '/v1/invoices',
  credit_note: '/v1/credit_notes',
  dispute: '/v1/disputes',
  payout: '/v1/payouts',
  subscription: '/v1/subscriptions',
};
const STATUSES: Record<string, string[]> = {
  charge: ['succeeded', 'succeeded', 'failed', 'pending'],
  refund: ['succeeded', 'failed', 'pending'],
  invoice: ['paid', 'open', 'void', 'draft', 'uncollectible'],
  credit_note: ['issued', 'void'],
  dispute: ['needs_response', 'won', 'lost'],
  payout: ['paid', 'in_transit', 'failed'],
  subscription: ['active', 'canceled', 'past_due'],
};
const CURRENCIES = ['usd', 'eur', 'jpy'];
const STRIPE_TIME_FIELDS = ['created', 'arrival_date', 'period_start', 'period_end', 'effective_at', 'voided_at', 'due_date', 'available_on', 'start_date', 'current_period_start', 'current_period_end', 'billing_cycle_anchor'];

function shiftTimes(o: Json, fields: string[], delta: number): void {
  for (const f of fields) {
    const v = numOf(o[f]);
    if (v !== null && Number.isFinite(v)) o[f] = n(v + delta);
  }
}

const id36 = (k: number) => k.toString(36).padStart(5, '0');

export interface StripeScale {
  fromSec: number;
  toSec: number;
  /** objects per mapping object (invoice lines follow their invoices) */
  per: Partial<Record<keyof typeof STRIPE_PATHS, number>>;
  tag?: string;
}

export function stripeStore(o: StripeScale): StripeStore {
  const store: StripeStore = { lists: new Map(), lines: new Map(), events: [] };
  addStripe(store, o);
  return store;
}

export function addStripe(store: StripeStore, o: StripeScale): void {
  const tag = o.tag ?? 'T';
  for (const [object, count] of Object.entries(o.per)) {
    const base = stripeFixture(object);
    const lineBase = object === 'invoice' ? stripeFixture('invoice_line_item') : null;
    const list = store.lists.get(STRIPE_PATHS[object]!) ?? [];
    store.lists.set(STRIPE_PATHS[object]!, list);
    for (let k = 0; k < count!; k++) {
      const obj = clone(base);
      const prefix = String(base.id).split('_')[0];
      const id = `${prefix}_${tag}${id36(k)}`;
      const created = o.fromSec + Math.floor(((o.toSec - o.fromSec) * k) / count!);
      shiftTimes(obj, STRIPE_TIME_FIELDS, created - Number(String(base.created)));
      obj.id = id;
      const statuses = STATUSES[object];
      if (statuses) obj.status = statuses[k % statuses.length];
      if ('currency' in obj) obj.currency = CURRENCIES[k % CURRENCIES.length];
      for (const f of ['amount', 'fee', 'total', 'net']) if (obj[f] !== undefined && obj[f] !== null) obj[f] = n(Number(String(obj[f])) + 7 * k);
      if (object === 'invoice') scaleInvoice(store, obj, lineBase!, k, created);
      list.push({ id, created, obj });
    }
  }
}

function scaleInvoice(store: StripeStore, inv: Json, lineBase: Json, k: number, created: number): void {
  const total = Number(String(inv.total));
  const status = String(inv.status);
  inv.amount_paid = n(status === 'paid' ? total : 0);
  inv.amount_remaining = n(status === 'paid' || status === 'void' ? 0 : total);
  inv.status_transitions = {
    finalized_at: status === 'draft' ? null : n(created + 60),
    paid_at: status === 'paid' ? n(created + 120) : null,
    voided_at: status === 'void' ? n(created + 180) : null,
    marked_uncollectible_at: status === 'uncollectible' ? n(created + 240) : null,
  };
  const count = k % 7 === 0 ? 12 : 1 + (k % 3); // every 7th invoice has more lines than the 10 Stripe embeds
  const lines: Json[] = [];
  for (let j = 0; j < count; j++) {
    const l = clone(lineBase);
    l.id = `il_${String(inv.id).slice(3)}_${j}`;
    l.invoice = inv.id;
    l.currency = inv.currency;
    l.amount = n(Number(String(lineBase.amount)) + j);
    l.period = { start: n(created), end: n(created + 30 * 86400) };
    lines.push(l);
  }
  store.lines.set(String(inv.id), lines);
  inv.lines = { object: 'list', data: lines.slice(0, 10), has_more: lines.length > 10, total_count: n(lines.length), url: `/v1/invoices/${inv.id}/lines` };
}

/** A change after creation: the stored object takes `patch`, and an event of `type` at `atSec` carries it. */
export function stripeUpdate(store: StripeStore, object: string, id: string, patch: Json, atSec: number, type: string): void {
  const list = store.lists.get(STRIPE_PATHS[object]!)!;
  const o = list.find((x) => x.id === id);
  if (!o) throw new Error(`no ${object} ${id}`);
  Object.assign(o.obj, patch);
  const ev = clone(stripeFixture('event'));
  ev.id = `evt_${id}_${atSec}`;
  ev.created = n(atSec);
  ev.type = type;
  ev.data = { object: clone(o.obj) };
  store.events.push({ id: String(ev.id), created: atSec, obj: ev });
}

// ---- Chargebee ----

const CB_PATHS: Record<string, string> = {
  invoice: '/api/v2/invoices',
  credit_note: '/api/v2/credit_notes',
  transaction: '/api/v2/transactions',
  subscription: '/api/v2/subscriptions',
  event: '/api/v2/events',
};
const CB_MAIN_TIME: Record<string, string> = { invoice: 'date', credit_note: 'date', transaction: 'date', subscription: 'created_at', event: 'occurred_at' };
const CB_TIME_FIELDS = ['date', 'due_date', 'paid_at', 'generated_at', 'voided_at', 'updated_at', 'created_at', 'started_at', 'activated_at', 'current_term_start', 'current_term_end', 'next_billing_at', 'cancelled_at', 'trial_start', 'trial_end', 'occurred_at', 'settled_at'];

function chargebeeTemplates(object: string): Json[] {
  const page = (f: string) => (lossless(readFileSync(path.join(FIX, 'chargebee', f), 'utf8')).list as Json[]);
  const lines = (f: string) => readFileSync(path.join(FIX, 'chargebee', f), 'utf8').split('\n').filter((l) => l.trim()).map((l) => ({ [object]: lossless(l).data }) as Json);
  switch (object) {
    case 'invoice':
      return page('invoice-page.json');
    case 'subscription':
      return page('subscription-page.json');
    case 'event':
      return page('event-page.json');
    case 'credit_note':
      return lines('credit_note-airbyte.jsonl');
    case 'transaction':
      return lines('transaction-airbyte.jsonl');
    default:
      throw new Error(object);
  }
}

export interface ChargebeeScale {
  fromSec: number;
  toSec: number;
  per: Partial<Record<keyof typeof CB_PATHS, number>>;
  tag?: string;
  /** Every Nth record has no updated_at (Chargebee records never updated since 2016). */
  noUpdatedAtEvery?: number;
}

export function chargebeeStore(o: ChargebeeScale): ChargebeeStore {
  const store: ChargebeeStore = { lists: new Map() };
  addChargebee(store, o);
  return store;
}

export function addChargebee(store: ChargebeeStore, o: ChargebeeScale): void {
  const tag = o.tag ?? 'T';
  for (const [object, count] of Object.entries(o.per)) {
    const templates = chargebeeTemplates(object);
    const list = store.lists.get(CB_PATHS[object]!) ?? { key: object, entries: [] };
    store.lists.set(CB_PATHS[object]!, list);
    for (let k = 0; k < count!; k++) {
      const entry = clone(templates[k % templates.length]!);
      const r = entry[object] as Json;
      const main = CB_MAIN_TIME[object]!;
      const at = o.fromSec + Math.floor(((o.toSec - o.fromSec) * k) / count!);
      const delta = at - Number(String(r[main]));
      shiftTimes(r, CB_TIME_FIELDS, delta);
      const id = `${String(r.id)}_${tag}${id36(k)}`;
      r.id = id;
      if (object === 'event') {
        const sub = (r.content as Json | undefined)?.subscription as Json | undefined;
        if (sub) sub.id = `${String(sub.id)}_${tag}${id36(k)}`;
      }
      if (r.updated_at !== undefined) r.updated_at = n(Math.max(at, Number(String(r.updated_at))));
      if (o.noUpdatedAtEvery && k % o.noUpdatedAtEvery === 0 && object !== 'event') delete r.updated_at;
      if (r.resource_version !== undefined || object !== 'event') r.resource_version = n(BigInt(numOf(r.updated_at) ?? at) * 1000n + BigInt(k % 1000));
      list.entries.push({ id, entry });
    }
  }
}

/** A Chargebee change: the record takes `patch` and a new updated_at / resource_version. */
export function chargebeeUpdate(store: ChargebeeStore, object: string, id: string, patch: Json, atSec: number): void {
  const list = store.lists.get(CB_PATHS[object]!)!;
  const e = list.entries.find((x) => x.id === id);
  if (!e) throw new Error(`no ${object} ${id}`);
  const r = e.entry[object] as Json;
  Object.assign(r, patch, { updated_at: n(atSec), resource_version: n(BigInt(atSec) * 1000n) });
}

// ---- ground truth ----

export interface Truth {
  eventIds: Set<string>;
  /** record ids that map to no event (quarantine) */
  quarantined: Set<string>;
  records: number;
}

function truthOf(source: 'stripe' | 'chargebee', records: { object: string; data: Json }[]): Truth {
  const map = compileMapper(parseSourceConfig(source === 'stripe' ? STRIPE : CHARGEBEE, source));
  const t: Truth = { eventIds: new Set(), quarantined: new Set(), records: 0 };
  for (const r of records) {
    t.records++;
    const res = map({ object: r.object, data: r.data, location: { file: 'truth', position: 0 } }, { ingestRunId: 'truth' });
    if (Array.isArray(res)) for (const e of res) t.eventIds.add(e.eventId);
    else t.quarantined.add(`${r.object}:${String(r.data.id)}`);
  }
  return t;
}

/** What the Stripe mapping makes of the objects the stand-in holds (created in [fromSec, toSec) when given). */
export function stripeTruth(store: StripeStore, objects: string[], range?: { fromSec: number; toSec: number }): Truth {
  const recs: { object: string; data: Json }[] = [];
  for (const object of objects) {
    if (object === 'invoice_line_item') continue;
    for (const o of store.lists.get(STRIPE_PATHS[object]!) ?? []) {
      if (range && (o.created < range.fromSec || o.created >= range.toSec)) continue;
      recs.push({ object, data: o.obj });
      if (object === 'invoice' && objects.includes('invoice_line_item')) for (const l of store.lines.get(o.id) ?? []) recs.push({ object: 'invoice_line_item', data: l });
    }
  }
  return truthOf('stripe', recs);
}

export function chargebeeTruth(store: ChargebeeStore, objects: string[]): Truth {
  const recs: { object: string; data: Json }[] = [];
  for (const object of objects) for (const e of store.lists.get(CB_PATHS[object]!)?.entries ?? []) recs.push({ object, data: e.entry[object] as Json });
  return truthOf('chargebee', recs);
}
