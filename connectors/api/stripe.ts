/**
 * Stripe adapter, through the official SDK (`stripe`, pinned). Lists are newest first and paginate with
 * `starting_after=<last id>` while `has_more`; `created[gte]`/`created[lt]` select a creation range; limit ≤ 100.
 * - Invoice lines come embedded in each invoice (`lines`, up to 10); when `lines.has_more` the rest are paged from
 *   `/v1/invoices/:id/lines`. Embedded lines are landed as `invoice_line_item-<n>.json` list pages cut losslessly
 *   from the invoice page (their lineage names the invoice page they came from).
 * - Changes after creation: `/v1/events` over the pulled range; each event's `data.object` (the object as it is
 *   after the change) is landed in `<object>-changes-<n>.json`, the raw event page in `_api/event-<n>.json`.
 *   Stripe keeps events 30 days: older ranges are skipped, and the objects listed by creation time (which carry
 *   their current state) stand in for them.
 * The SDK's retries are off (maxNetworkRetries 0; it ignores Retry-After and does not retry 429): callApi retries.
 */
import Stripe from 'stripe';
import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { RetriableError } from '../../events/errors.js';
import { vendorRequest, type Recorder } from './http.js';
import { pageNo, type PageWriter } from './land.js';
import type { ListingResult, PullContext, TimeRange, VendorAdapter } from './types.js';

type ListParams = { created?: { gte: number; lt: number }; limit: number; starting_after?: string; status?: string };
type Page = { data: { id: string }[]; has_more: boolean };

interface StripeList {
  path: string;
  list(s: Stripe, p: ListParams): Promise<Page>;
  /** Extra filters needed to see every object (subscriptions: status=all, else canceled ones are hidden). */
  extra?: Partial<ListParams>;
}

/** Mapping object → list endpoint. */
export const STRIPE_LISTS: Record<string, StripeList> = {
  charge: { path: '/v1/charges', list: (s, p) => s.charges.list(p) },
  refund: { path: '/v1/refunds', list: (s, p) => s.refunds.list(p) },
  balance_transaction: { path: '/v1/balance_transactions', list: (s, p) => s.balanceTransactions.list(p) },
  invoice: { path: '/v1/invoices', list: (s, p) => s.invoices.list(p as Stripe.InvoiceListParams) },
  credit_note: { path: '/v1/credit_notes', list: (s, p) => s.creditNotes.list(p) },
  dispute: { path: '/v1/disputes', list: (s, p) => s.disputes.list(p) },
  payout: { path: '/v1/payouts', list: (s, p) => s.payouts.list(p) },
  subscription: { path: '/v1/subscriptions', list: (s, p) => s.subscriptions.list(p as Stripe.SubscriptionListParams), extra: { status: 'all' } },
};

/** `data.object.object` of an event → mapping object. */
const EVENT_OBJECTS: Record<string, string> = {
  charge: 'charge',
  refund: 'refund',
  invoice: 'invoice',
  credit_note: 'credit_note',
  dispute: 'dispute',
  payout: 'payout',
  subscription: 'subscription',
  balance_transaction: 'balance_transaction',
};

export interface StripeAdapterOptions {
  apiKey: string;
  baseUrl?: string;
  pageSize: number;
  timeoutMs: number;
  eventRetentionDays: number;
  recorder: Recorder;
  scrub: (s: string) => string;
}

const sec = (ms: number) => Math.floor(ms / 1000);
const DAY_MS = 86_400_000;

export function stripeClient(o: Pick<StripeAdapterOptions, 'apiKey' | 'baseUrl' | 'timeoutMs' | 'recorder'>): Stripe {
  const base = new URL(o.baseUrl ?? 'https://api.stripe.com');
  return new Stripe(o.apiKey, {
    host: base.hostname,
    port: base.port ? Number(base.port) : base.protocol === 'http:' ? 80 : 443,
    protocol: base.protocol === 'http:' ? 'http' : 'https',
    maxNetworkRetries: 0,
    timeout: o.timeoutMs,
    telemetry: false,
    httpClient: Stripe.createFetchHttpClient(o.recorder.fetch),
  });
}

