/**
 * Chargebee pull connector against the stand-in (Chargebee API records from Airbyte's connector tests, scaled):
 * offset/next_offset pagination, date/created_at ranges, updated_at changes, the audit pass that finds records
 * without updated_at, 429 Retry-After and a 403 that fails the run.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowsOfDay } from '../../partitions/index.js';
import { tempDirsPerTest } from '../jobs/helpers.js';
import { ingest, pullEnv, sec, standInPerTest, tableState } from './helpers.js';
import { addChargebee, chargebeeStore, chargebeeTruth, chargebeeUpdate } from './scale.js';

const dir = tempDirsPerTest('bm-api-cb-');
const standIns = standInPerTest();

const DAY = '2024-03-05';
const W = windowsOfDay(DAY);
const NOW = '2024-03-06T01:00:00Z';
const OBJECTS = ['invoice', 'credit_note', 'transaction', 'subscription', 'event'];
const PER = { invoice: 180, credit_note: 30, transaction: 160, subscription: 40, event: 20 };

const dayRun = (e: Awaited<ReturnType<typeof pullEnv>>, o: { attempts?: number } = {}) =>
  ingest(e, 'chargebee', { startMs: W[0]!.startMs, endMs: W[5]!.endMs }, { covers: W, lookbackHours: 0, trigger: 'backfill', ...o });

function expectExactlyOnce(state: { eventIds: string[]; quarantined: string[] }, truth: { eventIds: Set<string>; quarantined: Set<string> }) {
  expect(new Set(state.eventIds).size).toBe(state.eventIds.length);
  expect([...state.eventIds].sort()).toEqual([...truth.eventIds].sort());
  expect(new Set(state.quarantined).size).toBe(state.quarantined.length);
  expect([...state.quarantined].sort()).toEqual([...truth.quarantined].sort());
}

describe('chargebee pull', () => {
  it('pulls a day with offset/next_offset pagination and date ranges, landing raw list pages; every record once', async () => {
    const standin = await standIns.start({ chargebee: chargebeeStore({ fromSec: sec(`${DAY}T00:00:00Z`), toSec: sec(`${DAY}T23:59:59Z`), per: PER }) });
    const e = await pullEnv(dir(), standin, { now: NOW });
    const run = await dayRun(e);
    expect(run.error).toBeNull();
    expectExactlyOnce(await tableState(e, 'chargebee'), chargebeeTruth(standin.chargebee, OBJECTS));
    const inv = standin.requests.filter((r) => r.path === '/api/v2/invoices' && r.query['date[between]']);
    expect(inv.length).toBeGreaterThan(6);
    expect(inv[0]!.query['date[between]']).toMatch(/^\[\d+,\d+\]$/); // inclusive epoch seconds, as Chargebee documents
    expect(inv.every((r) => r.query.limit === '25' && r.query['sort_by[asc]'] === 'date')).toBe(true);
    // each next page asks for the offset the previous page returned
    const paged = inv.filter((r) => r.query.offset);
    expect(paged.length).toBeGreaterThan(0);
    for (const r of paged) expect(JSON.parse(r.query.offset!)).toHaveLength(2);
    expect(standin.requests.some((r) => r.path === '/api/v2/subscriptions' && r.query['created_at[between]'])).toBe(true);
    expect(standin.requests.some((r) => r.path === '/api/v2/invoices' && r.query['updated_at[between]'])).toBe(true);
    const folder = path.join(e.config.landing, 'chargebee', DAY, '08');
    expect(readdirSync(folder).filter((f) => /^invoice-\d{4}\.json$/.test(f)).length).toBeGreaterThan(1);
  });

  it('a later update is found by updated_at: payment_due → paid adds INVOICE_PAID (INVOICE_POSTED stays one event)', async () => {
    const standin = await standIns.start({ chargebee: chargebeeStore({ fromSec: sec(`${DAY}T00:00:00Z`), toSec: sec(`${DAY}T23:59:59Z`), per: { invoice: 20 } }) });
    const e = await pullEnv(dir(), standin, { now: NOW });
    expect((await dayRun(e)).status).toBe('succeeded');
    const due = standin.chargebee.lists.get('/api/v2/invoices')!.entries.find((x) => (x.entry.invoice as { status: string }).status === 'payment_due')!;
    const at = sec('2024-03-10T09:15:00Z');
    chargebeeUpdate(standin.chargebee, 'invoice', due.id, { status: 'paid', paid_at: at, amount_paid: (due.entry.invoice as { total: unknown }).total, amount_due: 0 }, at);
    const w = { startMs: Date.parse('2024-03-10T08:00:00Z'), endMs: Date.parse('2024-03-10T12:00:00Z') };
    e.clock.set(w.endMs + 60_000);
    const run = await ingest(e, 'chargebee', w, { trigger: 'schedule' });
    expect(run.error).toBeNull();
    expect(run.files.some((f) => /invoice-changes-\d{4}\.json$/.test(f))).toBe(true);
    expectExactlyOnce(await tableState(e, 'chargebee'), chargebeeTruth(standin.chargebee, ['invoice']));
  });

  it('records without updated_at are missed by the updated_at filter; the daily audit pass by creation date finds them', async () => {
    const store = chargebeeStore({ fromSec: sec('2024-03-10T00:00:00Z'), toSec: sec('2024-03-10T23:00:00Z'), per: { invoice: 10 } });
    // created 9 days before the scheduler's window, never updated: no updated_at at all
    addChargebee(store, { fromSec: sec('2024-03-01T10:00:00Z'), toSec: sec('2024-03-01T11:00:00Z'), per: { invoice: 3, transaction: 2 }, tag: 'OLD', noUpdatedAtEvery: 1 });
    const standin = await standIns.start({ chargebee: store });
    const w = { startMs: Date.parse('2024-03-11T00:00:00Z'), endMs: Date.parse('2024-03-11T04:00:00Z') };
    const objects = ['invoice', 'transaction'];
    const base = { vendor: 'chargebee', site: 'acme-test', baseUrl: standin.url, objects };
    // without the audit pass: the scheduler's window and its lookback never see them
    const off = await pullEnv(dir(), standin, { now: '2024-03-11T04:01:00Z', pull: { chargebee: { ...base, audit: { days: 0 } } } });
    expect((await ingest(off, 'chargebee', w, { trigger: 'schedule' })).error).toBeNull();
    const missed = await tableState(off, 'chargebee');
    const truth = chargebeeTruth(standin.chargebee, objects);
    expect(missed.eventIds.length).toBeLessThan(truth.eventIds.size);
    // with it (the default: 31 days, at the 00 window), every record is there exactly once
    const on = await pullEnv(dir(), standin, { now: '2024-03-11T04:01:00Z', pull: { chargebee: base } });
    const run = await ingest(on, 'chargebee', w, { trigger: 'schedule' });
    expect(run.error).toBeNull();
    expect(run.files.some((f) => /invoice-audit-\d{4}\.json$/.test(f))).toBe(true);
    expectExactlyOnce(await tableState(on, 'chargebee'), truth);
  });

  it('429 waits Retry-After; a 403 fails the run without retries and loads nothing', async () => {
    const standin = await standIns.start({ chargebee: chargebeeStore({ fromSec: sec(`${DAY}T00:00:00Z`), toSec: sec(`${DAY}T23:59:59Z`), per: { invoice: 200, transaction: 30 } }) });
    standin.faults = [{ path: '/api/v2/invoices', paged: true, status: 429, headers: { 'Retry-After': '11' } }];
    const e = await pullEnv(dir(), standin, { now: NOW });
    const ok = await dayRun(e);
    expect(ok.error).toBeNull();
    expect(e.clock.sleeps).toContain(11_000);
    expectExactlyOnce(await tableState(e, 'chargebee'), chargebeeTruth(standin.chargebee, ['invoice', 'transaction']));

    standin.faults = [{ path: '/api/v2/transactions', status: 403, times: Infinity }];
    const e2 = await pullEnv(dir(), standin, { now: NOW });
    const bad = await dayRun(e2, { attempts: 3 });
    expect(bad.status).toBe('failed');
    expect(bad.attempts).toBe(1);
    expect(bad.error).toMatch(/GET \/api\/v2\/transactions.*HTTP 403.*api_authorization_failed/);
    expect((await tableState(e2, 'chargebee')).eventIds).toHaveLength(0);
    expect([bad.error, ...e2.logs].join('\n')).not.toContain(standin.keys.chargebee);
  });
});
