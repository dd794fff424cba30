/**
 * The one lock of billing-mart: leases with a heartbeat, held through the storage seam, safe across hosts.
 * Used by the warehouse's writer lock (`_store/locks/writer/`) and by the jobs (per source/window locks under
 * `<state>/locks/`).
 *
 * A lock `name` is a key prefix holding numbered lease objects `<prefix>/<name>/<fence>.lease` (JSON: token,
 * owner, pid, host, acquiredAt, expiresAt, fence). The holder is the lease with the highest fence. Every change
 * of holder is one atomic create-if-absent (`ObjectStorage.createExclusive`, a conditional put on an object
 * store): to take the lock after fence N, a contender creates `N+1`; of racing contenders exactly one succeeds.
 * No rename, link or delete decides anything, so an object-store adapter can hold the lock.
 * - Taking a held lock is only possible once its lease is stale: expired (`expiresAt <= now`; a holder renews
 *   it every ttl/3, `heartbeat`), released, or held by a process of this host that is gone (a fast path: on
 *   another host only the lease's expiry counts, never a pid).
 * - The fence is a fencing token: it only grows. `assertHeld` (before a commit point) and `renew` fail once a
 *   higher fence exists, so a holder that stalled past its lease learns it lost the lock and stops.
 * - The highest lease is never deleted (release rewrites it as released); older ones are removed by the next
 *   holder. A creator that finds a higher fence than its own after creating (it read an old listing) withdraws.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RetriableError } from '../events/errors.js';
import { diskFullCode } from '../events/io.js';
import { LocalStorage, type ObjectStorage } from './storage.js';

/** Time for leases: wall time shared by every process that may contend (tests pass a manual clock). */
export interface LeaseClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const wallClock: LeaseClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export const HOST = hostname();

/** True when a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LeaseInfo {
  name: string;
  token: string;
  /** Who holds it, for messages (e.g. "ingest run 2024…-zuora"). */
  owner: string;
  pid: number;
  host: string;
  acquiredAt: number;
  expiresAt: number;
  /** Fencing token: the lease's number, higher for every new holder. */
  fence: number;
  /** Set when the holder let go. */
  releasedAt?: number;
}

