/**
 * A local stand-in for the Stripe and Chargebee APIs (the one place the project uses a stand-in: the vendors'
 * servers cannot be reached from tests). It serves real recorded objects (test/fixtures, scaled by scale.ts) with
 * each API's real list semantics:
 * - Stripe: newest first, `created[gte|gt|lt|lte]`, `limit` 1..100 (default 10), `starting_after` + `has_more`,
 *   `/v1/invoices/:id/lines`, `/v1/events`, subscriptions hide canceled ones unless `status=all`, Bearer auth,
 *   errors as `{"error":{"type","message",...}}`.
 * - Chargebee: `/api/v2/<list>`, `<field>[between|after|before]`, `sort_by[asc]`, `limit` 1..100, opaque
 *   `offset`/`next_offset`, records without `updated_at` never match an updated_at filter, Basic auth, errors as
 *   `{"message","api_error_code","error_code","error_msg","http_status_code"}`.
 * Faults are injected per request (status with body and headers such as Retry-After, a reset connection, or a
 * request that never answers), and every request is logged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { stringify as stringifyLossless } from 'lossless-json';

export type Json = Record<string, unknown>;

export interface StripeObject {
  id: string;
  created: number;
  obj: Json;
}

export interface StripeStore {
  /** path (`/v1/charges`) → objects */
  lists: Map<string, StripeObject[]>;
  /** invoice id → all its lines (the invoice embeds at most 10) */
  lines: Map<string, Json[]>;
  events: StripeObject[];
}

export interface ChargebeeEntry {
  id: string;
  /** the list entry as the API returns it, e.g. {"subscription": {...}, "customer": {...}} */
  entry: Json;
}

export interface ChargebeeStore {
  /** path (`/api/v2/invoices`) → { key: resource key in each entry, entries } */
  lists: Map<string, { key: string; entries: ChargebeeEntry[] }>;
}

export interface Fault {
  vendor?: 'stripe' | 'chargebee';
  /** Matches the request path (string: exact; RegExp: test). */
  path?: string | RegExp;
  /** Only requests whose query has this cursor (`starting_after` / `offset`) present. */
  paged?: boolean;
  /** Matching requests let through before the fault fires. */
  skip?: number;
  /** Responses faulted (default 1; Infinity = until removed). */
  times?: number;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  kind?: 'reset' | 'hang';
}

export interface LoggedRequest {
  vendor: 'stripe' | 'chargebee';
  path: string;
  query: Record<string, string>;
  status: number | 'reset' | 'hang';
}

const STRIPE_ERRORS: Record<number, Json> = {
  401: { message: 'Invalid API Key provided: sk_test_****', type: 'invalid_request_error' },
  403: { message: "The provided key 'rk_test_****' does not have the required permissions for this endpoint on account 'acct_1Pgaf'.", type: 'invalid_request_error' },
  429: { message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', type: 'invalid_request_error', code: 'rate_limit' },
  500: { message: 'An unknown error occurred', type: 'api_error' },
  502: { message: 'An unknown error occurred', type: 'api_error' },
  503: { message: 'An unknown error occurred', type: 'api_error' },
};

const CHARGEBEE_ERRORS: Record<number, Json> = {
  401: { message: 'Sorry, authentication failed. Invalid api key', api_error_code: 'api_authentication_failed', error_code: 'api_authentication_invalid_key', type: 'invalid_request' },
  403: { message: 'Sorry, Operation not permitted for this api key', api_error_code: 'api_authorization_failed', error_code: 'api_authorization_failed', type: 'invalid_request' },
  429: { message: 'Sorry, access has been blocked temporarily due to request count exceeding acceptable limits. Please try after some time.', api_error_code: 'api_request_limit_exceeded', error_code: 'api_request_limit_exceeded' },
  500: { message: 'Sorry,Something went wrong when trying to process the request.', api_error_code: 'internal_error', error_code: 'internal_error' },
  503: { message: 'Sorry, the server is currently unable to handle the request.', api_error_code: 'internal_temporary_error', error_code: 'internal_temporary_error' },
};

export function stripeErrorBody(status: number): string {
  return JSON.stringify({ error: STRIPE_ERRORS[status] ?? { message: `HTTP ${status}`, type: 'api_error' } });
}

export function chargebeeErrorBody(status: number): string {
  const e = CHARGEBEE_ERRORS[status] ?? { message: `HTTP ${status}`, api_error_code: 'internal_error' };
  return JSON.stringify({ ...e, error_msg: e.message, http_status_code: status });
}

/** The list endpoints each API has (an empty store still answers them with empty lists). */
const STRIPE_LIST_PATHS = ['/v1/charges', '/v1/refunds', '/v1/balance_transactions', '/v1/invoices', '/v1/credit_notes', '/v1/disputes', '/v1/payouts', '/v1/subscriptions'];
const CHARGEBEE_LIST_PATHS: Record<string, string> = { '/api/v2/invoices': 'invoice', '/api/v2/credit_notes': 'credit_note', '/api/v2/transactions': 'transaction', '/api/v2/subscriptions': 'subscription', '/api/v2/events': 'event' };

const get = (o: unknown, key: string): unknown => (o && typeof o === 'object' ? (o as Json)[key] : undefined);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(String(v)));

