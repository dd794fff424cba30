import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../jobs/clock.js';
import { LockBusyError, LockManager } from '../../warehouse/lock.js';
import { ROOT, requireBuilt, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function tmp() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function child(dir: string, name: string, mode: 'hold' | 'try'): { proc: ChildProcess; first: Promise<string> } {
  requireBuilt('warehouse/lock.js');
  const proc = spawn(process.execPath, [path.join(ROOT, 'test/jobs/fixtures/lock-child.mjs'), dir, name, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => proc.kill('SIGKILL'));
  const rl = createInterface({ input: proc.stdout! });
  const first = new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`child exited ${code} before reporting`)));
  });
  return { proc, first };
}

describe('LockManager in one process', () => {
  it('lets exactly one of two concurrent contenders in, and frees the lock on release', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const locks = new LockManager({ dir: tmp(), clock });
    const [a, b] = await Promise.all([locks.tryAcquire('ingest:zuora:w1'), locks.tryAcquire('ingest:zuora:w1')]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const held = (a ?? b)!;
    await expect(locks.acquire('ingest:zuora:w1', 'backfill')).rejects.toBeInstanceOf(LockBusyError);
    expect(await locks.tryAcquire('ingest:zuora:w2')).toBeDefined();
    await held.release();
    expect(await locks.tryAcquire('ingest:zuora:w1')).toBeDefined();
  });

  it('takes over a lease that expired (holder alive but hung), and the old holder learns it lost the lock', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const dir = tmp();
    const mine = new LockManager({ dir, clock, ttlMs: 60_000, isAlive: () => true });
    const other = new LockManager({ dir, clock, ttlMs: 60_000, isAlive: () => true, pid: 424242 });
    const old = await other.acquire('job');
    await clock.advance(59_000);
    expect(await mine.tryAcquire('job')).toBeUndefined();
    await clock.advance(2_000);
    const taken = await mine.tryAcquire('job');
    expect(taken?.info.pid).toBe(process.pid);
    await expect(old.renew()).rejects.toThrow(/lock "job" was lost/);
    await old.release(); // must not delete the new holder's lock
    expect((await mine.holder('job'))?.token).toBe(taken!.info.token);
  });

  it('renewal keeps a live lease from expiring', async () => {
    const clock = new ManualClock(0);
    const dir = tmp();
    const a = new LockManager({ dir, clock, ttlMs: 30_000, isAlive: () => true, pid: 1111 });
    const b = new LockManager({ dir, clock, ttlMs: 30_000, isAlive: () => true });
    const lock = await a.acquire('x');
    for (let i = 0; i < 10; i++) {
      await clock.advance(10_000);
      await lock.renew();
    }
    expect(await b.tryAcquire('x')).toBeUndefined();
    await clock.advance(30_000);
    await expect(lock.renew()).resolves.toBeUndefined(); // nobody took it yet: renewal of an expired but untaken lease works
    await lock.release();
    expect(await b.tryAcquire('x')).toBeDefined();
  });
});

describe('withLocks waits for the locks it is told to wait for (a source\'s MRR lock), bounded', () => {
  /** A lease clock whose sleeps move time at once and call `onSleep` (no real sleeping). */
  function steppingClock(onSleep: (n: number) => Promise<void> | void) {
    let t = Date.parse('2024-01-01T00:00:00Z');
    let n = 0;
    return {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
        await onSleep(++n);
      },
      sleeps: () => n,
    };
  }

  it('waits while another run holds the waited lock and runs once it is released; a busy lock not waited for still fails at once', async () => {
    const dir = tmp();
    let release: (() => Promise<void>) | null = null;
    const clock = steppingClock(async (n) => {
      if (n === 3) await release!();
    });
    const locks = new LockManager({ dir, clock, heartbeat: false, isAlive: () => true });
    const other = new LockManager({ dir, clock, heartbeat: false, pid: 424242, isAlive: () => true });
    const held = await other.acquire('mrr:chargebee', 'run A');
    release = () => held.release();
    let ran = false;
    await locks.withLocks(['ingest:chargebee:w2', 'mrr:chargebee'], async () => void (ran = true), 'run B', { names: ['mrr:chargebee'], timeoutMs: 60_000, pollMs: 100 });
    expect(ran).toBe(true);
    expect(clock.sleeps()).toBe(3); // polled until run A let go
    // the run's own window lock was not waited for: busy, it fails at once (no sleep)
    const w = await other.acquire('ingest:chargebee:w3', 'run C');
    await expect(locks.withLocks(['ingest:chargebee:w3', 'mrr:chargebee'], async () => undefined, 'run D', { names: ['mrr:chargebee'], timeoutMs: 60_000, pollMs: 100 })).rejects.toBeInstanceOf(LockBusyError);
    expect(clock.sleeps()).toBe(3);
    await w.release();
  });

  it('gives up after timeoutMs with LockBusyError naming the holder, and releases the locks it had taken', async () => {
    const dir = tmp();
    const clock = steppingClock(() => undefined);
    const locks = new LockManager({ dir, clock, heartbeat: false, isAlive: () => true });
    const other = new LockManager({ dir, clock, heartbeat: false, pid: 424242, isAlive: () => true, ttlMs: 10 * 60 * 60_000 });
    await other.acquire('mrr:chargebee', 'run A');
    const e = await locks.withLocks(['ingest:chargebee:w2', 'mrr:chargebee'], async () => undefined, 'run B', { names: ['mrr:chargebee'], timeoutMs: 1_000, pollMs: 100 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LockBusyError);
    expect((e as Error).message).toMatch(/locked by run A/);
    expect(clock.sleeps()).toBe(10);
    expect(await locks.holder('ingest:chargebee:w2')).toBeUndefined(); // all or none
  });
});

