/**
 * Chargebee adapter, through the official SDK (`chargebee` v3, pinned). Lists paginate with `offset` = the
 * previous page's `next_offset` (opaque) until a page has none; `limit` ≤ 100; filters `<field>[between]` are
 * inclusive epoch seconds. Creation listings filter on `date` (invoices, credit notes, transactions),
 * `created_at` (subscriptions) or `occurred_at` (events); changes list `updated_at[between]` over the same range.
 * Chargebee records never updated since 2016 have no `updated_at`, so an updated_at filter silently misses them:
 * the daily audit pass (pull.ts) lists by creation date again for that reason.
 * The SDK's retries are off (retryConfig.enabled false); its HTTP client is ours so the exact page text, status and
 * Retry-After are seen (http.ts), and so `baseUrl` can point at a stand-in.
 */
import Chargebee from 'chargebee';
import { RetriableError } from '../../events/errors.js';
import { vendorRequest, type Recorder } from './http.js';
import { pageNo, type PageWriter } from './land.js';
import type { ListingResult, PullContext, TimeRange, VendorAdapter } from './types.js';

type Params = Record<string, unknown> & { limit: number; offset?: string };
type Page = { list: unknown[]; next_offset?: string };

interface CbList {
  path: string;
  /** Creation-time filter field. */
  created: string;
  /** Whether `updated_at` filters this list. */
  updates: boolean;
  list(cb: Chargebee, p: Params): Promise<Page>;
}

/** Mapping object → list endpoint. */
export const CHARGEBEE_LISTS: Record<string, CbList> = {
  invoice: { path: '/api/v2/invoices', created: 'date', updates: true, list: (cb, p) => cb.invoice.list(p as never) as Promise<Page> },
  credit_note: { path: '/api/v2/credit_notes', created: 'date', updates: true, list: (cb, p) => cb.creditNote.list(p as never) as Promise<Page> },
  transaction: { path: '/api/v2/transactions', created: 'date', updates: true, list: (cb, p) => cb.transaction.list(p as never) as Promise<Page> },
  subscription: { path: '/api/v2/subscriptions', created: 'created_at', updates: true, list: (cb, p) => cb.subscription.list(p as never) as Promise<Page> },
  event: { path: '/api/v2/events', created: 'occurred_at', updates: false, list: (cb, p) => cb.event.list(p as never) as Promise<Page> },
};

export interface ChargebeeAdapterOptions {
  apiKey: string;
  site: string;
  baseUrl?: string;
  pageSize: number;
  timeoutMs: number;
  recorder: Recorder;
  scrub: (s: string) => string;
}

/** [fromMs, toMs) as Chargebee's inclusive `between` in epoch seconds. */
export function between(r: TimeRange): [number, number] {
  return [Math.ceil(r.fromMs / 1000), Math.ceil(r.toMs / 1000) - 1];
}

export function chargebeeClient(o: Pick<ChargebeeAdapterOptions, 'apiKey' | 'site' | 'baseUrl' | 'timeoutMs' | 'recorder'>): Chargebee {
  const origin = o.baseUrl ? new URL(o.baseUrl).origin : null;
  const httpClient = {
    async makeApiRequest(request: Request, timeout: number): Promise<Response> {
      const url = new URL(request.url);
      const target = origin ? `${origin}${url.pathname}${url.search}` : url.href;
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
      return o.recorder.fetch(target, { method: request.method, headers: request.headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(timeout) });
    },
  };
  return new Chargebee({ site: o.site, apiKey: o.apiKey, timeout: o.timeoutMs, retryConfig: { enabled: false }, sdkTelemetryEnabled: false, httpClient } as ConstructorParameters<typeof Chargebee>[0]);
}

export function chargebeeAdapter(o: ChargebeeAdapterOptions): VendorAdapter {
  const cb = chargebeeClient(o);
  const hint = `Check the Chargebee API key (CHARGEBEE_API_KEY or pull.<source>.apiKey) for site "${o.site}": a full-access or read-only key.`;
  const call = vendorRequest({ recorder: o.recorder, scrub: o.scrub, authHint: hint });

  async function* pageThrough(spec: CbList, filter: Record<string, unknown>, ctx: PullContext): AsyncGenerator<{ text: string; page: Page }> {
    let offset: string | undefined;
    for (;;) {
      const p: Params = { ...filter, limit: o.pageSize, ...(offset ? { offset } : {}) };
      const what = `GET ${spec.path} ${Object.entries(filter).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}${offset ? ` offset=${offset}` : ''}`;
      const { value, response } = await call(what, () => spec.list(cb, p), ctx);
      yield { text: response.text, page: value };
      const next = value.next_offset;
      if (!next) return;
      if (next === offset) throw new RetriableError(`${what}: next_offset did not advance; the listing cannot continue`);
      offset = next;
    }
  }

  const spec = (object: string): CbList => {
    const s = CHARGEBEE_LISTS[object];
    if (!s) throw new Error(`chargebee: no list endpoint for "${object}"`);
    return s;
  };
  const createdFilter = (s: CbList, r: TimeRange) => ({ [s.created]: { between: between(r) }, 'sort_by[asc]': s.created });

  return {
    vendor: 'chargebee',
    listable: Object.keys(CHARGEBEE_LISTS),
    derived: {},
    get requests() {
      return o.recorder.requests;
    },
    async listCreated(object, range, kind, writer, ctx): Promise<ListingResult> {
      const s = spec(object);
      const out = { pages: 0, records: 0 };
      const prefix = kind === 'audit' ? 'audit-' : '';
      for await (const { text, page } of pageThrough(s, createdFilter(s, range), ctx)) {
        await writer.page(object, `${prefix}${pageNo(writer.next(`${object}/${kind}`))}`, text, page.list.length);
        out.pages++;
        out.records += page.list.length;
      }
      return out;
    },
    async listChanges(objects, range, writer, ctx) {
      const out = { pages: 0, records: 0 };
      for (const object of objects) {
        const s = spec(object);
        if (!s.updates) continue;
        for await (const { text, page } of pageThrough(s, { updated_at: { between: between(range) }, 'sort_by[asc]': 'updated_at' }, ctx)) {
          await writer.page(object, `changes-${pageNo(writer.next(`${object}/changes`))}`, text, page.list.length);
          out.pages++;
          out.records += page.list.length;
        }
      }
      return out;
    },
    async *pagesCreated(object, range, ctx) {
      const s = spec(object);
      for await (const { text } of pageThrough(s, createdFilter(s, range), ctx)) yield { object, text };
    },
  };
}
