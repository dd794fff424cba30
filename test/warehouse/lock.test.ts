import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RetriableError } from '../../events/errors.js';
import { ManualClock } from '../../jobs/clock.js';
import { LockBusyError, LockManager, type LeaseClock, type LeaseInfo } from '../../warehouse/lock.js';
import { LOCKS_DIR, WRITER_LOCK } from '../../warehouse/core.js';
import { FactTable, LocalStorage, type ObjectStorage } from '../../warehouse/index.js';
import { MemoryStorage } from '../helpers/memory-storage.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { readFactText } from './duck-read.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-lock-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const WRITER_DIR = `${LOCKS_DIR}/${WRITER_LOCK}`;

/** A lease as another process (maybe on another host) left it in the store. */
async function plantLease(s: ObjectStorage, l: Partial<LeaseInfo> & { fence: number }): Promise<void> {
  const lease: LeaseInfo = { name: WRITER_LOCK, token: 'other', owner: 'ingest stripe', pid: 4242, host: os.hostname(), acquiredAt: 0, expiresAt: 60_000, ...l };
  expect(await s.createExclusive(`${WRITER_DIR}/${String(l.fence).padStart(10, '0')}.lease`, JSON.stringify(lease))).toBe(true);
}

const ADAPTERS: [string, () => ObjectStorage][] = [
  ['local disk', () => new LocalStorage(tmp())],
  ['memory (no links, no rename)', () => new MemoryStorage()],
];

for (const [adapter, make] of ADAPTERS) {
  describe(`lease lock through the storage seam: ${adapter}`, () => {
    it('exactly one of many racing contenders gets the lock; the fence grows with every holder', async () => {
      const s = make();
      const clock = new ManualClock(0);
      const managers = Array.from({ length: 8 }, (_, i) => new LockManager({ storage: s, prefix: 'locks', clock, pid: 1000 + i, isAlive: () => true }));
      const got = await Promise.all(managers.map((m) => m.tryAcquire('job')));
      expect(got.filter(Boolean)).toHaveLength(1);
      const first = got.find(Boolean)!;
      expect(first.fence).toBe(1);
      await first.release();
      const second = (await Promise.all(managers.map((m) => m.tryAcquire('job')))).filter(Boolean);
      expect(second).toHaveLength(1);
      expect(second[0]!.fence).toBe(2);
      // only the highest lease is kept
      expect(await s.list('locks/job')).toEqual(['0000000002.lease']);
    });

    it('a lease of another host is taken only after it expires, whatever its pid; the stalled holder then cannot commit', async () => {
      const s = make();
      const clock = new ManualClock(0);
      const there = new LockManager({ storage: s, clock, ttlMs: 60_000, host: 'other-host', pid: 4242, isAlive: () => false });
      const here = new LockManager({ storage: s, clock, ttlMs: 60_000, isAlive: () => false });
      const old = await there.acquire('writer');
      await clock.advance(59_999);
      await expect(here.acquire('writer')).rejects.toThrow(/locked by pid 4242 \(pid 4242 on other-host, since 1970-01-01T00:00:00.000Z, lease until 1970-01-01T00:01:00.000Z\)/);
      await clock.advance(1);
      const taken = await here.acquire('writer');
      expect(taken.fence).toBe(old.fence + 1);
      await expect(old.assertHeld()).rejects.toThrow(/lock "writer" was lost .*its lease expired and pid \d+ on .* took it over/);
      await expect(old.renew()).rejects.toBeInstanceOf(RetriableError);
      await old.release(); // must not free the new holder's lock
      expect((await here.holder('writer'))?.token).toBe(taken.info.token);
      await taken.assertHeld();
    });

    it('a holder on this host whose process is gone is replaced at once (its lease has not expired)', async () => {
      const s = make();
      const clock = new ManualClock(0);
      const dead = await new LockManager({ storage: s, clock, pid: 4242, isAlive: () => true }).acquire('writer');
      const here = new LockManager({ storage: s, clock, isAlive: (pid) => pid !== 4242 });
      expect((await here.holder('writer'))?.pid).toBe(4242); // the last holder, for messages
      expect(await here.liveHolder('writer')).toBeUndefined(); // but nobody holds it (doctor: no scheduler running)
      const lock = await here.acquire('writer');
      expect(lock.fence).toBe(dead.fence + 1);
    });

    it('the heartbeat renews the lease every third of it, so a long holder keeps the lock', async () => {
      const s = make();
      let t = 0;
      let sleeps = 0;
      const stop = new AbortController();
      const clock: LeaseClock = {
        now: () => t,
        sleep: async (ms) => {
          t += ms;
          if (++sleeps === 9) stop.abort(); // 9 thirds: three lease lengths later
        },
      };
      const m = new LockManager({ storage: s, clock, ttlMs: 30_000, isAlive: () => true, pid: 1 });
      const lock = await m.acquire('x');
      await lock.heartbeat(stop.signal);
      expect(t).toBe(90_000);
      expect(lock.info.expiresAt).toBeGreaterThan(t);
      const other = new LockManager({ storage: s, clock, ttlMs: 30_000, isAlive: () => true, pid: 2 });
      expect(await other.tryAcquire('x')).toBeUndefined();
    });

    it('acquireWithin waits for the holder, then fails retriably naming the holder and where the lock is', async () => {
      const s = make();
      const clock = new ManualClock(0, true);
      await new LockManager({ storage: s, prefix: LOCKS_DIR, clock, ttlMs: 3_600_000, pid: 4242, isAlive: () => true, owner: 'ingest stripe' }).acquire(WRITER_LOCK);
      const m = new LockManager({ storage: s, prefix: LOCKS_DIR, clock, isAlive: () => true });
      const p = m.acquireWithin(WRITER_LOCK, { timeoutMs: 5_000, pollMs: 1_000 });
      await expect(p).rejects.toBeInstanceOf(LockBusyError);
      await expect(p).rejects.toThrow(new RegExp(`"writer" \\(${s.root.replace(/[/.]/g, '\\$&')}/_store/locks/writer, waited 5 s\\) is locked by ingest stripe \\(pid 4242`));
      expect(clock.sleeps).toEqual([1_000, 1_000, 1_000, 1_000, 1_000]);
    });
  });
}

