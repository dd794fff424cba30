import { describe, expect, it } from 'vitest';
import { ConfigError, RetriableError } from '../../events/errors.js';
import { parseWindow } from '../../partitions/index.js';
import { runIngest, runOltp, lockNameFor, defaultWindow } from '../../jobs/ingest.js';
import { ev, fakeOltp, harness } from './fakes.js';
import { tempDirsPerTest } from './helpers.js';

const dir = tempDirsPerTest();
const W = parseWindow('2024-01-03T04:00Z/2024-01-03T08:00Z');

describe('ingest run', () => {
  it('commits the window, records the run with counts per reason, and is idempotent on re-run', async () => {
    const h = harness(dir());
    const events = [ev('zuora', 'i1', '2024-01-03T05:00:00Z', '10.50'), ev('zuora', 'i2', '2024-01-03T06:00:00Z', '-2.25', { type: 'CREDIT_MEMO_POSTED' })];
    h.landing.deliver('zuora', '2024-01-03T04:00:00Z', { name: 'invoice.csv', events, bad: [{ reason: 'BAD_AMOUNT', position: 4 }, { reason: 'BAD_AMOUNT', position: 7 }, { reason: 'MISSING_ID', position: 9 }] });
    const r1 = await runIngest(h.deps, { source: 'zuora', window: W, trigger: 'manual' });
    expect(r1).toMatchObject({ status: 'succeeded', job: 'ingest', source: 'zuora', window: '2024-01-03T04:00Z/2024-01-03T08:00Z', attempts: 1, rowsIn: 2, rowsWritten: 2, duplicates: 0, files: ['zuora/2024-01-03/04/invoice.csv'], quarantined: { BAD_AMOUNT: 2, MISSING_ID: 1 }, quarantinedByDay: { '2024-01-03': 3 }, commitId: 'c1' });
    expect(h.wh.count('zuora')).toBe(2);
    expect((await h.wh.loadedWindows('zuora')).has('2024-01-03T04:00Z/2024-01-03T08:00Z')).toBe(true);

    const r2 = await runIngest(h.deps, { source: 'zuora', window: W, trigger: 'manual' });
    expect(r2).toMatchObject({ status: 'succeeded', rowsIn: 0, rowsWritten: 0, files: [], filesSkipped: 1 });
    expect(h.wh.count()).toBe(2);
    expect(await h.deps.runs.list({ source: 'zuora' })).toHaveLength(2);
    expect(h.log.lines.filter((l) => l.includes('"event":"run.succeeded"') && l.includes(r1.runId))).toHaveLength(1);
  });

  it('picks up a late file in an earlier window through the lookback, and duplicates are counted not written', async () => {
    const h = harness(dir());
    const a = ev('stripe', 'ch1', '2024-01-03T01:00:00Z', '5.00');
    h.landing.deliver('stripe', '2024-01-03T00:00:00Z', { name: 'charge.jsonl', events: [a] });
    await runIngest(h.deps, { source: 'stripe', window: parseWindow('2024-01-03T00:00Z/2024-01-03T04:00Z'), trigger: 'schedule' });
    // late: a second file written into the 00 folder after it was ingested, repeating ch1
    h.landing.deliver('stripe', '2024-01-03T00:00:00Z', { name: 'charge-late.jsonl', events: [a, ev('stripe', 'ch2', '2024-01-03T02:00:00Z', '7.00')] });
    const r = await runIngest(h.deps, { source: 'stripe', window: W, trigger: 'schedule' });
    expect(r).toMatchObject({ status: 'succeeded', rowsIn: 2, rowsWritten: 1, duplicates: 1, files: ['stripe/2024-01-03/00/charge-late.jsonl'], filesSkipped: 1 });
    expect(h.wh.count('stripe')).toBe(2);
  });

  it('enriches events with the dimension snapshot as of the event day and marks missing members', async () => {
    const h = harness(dir());
    h.deps.oltp = fakeOltp(
      [{ account_id: 'A1', billing_source: 'zuora', account_name: 'Acme', segment: 'SMB', country: 'DE' }],
      [{ product_id: 'P1', billing_source: 'zuora', product_name: 'Widget', plan_name: 'Pro' }],
    );
    expect((await runOltp(h.deps, { trigger: 'schedule', snapshotDate: '2024-01-01' })).status).toBe('succeeded');
    h.deps.oltp = fakeOltp([{ account_id: 'A1', billing_source: 'zuora', account_name: 'Acme GmbH', segment: 'MID', country: 'DE' }], []);
    await runOltp(h.deps, { trigger: 'schedule', snapshotDate: '2024-01-05' });
    h.landing.deliver('zuora', '2024-01-03T04:00:00Z', {
      name: 'invoice.csv',
      events: [
        ev('zuora', 'x1', '2024-01-03T05:00:00Z', '1', { product: 'P1' }),
        ev('zuora', 'x2', '2024-01-03T05:00:00Z', '1', { account: 'NOPE' }),
        ev('zuora', 'x3', '2024-01-03T05:00:00Z', '1', { account: null }),
      ],
    });
    await runIngest(h.deps, { source: 'zuora', window: W, trigger: 'manual' });
    const got = [...h.wh.rows.get('2024-01-03')!.values()].sort((p, q) => p.sourceRecordId.localeCompare(q.sourceRecordId)).map((e) => e.dims);
    expect(got).toEqual([
      { accountName: 'Acme', accountSegment: 'SMB', accountCountry: 'DE', productName: 'Widget', planName: 'Pro', dimStatus: 'OK' },
      { accountName: null, accountSegment: null, accountCountry: null, productName: null, planName: null, dimStatus: 'MISSING_ACCOUNT' },
      { accountName: null, accountSegment: null, accountCountry: null, productName: null, planName: null, dimStatus: 'NO_KEY' },
    ]);
    // A later event sees the later snapshot (in which P1 no longer exists).
    h.landing.deliver('zuora', '2024-01-06T04:00:00Z', { name: 'invoice.csv', events: [ev('zuora', 'y1', '2024-01-06T05:00:00Z', '1', { product: 'P1' })] });
    await runIngest(h.deps, { source: 'zuora', window: parseWindow('2024-01-06T04:00Z/2024-01-06T08:00Z'), trigger: 'manual' });
    expect([...h.wh.rows.get('2024-01-06')!.values()][0]!.dims).toMatchObject({ accountName: 'Acme GmbH', accountSegment: 'MID', dimStatus: 'MISSING_PRODUCT' });
  });

  it('retries a retriable failure with backoff and succeeds; a run that keeps failing is recorded as failed', async () => {
    const h = harness(dir());
    h.landing.deliver('zuora', '2024-01-03T04:00:00Z', { name: 'invoice.csv', events: [ev('zuora', 'i1', '2024-01-03T05:00:00Z', '1')] });
    h.wh.failNext = [new RetriableError('disk busy'), Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' })];
    const ok = await runIngest(h.deps, { source: 'zuora', window: W, trigger: 'schedule' });
    expect(ok).toMatchObject({ status: 'succeeded', attempts: 3, rowsWritten: 1 });
    expect(h.clock.sleeps).toEqual([1000, 2000]);
    expect(h.log.lines.filter((l) => l.includes('"event":"run.retry"')).map((l) => JSON.parse(l).error)).toEqual(['disk busy', 'read ECONNRESET']);

    h.wh.failNext = [new RetriableError('down'), new RetriableError('down'), new RetriableError('still down')];
    const bad = await runIngest(h.deps, { source: 'zuora', window: parseWindow('2024-01-03T08:00Z/2024-01-03T12:00Z'), trigger: 'schedule' });
    expect(bad).toMatchObject({ status: 'failed', attempts: 3 });
    expect(bad.error).toMatch(/failed after 3 attempts: still down/);
    expect(bad.errorKind).toBe('retriable');
    expect(await h.deps.runs.list({ status: 'failed' })).toHaveLength(1);
    // the lock was released after the failure: the next run of that window can go
    expect(await h.deps.locks.holder(lockNameFor('zuora', parseWindow('2024-01-03T08:00Z/2024-01-03T12:00Z')))).toBeUndefined();
  });

  it('a bug (TypeError) fails the run at once: no backoff, kind "unexpected", the cause kept in the record and the log', async () => {
    const h = harness(dir());
    h.landing.deliver('zuora', '2024-01-03T04:00:00Z', { name: 'invoice.csv', events: [ev('zuora', 'i1', '2024-01-03T05:00:00Z', '1')] });
    h.wh.failNext = [new Error('staging failed', { cause: new TypeError("Cannot read properties of undefined (reading 'eventId')") })];
    const r = await runIngest(h.deps, { source: 'zuora', window: W, trigger: 'schedule' });
    expect(r).toMatchObject({ status: 'failed', attempts: 1, errorKind: 'unexpected' });
    expect(r.error).toBe("staging failed: caused by: Cannot read properties of undefined (reading 'eventId')");
    expect(h.clock.sleeps).toEqual([]);
    const failed = h.log.lines.map((l) => JSON.parse(l)).find((l) => l.event === 'run.failed');
    expect(failed).toMatchObject({ errorKind: 'unexpected', error: r.error });
  });

  it('a manual OLTP run honours its retry policy (one attempt), not the scheduler\'s 4', async () => {
    const h = harness(dir());
    let calls = 0;
    h.deps.oltp = {
      read: async () => {
        calls++;
        throw new RetriableError('cannot connect to the OLTP database on 127.0.0.1:1');
      },
    };
    const r = await runOltp(h.deps, { trigger: 'manual', snapshotDate: '2024-01-03', retry: { ...h.deps.settings.retry, maxAttempts: 1 } });
    expect(r).toMatchObject({ status: 'failed', attempts: 1, errorKind: 'retriable' });
    expect(calls).toBe(1);
    expect(h.clock.sleeps).toEqual([]);
  });

  it('rejects an unknown source naming the configured ones', async () => {
    const h = harness(dir());
    await expect(runIngest(h.deps, { source: 'paypal', window: W, trigger: 'manual' })).rejects.toThrow(ConfigError);
    await expect(runIngest(h.deps, { source: 'paypal', window: W, trigger: 'manual' })).rejects.toThrow(/unknown source "paypal"[\s\S]*zuora, stripe/);
  });

  it('the default window is the one that just closed', () => {
    expect(defaultWindow(Date.parse('2024-01-03T08:00:10Z'))).toEqual(W);
  });
});

describe('a scheduler run and a backfill on the same window', () => {
  it('take the same lock: the second waits, then finds the window loaded and skips; rows are written once', async () => {
    const h = harness(dir(), { autoAdvance: false });
    h.landing.deliver('zuora', '2024-01-03T04:00:00Z', { name: 'invoice.csv', events: [ev('zuora', 'i1', '2024-01-03T05:00:00Z', '10'), ev('zuora', 'i2', '2024-01-03T05:30:00Z', '20')] });
    let open!: () => void;
    h.wh.gate = new Promise<void>((r) => (open = r));
    const scheduled = runIngest(h.deps, { source: 'zuora', window: W, trigger: 'schedule' });
    await h.landing.readsReached(1); // the scheduled run started reading
    const backfill = runIngest(h.deps, { source: 'zuora', window: W, trigger: 'backfill', skipIfLoaded: true });
    await h.clock.sleeping(); // the backfill backs off: lock busy → retry later
    expect(h.log.lines.some((l) => l.includes('"event":"run.retry"') && l.includes('is locked by schedule run'))).toBe(true);
    h.wh.gate = undefined;
    open();
    expect((await scheduled).status).toBe('succeeded');
    await h.clock.advance(1000);
    const b = await backfill;
    expect(b).toMatchObject({ status: 'skipped', note: 'window already loaded', attempts: 2 });
    expect(h.wh.count()).toBe(2);
    expect(h.wh.commits).toHaveLength(1);
  });
});