export class VendorStandIn {
  readonly requests: LoggedRequest[] = [];
  faults: Fault[] = [];
  private readonly fired = new Map<Fault, { seen: number; fired: number }>();
  private readonly sockets = new Set<Socket>();
  url = '';

  private constructor(
    private readonly server: Server,
    readonly stripe: StripeStore,
    readonly chargebee: ChargebeeStore,
    readonly keys: { stripe: string; chargebee: string },
  ) {}

  static async start(o: { stripe?: StripeStore; chargebee?: ChargebeeStore; keys?: { stripe?: string; chargebee?: string } }): Promise<VendorStandIn> {
    let self: VendorStandIn | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    const stripe = o.stripe ?? { lists: new Map(), lines: new Map(), events: [] };
    for (const p of STRIPE_LIST_PATHS) if (!stripe.lists.has(p)) stripe.lists.set(p, []);
    const chargebee = o.chargebee ?? { lists: new Map() };
    for (const [p, key] of Object.entries(CHARGEBEE_LIST_PATHS)) if (!chargebee.lists.has(p)) chargebee.lists.set(p, { key, entries: [] });
    self = new VendorStandIn(
      server,
      stripe,
      chargebee,
      { stripe: o.keys?.stripe ?? 'sk_test_standin_4242', chargebee: o.keys?.chargebee ?? 'test_standin_cb_key' },
    );
    server.on('connection', (s) => {
      self!.sockets.add(s);
      s.on('close', () => self!.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    self.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests to `path` (string prefix) so far. */
  count(vendor: 'stripe' | 'chargebee', pathPrefix = ''): number {
    return this.requests.filter((r) => r.vendor === vendor && r.path.startsWith(pathPrefix)).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://standin');
    const vendor: 'stripe' | 'chargebee' = u.pathname.startsWith('/api/v2/') ? 'chargebee' : 'stripe';
    const query = Object.fromEntries(u.searchParams.entries());
    const log: LoggedRequest = { vendor, path: u.pathname, query, status: 200 };
    this.requests.push(log);
    const fault = this.matchFault(vendor, u.pathname, query);
    if (fault) {
      if (fault.kind === 'reset') {
        log.status = 'reset';
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'hang') {
        log.status = 'hang';
        return; // never answers; the client's timeout must fire
      }
      const status = fault.status ?? 500;
      log.status = status;
      this.send(res, status, fault.body ?? (vendor === 'stripe' ? stripeErrorBody(status) : chargebeeErrorBody(status)), fault.headers);
      return;
    }
    const out = vendor === 'stripe' ? this.stripeRoute(req, u) : this.chargebeeRoute(req, u);
    log.status = out.status;
    this.send(res, out.status, out.body);
  }

  private matchFault(vendor: string, path: string, query: Record<string, string>): Fault | null {
    for (const f of this.faults) {
      if (f.vendor && f.vendor !== vendor) continue;
      if (f.path !== undefined && (typeof f.path === 'string' ? f.path !== path : !f.path.test(path))) continue;
      if (f.paged !== undefined && f.paged !== Boolean(query.starting_after ?? query.offset)) continue;
      const st = this.fired.get(f) ?? { seen: 0, fired: 0 };
      this.fired.set(f, st);
      st.seen++;
      if (st.seen <= (f.skip ?? 0)) continue;
      if (st.fired >= (f.times ?? 1)) continue;
      st.fired++;
      return f;
    }
    return null;
  }

  private send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${this.requests.length}`, ...headers });
    res.end(body);
  }

  // ---- Stripe ----

  private stripeRoute(req: IncomingMessage, u: URL): { status: number; body: string } {
    const err = (status: number, e?: Json) => ({ status, body: e ? JSON.stringify({ error: e }) : stripeErrorBody(status) });
    if (req.headers.authorization !== `Bearer ${this.keys.stripe}`) return err(401);
    if (req.method !== 'GET') return err(400, { message: `Unrecognized request URL (${req.method}: ${u.pathname}).`, type: 'invalid_request_error' });
    const q = u.searchParams;
    const limitText = q.get('limit') ?? '10';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) {
      return err(400, { message: `This value must be greater than or equal to 1 and less than or equal to 100 (it currently is '${limitText}')`, param: 'limit', type: 'invalid_request_error' });
    }
    const lines = /^\/v1\/invoices\/([^/]+)\/lines$/.exec(u.pathname);
    let items: { id: string; created: number; obj: Json }[];
    if (lines) {
      const all = this.stripe.lines.get(decodeURIComponent(lines[1]!));
      if (!all) return err(404, { message: `No such invoice: '${lines[1]}'`, type: 'invalid_request_error', code: 'resource_missing', param: 'id' });
      items = all.map((l) => ({ id: String(get(l, 'id')), created: 0, obj: l })); // lines keep the invoice's order
    } else {
      const list = u.pathname === '/v1/events' ? this.stripe.events : this.stripe.lists.get(u.pathname);
      if (!list) return err(404, { message: `Unrecognized request URL (GET: ${u.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, type: 'invalid_request_error' });
      const bound = (k: string) => (q.has(`created[${k}]`) ? Number(q.get(`created[${k}]`)) : null);
      const [gte, gt, lt, lte] = [bound('gte'), bound('gt'), bound('lt'), bound('lte')];
      const status = q.get('status');
      items = list
        .filter((o) => (gte === null || o.created >= gte) && (gt === null || o.created > gt) && (lt === null || o.created < lt) && (lte === null || o.created <= lte))
        .filter((o) => u.pathname !== '/v1/subscriptions' || status === 'all' || (status ? get(o.obj, 'status') === status : get(o.obj, 'status') !== 'canceled'))
        .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    }
    const after = q.get('starting_after');
    let start = 0;
    if (after) {
      const i = items.findIndex((o) => o.id === after);
      if (i < 0) return err(400, { message: `No such object: '${after}'`, type: 'invalid_request_error', code: 'resource_missing', param: 'starting_after' });
      start = i + 1;
    }
    const page = items.slice(start, start + limit);
    return { status: 200, body: stringifyLossless({ object: 'list', data: page.map((p) => p.obj), has_more: start + limit < items.length, url: u.pathname }) as string };
  }

  // ---- Chargebee ----

  private chargebeeRoute(req: IncomingMessage, u: URL): { status: number; body: string } {
    const err = (status: number, e?: Json) => ({ status, body: e ? JSON.stringify({ ...e, http_status_code: status }) : chargebeeErrorBody(status) });
    const expected = `Basic ${Buffer.from(`${this.keys.chargebee}:`).toString('base64')}`;
    if (req.headers.authorization !== expected) return err(401);
    const list = this.chargebee.lists.get(u.pathname);
    if (!list) return err(404, { message: 'Sorry, we couldn\'t find that resource', api_error_code: 'resource_not_found', error_code: 'resource_not_found', type: 'invalid_request' });
    const q = u.searchParams;
    const limitText = q.get('limit') ?? '10';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) {
      return err(400, { message: `limit : invalid value ${limitText}`, param: 'limit', api_error_code: 'invalid_request', error_code: 'param_not_in_range', type: 'invalid_request', error_msg: `limit : invalid value ${limitText}` });
    }
    const field = (e: ChargebeeEntry, f: string) => num(get(get(e.entry, list.key), f));
    const filters: ((e: ChargebeeEntry) => boolean)[] = [];
    for (const [k, v] of q.entries()) {
      const m = /^([a-z_]+)\[(between|after|before|on)\]$/.exec(k);
      if (!m) continue;
      const f = m[1]!;
      if (m[2] === 'between') {
        const [a, b] = JSON.parse(v.startsWith('[') ? v : `[${v}]`) as [number, number];
        filters.push((e) => {
          const x = field(e, f);
          return x !== null && x >= a && x <= b;
        });
      } else if (m[2] === 'after') filters.push((e) => (field(e, f) ?? -Infinity) > Number(v));
      else if (m[2] === 'before') filters.push((e) => (field(e, f) ?? Infinity) < Number(v));
    }
    const sortField = q.get('sort_by[asc]') ?? q.get('sort_by[desc]');
    const desc = !q.get('sort_by[asc]');
    const sortKey = sortField ?? (list.key === 'subscription' ? 'created_at' : list.key === 'event' ? 'occurred_at' : 'date');
    const key = (e: ChargebeeEntry): [number, string] => [field(e, sortKey) ?? 0, e.id];
    const cmp = (a: [number, string], b: [number, string]) => (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)) * (desc ? -1 : 1);
    const items = list.entries.filter((e) => filters.every((f) => f(e))).sort((a, b) => cmp(key(a), key(b)));
    let start = 0;
    const offset = q.get('offset');
    if (offset) {
      let at: [number, string];
      try {
        const [v, id] = JSON.parse(offset) as [string, string];
        at = [Number(v) / 1000, id];
      } catch {
        return err(400, { message: 'offset : invalid value', param: 'offset', api_error_code: 'invalid_request', error_code: 'invalid_offset', type: 'invalid_request', error_msg: 'offset : invalid value' });
      }
      start = items.findIndex((e) => cmp(key(e), at) > 0);
      if (start < 0) start = items.length;
    }
    const page = items.slice(start, start + limit);
    const body: Json = { list: page.map((e) => e.entry) };
    if (start + limit < items.length) {
      const [v, id] = key(page.at(-1)!);
      body.next_offset = JSON.stringify([String(v * 1000), id]);
    }
    return { status: 200, body: stringifyLossless(body) as string };
  }
}