describe('the warehouse writer lock', () => {
  it('recovers from a holder that died on this host and commits', async () => {
    const wh = tmp();
    await plantLease(new LocalStorage(wh), { fence: 7, pid: 2 ** 22 + 12345, expiresAt: Date.now() + 3_600_000 });
    const t = await FactTable.open(wh);
    await t.writeDimensionSnapshot('dim_product', '2024-01-03', [{ product_id: 'p1' }]);
    expect(readdirSync(path.join(wh, WRITER_DIR))).toEqual(['0000000008.lease']);
    const lease = JSON.parse(readFileSync(path.join(wh, WRITER_DIR, '0000000008.lease'), 'utf8')) as LeaseInfo;
    expect(lease.pid).toBe(process.pid);
    expect(lease.releasedAt).toBeGreaterThan(0);
  });

  it('a writer on another host that died blocks the next writer only until its lease expires; then it is taken over', async () => {
    const wh = tmp();
    let t = Date.parse('2030-01-01T00:00:00Z');
    const polls: number[] = [];
    // polling advances time; the heartbeat (any other sleep) waits until the commit ends
    const clock: LeaseClock = {
      now: () => t,
      sleep: (ms, signal) =>
        ms === 10_000
          ? (polls.push(ms), (t += ms), Promise.resolve())
          : new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true }))),
    };
    // its pid is alive here, but it is another host's pid: only the lease's expiry counts
    await plantLease(new LocalStorage(wh), { fence: 3, host: 'dead-host', pid: process.pid, acquiredAt: t, expiresAt: t + 120_000 });
    const table = await FactTable.open(wh, { lockClock: clock, lockPollMs: 10_000, lockTimeoutMs: 600_000 });
    await table.writeDimensionSnapshot('dim_product', '2024-01-03', [{ product_id: 'p1' }]);
    expect(polls).toHaveLength(12); // 120 s of lease, polled every 10 s
    expect((await table.history()).map((h) => h.version)).toEqual([1]);
    expect(readdirSync(path.join(wh, WRITER_DIR))).toEqual(['0000000004.lease']);
  });

  it('a writer that lost its lease while committing publishes nothing (fencing before the commit point)', async () => {
    const wh = tmp();
    const events = sampleEvents({ days: ['2024-01-03'], count: 20 });
    const first = await FactTable.open(wh);
    await first.commitIngest({ runId: 'r1', source: 'stripe', windows: [], inputs: [{ path: 'a', sha256: 'a', bytes: 1 }], events: streamOf(events), quarantine: [] });
    const before = await readFactText(wh);
    const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
    const stalled = await FactTable.open(wh, {
      lockClock: clock,
      lockTtlMs: 60_000,
      faults: async (point) => {
        if (point !== 'ingest:after-version-dir') return;
        // another host, whose clock is past our lease, takes the lock over while we are stalled here
        const there = new LockManager({ storage: new LocalStorage(wh), prefix: LOCKS_DIR, clock: new ManualClock(clock.now() + 120_000), host: 'other-host' });
        expect(await there.tryAcquire(WRITER_LOCK, 'compaction on other-host')).toBeDefined();
      },
    });
    const more = sampleEvents({ days: ['2024-01-03'], count: 20, prefix: 'x' });
    await expect(stalled.commitIngest({ runId: 'r2', source: 'stripe', windows: [], inputs: [{ path: 'b', sha256: 'b', bytes: 1 }], events: streamOf(more), quarantine: [] })).rejects.toThrow(
      /lock "writer" was lost .*compaction on other-host on other-host took it over.*nothing was published/,
    );
    expect(await readFactText(wh)).toEqual(before);
    expect(readdirSync(path.join(wh, '_store', 'log'))).toEqual(['0000000001.json']);
  });
});

