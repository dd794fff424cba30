/**
 * Stripe pull connector against the stand-in (real recorded objects, scaled): every object lands exactly once
 * (fact or quarantine) across 429s, 5xx, timeouts, a restart mid-pagination and overlapping windows; a 403
 * fails the run loudly; pages are landed raw with their markers and a reload needs no re-pull.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowsOfDay, type Window } from '../../partitions/index.js';
import { tempDirsPerTest } from '../jobs/helpers.js';
import { ingest, pullEnv, sec, standInPerTest, tableState } from './helpers.js';
import { stripeStore, stripeTruth, stripeUpdate, type StripeScale } from './scale.js';

const dir = tempDirsPerTest('bm-api-');
const standIns = standInPerTest();

const DAY = '2024-03-05';
const W = windowsOfDay(DAY);
const NOW = '2024-03-06T01:00:00Z';
const MAPPED = ['charge', 'refund', 'balance_transaction', 'invoice', 'invoice_line_item', 'credit_note', 'dispute', 'payout'];
const PER = { charge: 230, refund: 40, balance_transaction: 60, invoice: 45, credit_note: 12, dispute: 9, payout: 14 };

async function start(per: StripeScale['per'] = PER) {
  return standIns.start({ stripe: stripeStore({ fromSec: sec(`${DAY}T00:00:00Z`), toSec: sec(`${DAY}T23:59:59Z`), per }) });
}

function expectExactlyOnce(state: { eventIds: string[]; quarantined: string[] }, truth: { eventIds: Set<string>; quarantined: Set<string> }) {
  expect(new Set(state.eventIds).size).toBe(state.eventIds.length); // no duplicate event
  expect([...state.eventIds].sort()).toEqual([...truth.eventIds].sort()); // every object's events, nothing else
  expect(new Set(state.quarantined).size).toBe(state.quarantined.length); // no record quarantined twice
  expect([...state.quarantined].sort()).toEqual([...truth.quarantined].sort());
}

const dayRun = (e: Awaited<ReturnType<typeof pullEnv>>, o: { attempts?: number } = {}) =>
  ingest(e, 'stripe', { startMs: W[0]!.startMs, endMs: W[5]!.endMs }, { covers: W, lookbackHours: 0, trigger: 'backfill', ...o });

describe('stripe pull', () => {
  it('pulls a day page by page, lands every page raw with its marker, and loads every object exactly once', async () => {
    const s = await start({ ...PER, charge: 700 });
    const e = await pullEnv(dir(), s, { now: NOW, pull: { stripe: { vendor: 'stripe', baseUrl: s.url } } }); // page size: Stripe's maximum, 100
    const run = await dayRun(e);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expectExactlyOnce(await tableState(e, 'stripe'), stripeTruth(s.stripe, MAPPED));
    // pagination as Stripe does it: limit 100, starting_after = last id of the previous page, has_more
    const charges = s.requests.filter((r) => r.path === '/v1/charges');
    expect(charges.every((r) => r.query.limit === '100')).toBe(true);
    expect(charges.some((r) => r.query.starting_after)).toBe(true);
    // invoices with more than 10 lines: the rest paged from /v1/invoices/:id/lines after the last embedded one
    const linePages = s.requests.filter((r) => /^\/v1\/invoices\/[^/]+\/lines$/.test(r.path));
    expect(linePages.length).toBeGreaterThan(0);
    expect(linePages.every((r) => r.query.starting_after?.endsWith('_9'))).toBe(true);
    // each page is the response body byte for byte, with a .done marker, in <source>/<day>/<HH>/
    const folder = path.join(e.config.landing, 'stripe', DAY, '04');
    const pages = readdirSync(folder).filter((f) => /^charge-\d{4}\.json$/.test(f));
    expect(pages.length).toBeGreaterThan(0);
    for (const p of pages) expect(existsSync(path.join(folder, `${p}.done`))).toBe(true);
    const first = JSON.parse(readFileSync(path.join(folder, pages[0]!), 'utf8')) as { object: string; data: { created: number }[] };
    expect(first.object).toBe('list');
    expect(first.data.every((c) => c.created >= sec(`${DAY}T04:00:00Z`) && c.created < sec(`${DAY}T08:00:00Z`))).toBe(true);
    // lineage points at the landed page
    expect(run.files.some((f) => f.startsWith(`stripe/${DAY}/04/charge-`))).toBe(true);
  });

  it('a reload needs no re-pull: with the pages landed, an ingest with the API unreachable loads the same table', async () => {
    const s = await start({ charge: 150, invoice: 20 });
    const e = await pullEnv(dir(), s, { now: NOW });
    expect((await dayRun(e)).status).toBe('succeeded');
    const before = await tableState(e, 'stripe');
    // a fresh warehouse over the same landing zone, no pull configured: the landed pages are an ordinary landing zone
    const e2 = await pullEnv(dir(), s, { now: NOW, pull: {} });
    rmSync(e2.config.landing, { recursive: true, force: true });
    const { cpSync } = await import('node:fs');
    cpSync(e.config.landing, e2.config.landing, { recursive: true });
    const requests = s.requests.length;
    expect((await dayRun(e2)).status).toBe('succeeded');
    expect(s.requests.length).toBe(requests);
    const after = await tableState(e2, 'stripe');
    expect(after.eventIds.sort()).toEqual(before.eventIds.sort());
  });

  it('429 with Retry-After waits what the server asked; 5xx and a reset connection back off; nothing is lost or doubled', async () => {
    const s = await start({ charge: 260, refund: 30 });
    s.faults = [
      { path: '/v1/charges', paged: true, status: 429, headers: { 'Retry-After': '7' } },
      { path: '/v1/charges', skip: 3, status: 503, times: 2 },
      { path: '/v1/refunds', kind: 'reset' },
    ];
    const e = await pullEnv(dir(), s, { now: NOW });
    const run = await dayRun(e);
    expect(run.error).toBeNull();
    expect(e.clock.sleeps).toContain(7000); // Retry-After: 7
    expect(e.clock.sleeps).toEqual(expect.arrayContaining([1000, 2000])); // 503 twice: base, base·2
    expect(s.requests.filter((r) => r.status === 429 || r.status === 503 || r.status === 'reset').length).toBe(4);
    expectExactlyOnce(await tableState(e, 'stripe'), stripeTruth(s.stripe, ['charge', 'refund']));
    expect(e.logs.some((l) => /api\.retry/.test(l) && /429/.test(l))).toBe(true);
  });

  it('a request that never answers times out and is retried', async () => {
    const s = await start({ charge: 20 });
    s.faults = [{ path: '/v1/charges', kind: 'hang' }];
    const e = await pullEnv(dir(), s, { now: NOW, pull: { stripe: { vendor: 'stripe', baseUrl: s.url, timeoutMs: 300, objects: ['charge'] } } });
    const run = await dayRun(e);
    expect(run.error).toBeNull();
    expect(s.requests.filter((r) => r.status === 'hang')).toHaveLength(1);
    expectExactlyOnce(await tableState(e, 'stripe'), stripeTruth(s.stripe, ['charge']));
  });

  it('a run killed mid-pagination (retries exhausted on page 2) fails; the rerun lands everything exactly once', async () => {
    const s = await start({ charge: 320, invoice: 30 });
    s.faults = [{ path: '/v1/charges', paged: true, skip: 1, status: 500, times: Infinity }];
    const e = await pullEnv(dir(), s, { now: NOW });
    const failed = await dayRun(e);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/HTTP 500.*gave up after 4 attempts/);
    // the first pages did land (a partial pull is visible only as complete pages with markers)
    expect(readdirSync(path.join(e.config.landing, 'stripe', DAY, '00')).some((f) => f === 'charge-0001.json.done')).toBe(true);
    s.faults = [];
    const rerun = await dayRun(e);
    expect(rerun.status).toBe('succeeded');
    expectExactlyOnce(await tableState(e, 'stripe'), stripeTruth(s.stripe, MAPPED));
  });

  it('overlapping windows (the scheduler: each window re-reads 24 h back) load every object once; re-pulls write the same bytes', async () => {
    const s = await start({ charge: 120, refund: 20, invoice: 15 });
    const e = await pullEnv(dir(), s, { now: NOW });
    const windows: Window[] = [...W, ...windowsOfDay('2024-03-06').slice(0, 1)];
    for (const w of windows) {
      e.clock.set(w.endMs + 60_000);
      const r = await ingest(e, 'stripe', w, { trigger: 'schedule' });
      expect(r.error).toBeNull();
    }
    expectExactlyOnce(await tableState(e, 'stripe'), stripeTruth(s.stripe, ['charge', 'refund', 'invoice', 'invoice_line_item']));
    // the last window re-listed the 6 windows before it: identical pages, already committed, so nothing re-read
    const last = await ingest(e, 'stripe', windows.at(-1)!, { trigger: 'schedule' });
    expect(last.rowsIn).toBe(0);
    expect(last.filesSkipped).toBeGreaterThan(0);
  });

  it('changes after creation come from /v1/events: an invoice created days ago and paid now gets its INVOICE_PAID', async () => {
    const s = await start({ invoice: 10 });
    const e = await pullEnv(dir(), s, { now: NOW });
    expect((await dayRun(e)).status).toBe('succeeded');
    const open = s.stripe.lists.get('/v1/invoices')!.find((o) => o.obj.status === 'open')!;
    const paidAt = sec('2024-03-09T05:30:00Z');
    stripeUpdate(s.stripe, 'invoice', open.id, { status: 'paid', amount_paid: open.obj.total, amount_remaining: 0, status_transitions: { ...(open.obj.status_transitions as object), paid_at: paidAt } }, paidAt, 'invoice.paid');
    const w = { startMs: Date.parse('2024-03-09T04:00:00Z'), endMs: Date.parse('2024-03-09T08:00:00Z') };
    e.clock.set(w.endMs + 60_000);
    const run = await ingest(e, 'stripe', w, { trigger: 'schedule' });
    expect(run.error).toBeNull();
    expect(run.files.some((f) => /\/invoice-changes-\d{4}\.json$/.test(f))).toBe(true);
    expect(existsSync(path.join(e.config.landing, 'stripe', '2024-03-09', '04', '_api', 'event-0001.json'))).toBe(true);
    expectExactlyOnce(await tableState(e, 'stripe'), stripeTruth(s.stripe, ['invoice', 'invoice_line_item']));
  });

  it('ranges older than Stripe keeps events (30 days) skip /v1/events and say so', async () => {
    const s = await start({ charge: 10 });
    const e = await pullEnv(dir(), s, { now: '2024-05-01T00:00:00Z' });
    const run = await dayRun(e);
    expect(run.error).toBeNull();
    expect(s.count('stripe', '/v1/events')).toBe(0);
    expect(e.logs.some((l) => /older than Stripe keeps them/.test(l))).toBe(true);
  });

  it('a 403 fails the run loudly, is not retried, loads nothing, and the key appears nowhere', async () => {
    const s = await start({ charge: 30, refund: 10 });
    s.faults = [{ path: '/v1/refunds', status: 403, times: Infinity }];
    const e = await pullEnv(dir(), s, { now: NOW });
    const run = await dayRun(e, { attempts: 4 });
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1); // fatal: retrying cannot help
    expect(run.error).toMatch(/GET \/v1\/refunds.*HTTP 403.*does not have the required permissions/);
    expect(s.requests.filter((r) => r.status === 403)).toHaveLength(1);
    expect((await tableState(e, 'stripe')).eventIds).toHaveLength(0);
    const everything = [run.error, ...e.logs, ...readdirSync(path.join(e.config.state, 'runs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).map((f) => readFileSync(path.join(e.config.state, 'runs', f), 'utf8'))].join('\n');
    expect(everything).not.toContain(s.keys.stripe);
  });

  it('a wrong key is a 401: the run fails at once with the vendor message and a hint, never echoing the key', async () => {
    const s = await start({ charge: 5 });
    const e = await pullEnv(dir(), s, { now: NOW, env: { STRIPE_API_KEY: 'sk_test_wrong_key_123' } });
    const run = await dayRun(e, { attempts: 3 });
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1);
    expect(run.error).toMatch(/HTTP 401.*Invalid API Key.*Check the Stripe key/);
    expect([run.error, ...e.logs].join('\n')).not.toContain('sk_test_wrong_key_123');
  });

  it('a scheduled run lists its window and the 24 h before it: 56 requests when there is nothing to pull (docs/connectors.md)', async () => {
    const s = await start({});
    const e = await pullEnv(dir(), s, { now: NOW });
    const run = await ingest(e, 'stripe', W[5]!, { trigger: 'schedule' });
    expect(run.error).toBeNull();
    expect(s.requests).toHaveLength(7 * 7 + 7);
    expect(new Set(s.requests.map((r) => r.query['created[gte]'])).size).toBe(7);
  });

  it('a Retry-After longer than 15 minutes is not waited for: the request gives up with a retriable error', async () => {
    const s = await start({ charge: 5 });
    s.faults = [{ path: '/v1/charges', status: 429, headers: { 'Retry-After': '3600' } }];
    const e = await pullEnv(dir(), s, { now: NOW });
    const run = await dayRun(e);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/asked to wait 3600s/);
    expect(e.clock.sleeps).not.toContain(3_600_000);
  });

  it('no key configured is a configuration error naming the variable', async () => {
    const s = await start({ charge: 5 });
    const e = await pullEnv(dir(), s, { now: NOW, env: {} });
    const run = await dayRun(e);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/environment variable STRIPE_API_KEY is not set/);
    expect(s.requests).toHaveLength(0);
  });
});