describe('a deferred lock (taken part-way through a run: a source\'s MRR lock on the worker path)', () => {
  it('take() waits for the holder like withLocks, once; release() lets go, and does nothing when never taken', async () => {
    const dir = tmp();
    let release: (() => Promise<void>) | null = null;
    let t = Date.parse('2024-01-01T00:00:00Z');
    let sleeps = 0;
    const clock = { now: () => t, sleep: async (ms: number) => { t += ms; if (++sleeps === 2) await release!(); } };
    const locks = new LockManager({ dir, clock, heartbeat: false, isAlive: () => true });
    const other = new LockManager({ dir, clock, heartbeat: false, pid: 424242, isAlive: () => true });
    await locks.deferred('mrr:chargebee', { timeoutMs: 60_000, pollMs: 100 }).release(); // never taken: nothing
    const held = await other.acquire('mrr:chargebee', 'run A');
    release = () => held.release();
    const d = locks.deferred('mrr:chargebee', { timeoutMs: 60_000, pollMs: 100, owner: 'run B' });
    expect(await locks.holder('mrr:chargebee')).toMatchObject({ owner: 'run A' }); // nothing taken before take()
    await d.take();
    expect(sleeps).toBe(2);
    expect(await locks.holder('mrr:chargebee')).toMatchObject({ owner: 'run B' });
    await d.take(); // already held: no second lease, no wait
    expect(sleeps).toBe(2);
    await d.release();
    expect(await locks.holder('mrr:chargebee')).toBeUndefined();
  });

  it('release() throws when the lease was lost while held (the run must not count as done)', async () => {
    const dir = tmp();
    let t = Date.parse('2024-01-01T00:00:00Z');
    // a clock whose sleeps end only when aborted: the heartbeat never gets to renew
    const clock = { now: () => t, sleep: (_ms: number, signal?: AbortSignal) => new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true })) };
    const locks = new LockManager({ dir, clock, ttlMs: 3_000, isAlive: () => true });
    const thief = new LockManager({ dir, clock, heartbeat: false, pid: 424242, isAlive: () => true });
    const d = locks.deferred('mrr:stripe', { timeoutMs: 1_000, pollMs: 100, owner: 'run B' });
    await d.take();
    t += 4_000; // the lease expires unrenewed...
    expect(await thief.tryAcquire('mrr:stripe', 'run C')).toBeDefined(); // ...and another run takes it over
    await expect(d.release()).rejects.toThrow(/lock "mrr:stripe" was lost/);
  });
});

describe('LockManager across processes', () => {
  it('prevents overlap between two processes and recovers when the holder is killed', async () => {
    const dir = tmp();
    const name = 'ingest:stripe:2024-01-03T04:00Z/2024-01-03T08:00Z';
    const holder = child(dir, name, 'hold');
    expect(await holder.first).toBe('ACQUIRED');

    const contender = child(dir, name, 'try');
    expect(await contender.first).toBe('BUSY');

    const clock = new ManualClock(Date.now());
    const here = new LockManager({ dir, clock });
    await expect(here.acquire(name)).rejects.toThrow(new RegExp(`locked by child ${holder.proc.pid} \\(pid ${holder.proc.pid}`));

    const exited = new Promise((r) => holder.proc.once('exit', r));
    holder.proc.kill('SIGKILL');
    await exited;
    // The crashed holder's lease has not expired, but its pid is gone: the lock is recovered at once.
    const lock = await here.tryAcquire(name);
    expect(lock).toBeDefined();
    const third = child(dir, name, 'try');
    expect(await third.first).toBe('BUSY');
    await lock!.release();
    const fourth = child(dir, name, 'try');
    expect(await fourth.first).toBe('ACQUIRED');
  });
});