describe('optimistic check behind the lock', () => {
  it('publishes nothing when another writer took the version number first', async () => {
    const wh = tmp();
    const events = sampleEvents({ days: ['2024-01-03'], count: 20 });
    const ok = await FactTable.open(wh);
    await ok.commitIngest({ runId: 'r1', source: 'stripe', windows: [], inputs: [{ path: 'a', sha256: 'a', bytes: 1 }], events: streamOf(events), quarantine: [] });
    const before = await readFactText(wh);
    const racing = await FactTable.open(wh, {
      faults: (point) => {
        if (point === 'ingest:after-version-dir') writeFileSync(path.join(wh, '_store', 'log', '0000000002.json'), '{}');
      },
    });
    const more = sampleEvents({ days: ['2024-01-03'], count: 20, prefix: 'x' });
    await expect(racing.commitIngest({ runId: 'r2', source: 'stripe', windows: [], inputs: [{ path: 'b', sha256: 'b', bytes: 1 }], events: streamOf(more), quarantine: [] })).rejects.toThrow(
      /another writer committed version 2 .* nothing was published, run again/,
    );
    expect(await readFactText(wh)).toEqual(before);
  });

  it('reports a corrupt commit log entry with its path and what to do', async () => {
    const wh = tmp();
    const t = await FactTable.open(wh);
    await t.writeDimensionSnapshot('dim_product', '2024-01-03', [{ product_id: 'p1' }]);
    writeFileSync(path.join(wh, '_store', 'log', '0000000001.json'), '{"version": 1,');
    await expect(t.history()).rejects.toThrow(/commit log entry .*0000000001\.json is not valid JSON .*restore that file from backup/);
  });
});