export class LockBusyError extends RetriableError {
  constructor(readonly lockName: string, readonly holder: LeaseInfo | undefined, where?: string) {
    super(
      holder
        ? `"${lockName}"${where ? ` (${where})` : ''} is locked by ${holder.owner} (pid ${holder.pid} on ${holder.host}, since ${iso(holder.acquiredAt)}, lease until ${iso(holder.expiresAt)}); it will be retried`
        : `"${lockName}" is locked by another process; it will be retried`,
    );
    this.name = 'LockBusyError';
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface LockOptions {
  /** Where the leases live: a storage adapter, or a local directory (a LocalStorage on it that does not fsync leases). */
  storage?: ObjectStorage;
  dir?: string;
  /** Key prefix of the locks inside `storage` ('' = its root). */
  prefix?: string;
  clock: LeaseClock;
  /** Lease length; a holder that stops renewing loses the lock after this (default 10 min). */
  ttlMs?: number;
  /** Who holds it, for messages. */
  owner?: string;
  /** Liveness check for a pid on this host (injectable for tests). */
  isAlive?: (pid: number) => boolean;
  pid?: number;
  host?: string;
  /** Renew held locks in withLock() every ttl/3 (default true; tests driving a manual clock turn it off). */
  heartbeat?: boolean;
}

const FENCE_DIGITS = 10;
const LEASE_RE = /^(\d{10})\.lease$/;

function leaseName(fence: number): string {
  return `${String(fence).padStart(FENCE_DIGITS, '0')}.lease`;
}

export function isStale(lease: LeaseInfo, nowMs: number, isAlive: (pid: number) => boolean, host = HOST): boolean {
  if (lease.releasedAt !== undefined || lease.expiresAt <= nowMs) return true;
  return lease.host === host && !isAlive(lease.pid);
}

interface Top {
  fence: number;
  lease: LeaseInfo;
  /** Every lease number under the lock (for cleaning up older ones). */
  fences: number[];
}

/** A lock taken part-way through a span (LockManager.deferred). */
export interface DeferredLock {
  readonly name: string;
  /** Waits (bounded) for the lock the first time; resolves at once when already held. */
  take(): Promise<void>;
  /** Lets the lock go (nothing when never taken); throws if its lease was lost while held. */
  release(): Promise<void>;
}

export class Lease {
  private released = false;
  constructor(
    private readonly m: LockManager,
    private lease: LeaseInfo,
  ) {}
  get info(): LeaseInfo {
    return this.lease;
  }
  get name(): string {
    return this.lease.name;
  }
  get fence(): number {
    return this.lease.fence;
  }
  /** Throws (retriable) if another holder took the lock over: the work it protects must not be published. */
  async assertHeld(): Promise<void> {
    const top = await this.m.top(this.lease.name);
    if (!top || top.fence !== this.lease.fence || top.lease.token !== this.lease.token || top.lease.releasedAt !== undefined) {
      throw new RetriableError(
        `lock "${this.lease.name}" was lost (${this.m.where(this.lease.name)}: its lease expired and ${top ? `${top.lease.owner} on ${top.lease.host} took it over` : 'it was removed'}); nothing was published, run again`,
      );
    }
  }
  /** Extends the lease. Throws if the lock was taken over (the holder must stop: its work is no longer protected). */
  async renew(): Promise<void> {
    await this.assertHeld();
    const next = { ...this.lease, expiresAt: this.m.clock.now() + this.m.ttlMs };
    await this.m.storage.writeDurable(this.m.key(this.lease.name, this.lease.fence), JSON.stringify(next));
    this.lease = next;
  }
  /** Renews every ttl/3 until `signal` aborts or release(); rejects when the lock was lost. */
  async heartbeat(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.released) {
      await this.m.clock.sleep(Math.max(1, Math.floor(this.m.ttlMs / 3)), signal);
      if (signal.aborted || this.released) return;
      await this.renew();
    }
  }
  /** Lets go (the lease is rewritten as released, so the fence keeps growing); nothing happens if it was taken over. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const top = await this.m.top(this.lease.name);
    if (top?.fence === this.lease.fence && top.lease.token === this.lease.token) {
      const key = this.m.key(this.lease.name, this.lease.fence);
      try {
        await this.m.storage.writeDurable(key, JSON.stringify({ ...this.lease, releasedAt: this.m.clock.now() }));
      } catch (e) {
        if (diskFullCode(e) === undefined) throw e;
        // no room to rewrite the lease: delete it (needs no space), so the lock is free; the next holder reuses this fence
        await this.m.storage.removeFile(key);
      }
    }
  }
}

export class LockManager {
  readonly storage: ObjectStorage;
  readonly clock: LeaseClock;
  readonly ttlMs: number;
  private readonly prefix: string;
  private readonly isAlive: (pid: number) => boolean;
  private readonly pid: number;
  private readonly host: string;
  constructor(private readonly o: LockOptions) {
    if (!o.storage && !o.dir) throw new Error('LockManager needs a storage or a dir');
    // a lease needs atomic create and replace, not durability: after the machine crashed its holders are gone too
    this.storage = o.storage ?? new LocalStorage(o.dir!, { fsync: false });
    this.prefix = o.prefix ? o.prefix.replace(/\/+$/, '') + '/' : '';
    this.clock = o.clock;
    this.ttlMs = o.ttlMs ?? 10 * 60_000;
    this.isAlive = o.isAlive ?? processAlive;
    this.pid = o.pid ?? process.pid;
    this.host = o.host ?? HOST;
  }

  private dirOf(name: string): string {
    return `${this.prefix}${name.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
  }
  key(name: string, fence: number): string {
    return `${this.dirOf(name)}/${leaseName(fence)}`;
  }
  /** The lock's location, for messages. */
  where(name: string): string {
    return `${this.storage.root}/${this.dirOf(name)}`;
  }

  /** The highest lease of `name` (its current or last holder), or null when it never was taken. */
  async top(name: string): Promise<Top | null> {
    for (let round = 0; ; round++) {
      const fences = (await this.storage.list(this.dirOf(name)))
        .map((n) => LEASE_RE.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
      const fence = fences.at(-1);
      if (fence === undefined) return null;
      const text = await this.storage.readText(this.key(name, fence));
      if (text === null) {
        if (round < 5) continue; // a withdrawn lease (its creator found a higher one): list again
        throw new RetriableError(`lock "${name}" at ${this.where(name)} keeps changing under us; it will be retried`);
      }
      let lease: LeaseInfo;
      try {
        lease = JSON.parse(text) as LeaseInfo;
      } catch (e) {
        throw new Error(`lock file ${this.storage.root}/${this.key(name, fence)} is corrupt (${(e as Error).message}); remove it if no billing-mart process is running`, { cause: e });
      }
      return { fence, lease, fences };
    }
  }

  /** Who holds `name` now (undefined when free or released; an expired lease is still shown until taken over). */
  async holder(name: string): Promise<LeaseInfo | undefined> {
    const top = await this.top(name);
    return top && top.lease.releasedAt === undefined ? top.lease : undefined;
  }

  /** The holder of `name` if its lease is live (not expired, released, or held by a process of this host that is gone). */
  async liveHolder(name: string): Promise<LeaseInfo | undefined> {
    const top = await this.top(name);
    return top && !isStale(top.lease, this.clock.now(), this.isAlive, this.host) ? top.lease : undefined;
  }

  /** Takes the lock or returns undefined when a live holder has it. A stale lease is taken over. */
  async tryAcquire(name: string, owner = this.o.owner ?? `pid ${this.pid}`): Promise<Lease | undefined> {
    for (let round = 0; round < 5; round++) {
      const now = this.clock.now();
      const top = await this.top(name);
      if (top && !isStale(top.lease, now, this.isAlive, this.host)) return undefined;
      const fence = (top?.fence ?? 0) + 1;
      const lease: LeaseInfo = { name, token: randomBytes(12).toString('hex'), owner, pid: this.pid, host: this.host, acquiredAt: now, expiresAt: now + this.ttlMs, fence };
      if (!(await this.storage.createExclusive(this.key(name, fence), JSON.stringify(lease)))) continue; // another contender moved first: look again
      const after = await this.top(name);
      if (!after || after.fence !== fence) {
        // we created a number below the highest (our listing was old): withdraw, never hold two
        await this.storage.removeFile(this.key(name, fence));
        continue;
      }
      for (const f of after.fences) if (f < fence) await this.storage.removeFile(this.key(name, f));
      return new Lease(this, lease);
    }
    return undefined;
  }

  /** Like tryAcquire, but throws LockBusyError (retriable) naming the holder. */
  async acquire(name: string, owner?: string): Promise<Lease> {
    const lock = await this.tryAcquire(name, owner);
    if (!lock) throw new LockBusyError(name, await this.holder(name));
    return lock;
  }

  /** Waits up to `timeoutMs` (polling every `pollMs`) for the lock; then LockBusyError naming the holder and the lock. */
  async acquireWithin(name: string, w: { timeoutMs: number; pollMs: number; owner?: string }): Promise<Lease> {
    const deadline = this.clock.now() + w.timeoutMs;
    for (;;) {
      const lock = await this.tryAcquire(name, w.owner);
      if (lock) return lock;
      if (this.clock.now() >= deadline) throw new LockBusyError(name, await this.holder(name), `${this.where(name)}, waited ${Math.round(w.timeoutMs / 1000)} s`);
      await this.clock.sleep(w.pollMs);
    }
  }

  /** Runs `fn` holding the lock (renewed while it runs); LockBusyError if a live holder has it. */
  async withLock<T>(name: string, fn: (lock: Lease) => Promise<T>, owner?: string): Promise<T> {
    return this.holding([await this.acquire(name, owner)], (held) => fn(held[0]!));
  }

  /**
   * Runs `fn` holding every lock of `names` (taken in sorted order; all or none: when one is busy the ones
   * already taken are released and LockBusyError is thrown). The locks of `wait.names` are waited for instead, up
   * to `wait.timeoutMs` each (polling every `wait.pollMs`): a lock its holder keeps only for a while (a source's
   * MRR state, one run at a time), where failing and retrying after a backoff would only lose time. The sorted
   * order keeps two such waiters from waiting on each other.
   */
  async withLocks<T>(names: string[], fn: () => Promise<T>, owner?: string, wait?: { names: readonly string[]; timeoutMs: number; pollMs: number }): Promise<T> {
    const sorted = [...new Set(names)].sort();
    const held: Lease[] = [];
    try {
      for (const n of sorted) {
        if (wait?.names.includes(n)) {
          held.push(await this.acquireWithin(n, { timeoutMs: wait.timeoutMs, pollMs: wait.pollMs, ...(owner ? { owner } : {}) }));
          continue;
        }
        const l = await this.tryAcquire(n, owner);
        if (!l) throw new LockBusyError(n, await this.holder(n));
        held.push(l);
      }
    } catch (e) {
      for (const l of held) await l.release();
      throw e;
    }
    return this.holding(held, () => fn());
  }

  /**
   * A lock needed only from some step of a span on (a source's MRR state: from its MRR plan to the publish, not
   * while the records are read): `take()` waits for it as acquireWithin does (once; later calls return at once),
   * a heartbeat renews it, and `release()` lets it go, throwing if the lease was lost meanwhile (seen by the
   * heartbeat, or by a last look at release). Releasing a lock
   * never taken does nothing.
   */
  deferred(name: string, w: { timeoutMs: number; pollMs: number; owner?: string }): DeferredLock {
    let held: { lease: Lease; stop: AbortController; beat: Promise<unknown> } | null = null;
    let taking: Promise<void> | null = null;
    return {
      name,
      take: () =>
        (taking ??= this.acquireWithin(name, w).then((lease) => {
          const stop = new AbortController();
          const beat = this.o.heartbeat === false ? Promise.resolve(undefined) : this.renewAll([lease], stop.signal).catch((e: unknown) => e);
          held = { lease, stop, beat };
        })),
      release: async () => {
        if (taking) await taking.catch(() => undefined);
        if (!held) return;
        const { lease, stop, beat } = held;
        held = null;
        stop.abort();
        const err = (await beat) ?? (await lease.assertHeld().then(() => undefined, (e: unknown) => e));
        await lease.release();
        if (err instanceof Error) throw err;
      },
    };
  }

  /** Runs `fn` while one heartbeat renews `held`; releases them after. A lost lock fails the run once `fn` ends. */
  async holding<T>(held: Lease[], fn: (held: Lease[]) => Promise<T>): Promise<T> {
    const stop = new AbortController();
    const beat = this.o.heartbeat === false ? Promise.resolve(undefined) : this.renewAll(held, stop.signal).catch((e: unknown) => e);
    try {
      return await fn(held);
    } finally {
      stop.abort();
      const err = await beat;
      for (const l of held) await l.release();
      if (err instanceof Error) throw err;
    }
  }

  private async renewAll(locks: Lease[], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.clock.sleep(Math.max(1, Math.floor(this.ttlMs / 3)), signal);
      if (signal.aborted) return;
      for (const l of locks) await l.renew();
    }
  }
}