export function stripeAdapter(o: StripeAdapterOptions): VendorAdapter {
  const s = stripeClient(o);
  const hint = 'Check the Stripe key (STRIPE_API_KEY or pull.<source>.apiKey): a secret key (sk_…) or a restricted key (rk_…) with read access to this resource.';
  const call = vendorRequest({ recorder: o.recorder, scrub: o.scrub, authHint: hint });

  /** Pages through one list, yielding each page's exact text and parsed value (one page in memory at a time). */
  async function* pageThrough(spec: StripeList, params: Omit<ListParams, 'limit'>, ctx: PullContext, startAfter?: string): AsyncGenerator<{ text: string; page: Page }> {
    let after = startAfter;
    for (;;) {
      const p: ListParams = { ...spec.extra, ...params, limit: o.pageSize, ...(after ? { starting_after: after } : {}) };
      const what = `GET ${spec.path}${p.created ? ` created[gte]=${p.created.gte} created[lt]=${p.created.lt}` : ''}${after ? ` starting_after=${after}` : ''}`;
      const { value, response } = await call(what, () => spec.list(s, p), ctx);
      yield { text: response.text, page: value };
      if (!value.has_more) return;
      const last = value.data.at(-1)?.id;
      if (!last || last === after) throw new RetriableError(`${what}: has_more is true but the page gives no new cursor; the listing cannot continue`);
      after = last;
    }
  }

  async function landLines(invoicePageText: string, invoicePath: string, writer: PageWriter, ctx: PullContext, kind: string): Promise<ListingResult> {
    const out = { pages: 0, records: 0 };
    const doc = parseLossless(invoicePageText) as { data?: { id: string; lines?: { data?: unknown[]; has_more?: boolean } }[] };
    const embedded: unknown[] = [];
    const more: { id: string; after: string }[] = [];
    for (const inv of doc.data ?? []) {
      const lines = inv.lines?.data ?? [];
      embedded.push(...lines);
      const last = (lines.at(-1) as { id?: string } | undefined)?.id;
      if (inv.lines?.has_more && last) more.push({ id: String(inv.id), after: last });
    }
    if (embedded.length) {
      const text = stringifyLossless({ object: 'list', url: invoicePath, has_more: false, data: embedded }) as string;
      await writer.page('invoice_line_item', `${kind}${pageNo(writer.next(`invoice_line_item/${kind}`))}`, text, embedded.length);
      out.pages++;
      out.records += embedded.length;
    }
    for (const m of more) {
      // the embedded lines are the first ones: page on from the last of them
      const spec: StripeList = { path: `/v1/invoices/${m.id}/lines`, list: (c, p) => c.invoices.listLineItems(m.id, p) };
      for await (const { text, page } of pageThrough(spec, {}, ctx, m.after)) {
        await writer.page('invoice_line_item', `${kind}${pageNo(writer.next(`invoice_line_item/${kind}`))}`, text, page.data.length);
        out.pages++;
        out.records += page.data.length;
      }
    }
    return out;
  }

  return {
    vendor: 'stripe',
    listable: Object.keys(STRIPE_LISTS),
    derived: { invoice_line_item: 'invoice' },
    get requests() {
      return o.recorder.requests;
    },
    async listCreated(object, range, kind, writer, ctx) {
      const spec = STRIPE_LISTS[object];
      if (!spec) throw new Error(`stripe: no list endpoint for "${object}"`);
      const out = { pages: 0, records: 0 };
      const prefix = kind === 'audit' ? 'audit-' : '';
      for await (const { text, page } of pageThrough(spec, { created: { gte: sec(range.fromMs), lt: sec(range.toMs) } }, ctx)) {
        const landed = await writer.page(object, `${prefix}${pageNo(writer.next(`${object}/${kind}`))}`, text, page.data.length);
        out.pages++;
        out.records += page.data.length;
        if (object === 'invoice' && ctx.wants('invoice_line_item')) {
          const l = await landLines(text, landed.path, writer, ctx, prefix);
          out.pages += l.pages;
          out.records += l.records;
        }
      }
      return out;
    },
    async listChanges(objects, range, writer, ctx) {
      const floor = ctx.nowMs - o.eventRetentionDays * DAY_MS + 3_600_000; // an hour of margin before Stripe drops them
      const from = Math.max(range.fromMs, floor);
      if (from >= range.toMs) {
        return { pages: 0, records: 0, note: `events of ${new Date(range.fromMs).toISOString()}…${new Date(range.toMs).toISOString()} are older than Stripe keeps them (${o.eventRetentionDays} days): the objects listed by creation time carry their current state instead` };
      }
      const wanted = new Set(objects);
      const out = { pages: 0, records: 0 };
      const spec: StripeList = { path: '/v1/events', list: (c, p) => c.events.list(p) };
      for await (const { text } of pageThrough(spec, { created: { gte: sec(from), lt: sec(range.toMs) } }, ctx)) {
        const n = writer.next('event/changes');
        const raw = await writer.archive(`event-${pageNo(n)}`, text);
        const doc = parseLossless(text) as { data?: { id: string; type?: string; data?: { object?: { object?: string } } }[] };
        const by = new Map<string, unknown[]>();
        for (const ev of doc.data ?? []) {
          const obj = ev.data?.object;
          const target = obj && typeof obj.object === 'string' ? EVENT_OBJECTS[obj.object] : undefined;
          if (!target || !wanted.has(target)) continue; // an event about an object this source does not map
          (by.get(target) ?? by.set(target, []).get(target)!).push(obj);
        }
        out.pages++;
        for (const [object, data] of by) {
          const body = stringifyLossless({ object: 'list', url: '/v1/events', source_page: raw, has_more: false, data }) as string;
          await writer.page(object, `changes-${pageNo(n)}`, body, data.length);
          out.records += data.length;
        }
      }
      return out;
    },
    async *pagesCreated(object, range, ctx) {
      const spec = STRIPE_LISTS[object];
      if (!spec) return;
      for await (const { text } of pageThrough(spec, { created: { gte: sec(range.fromMs), lt: sec(range.toMs) } }, ctx)) yield { object, text };
    },
  };
}
