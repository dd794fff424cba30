/**
 * Cross-process locks on one machine, no server: a lock is a file `<dir>/<name>.lock` created atomically
 * (complete content written to a temp file, then link()ed into place — link fails if the lock exists).
 * The content is a lease: {token, pid, host, acquiredAt, expiresAt}. A holder renews it (heartbeat); a lock
 * whose lease expired, or whose holder process on this host is gone, is stale and may be taken over.
 * Take-over is serialised by a short-lived guard file so two contenders cannot both steal.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RetriableError } from '../events/errors.js';
import type { Clock } from './clock.js';
import { isoUtc } from './clock.js';
import { HOST, pidAlive, uniqueSuffix } from './fsutil.js';

export interface LeaseInfo {
  name: string;
  token: string;
  pid: number;
  host: string;
  owner: string;
  acquiredAt: number;
  expiresAt: number;
}

export class LockBusyError extends RetriableError {
  constructor(readonly lockName: string, readonly holder: LeaseInfo | undefined) {
    super(
      holder
        ? `"${lockName}" is locked by ${holder.owner} (pid ${holder.pid} on ${holder.host}, since ${isoUtc(holder.acquiredAt)}, lease until ${isoUtc(holder.expiresAt)}); it will be retried`
        : `"${lockName}" is locked by another process; it will be retried`,
    );
    this.name = 'LockBusyError';
  }
}

export interface LockOptions {
  dir: string;
  clock: Clock;
  /** Lease length; a holder that stops renewing loses the lock after this. */
  ttlMs?: number;
  /** Who holds it, for messages (e.g. "ingest run 2024…-zuora"). */
  owner?: string;
  /** Liveness check for a pid on this host (injectable for tests). */
  isAlive?: (pid: number) => boolean;
  pid?: number;
  /** Renew held locks in withLock() every ttl/3 (default true; tests driving a manual clock turn it off). */
  heartbeat?: boolean;
}

const GUARD_TTL_MS = 30_000;

function fileOf(dir: string, name: string): string {
  return path.join(dir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.lock`);
}

async function readLease(file: string): Promise<LeaseInfo | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LeaseInfo;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof SyntaxError) throw new Error(`lock file ${file} is corrupt (${e.message}); remove it if no billing-mart process is running`, { cause: e });
    throw e;
  }
}

/** Creates `file` with `content` only if it does not exist. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${uniqueSuffix()}`;
  await fs.writeFile(tmp, content);
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export function isStale(lease: LeaseInfo, nowMs: number, isAlive: (pid: number) => boolean): boolean {
  if (lease.expiresAt <= nowMs) return true;
  return lease.host === HOST && !isAlive(lease.pid);
}

export class Lock {
  private released = false;
  constructor(
    readonly name: string,
    private readonly file: string,
    private lease: LeaseInfo,
    private readonly o: Required<Pick<LockOptions, 'clock' | 'ttlMs'>>,
  ) {}
  get info(): LeaseInfo {
    return this.lease;
  }
  /** Extends the lease. Throws if the lock was taken over (the holder must stop: its work is no longer protected). */
  async renew(): Promise<void> {
    const cur = await readLease(this.file);
    if (!cur || cur.token !== this.lease.token) throw new RetriableError(`lock "${this.name}" was lost (lease expired and another process took it over)`);
    const next = { ...this.lease, expiresAt: this.o.clock.now() + this.o.ttlMs };
    const tmp = `${this.file}.tmp-${uniqueSuffix()}`;
    await fs.writeFile(tmp, JSON.stringify(next));
    await fs.rename(tmp, this.file);
    this.lease = next;
  }
  /** Renews every ttl/3 until `signal` aborts or release(); returns the loop's promise. */
  async heartbeat(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.released) {
      await this.o.clock.sleep(Math.max(1, Math.floor(this.o.ttlMs / 3)), signal);
      if (signal.aborted || this.released) return;
      await this.renew();
    }
  }
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const cur = await readLease(this.file);
    if (cur?.token === this.lease.token) await fs.rm(this.file, { force: true });
  }
}

export class LockManager {
  private readonly ttlMs: number;
  private readonly isAlive: (pid: number) => boolean;
  private readonly pid: number;
  constructor(private readonly o: LockOptions) {
    this.ttlMs = o.ttlMs ?? 10 * 60_000;
    this.isAlive = o.isAlive ?? pidAlive;
    this.pid = o.pid ?? process.pid;
  }

  /** Who holds `name` now (undefined when free). */
  holder(name: string): Promise<LeaseInfo | undefined> {
    return readLease(fileOf(this.o.dir, name));
  }

  /** Takes the lock or returns undefined when a live holder has it. Stale locks are taken over. */
  async tryAcquire(name: string, owner = this.o.owner ?? `pid ${this.pid}`): Promise<Lock | undefined> {
    const file = fileOf(this.o.dir, name);
    for (let round = 0; round < 3; round++) {
      const now = this.o.clock.now();
      const lease: LeaseInfo = { name, token: randomBytes(12).toString('hex'), pid: this.pid, host: HOST, owner, acquiredAt: now, expiresAt: now + this.ttlMs };
      if (await createExclusive(file, JSON.stringify(lease))) return new Lock(name, file, lease, { clock: this.o.clock, ttlMs: this.ttlMs });
      const cur = await readLease(file);
      if (!cur) continue; // released meanwhile: try again
      if (!isStale(cur, now, this.isAlive)) return undefined;
      if (!(await this.removeStale(file, cur))) return undefined;
    }
    return undefined;
  }

  /** Like tryAcquire, but throws LockBusyError (retriable) naming the holder. */
  async acquire(name: string, owner?: string): Promise<Lock> {
    const lock = await this.tryAcquire(name, owner);
    if (!lock) throw new LockBusyError(name, await this.holder(name));
    return lock;
  }

  /** Runs `fn` holding the lock (renewed while it runs); LockBusyError if a live holder has it. */
  async withLock<T>(name: string, fn: (lock: Lock) => Promise<T>, owner?: string): Promise<T> {
    const lock = await this.acquire(name, owner);
    const stop = new AbortController();
    const beat = this.o.heartbeat === false ? Promise.resolve(undefined) : lock.heartbeat(stop.signal).catch((e: unknown) => e);
    try {
      return await fn(lock);
    } finally {
      stop.abort();
      const err = await beat;
      await lock.release();
      if (err instanceof Error) throw err;
    }
  }

  /**
   * Runs `fn` holding every lock of `names` (taken in sorted order; all or none: when one is busy the ones
   * already taken are released and LockBusyError is thrown).
   */
  async withLocks<T>(names: string[], fn: () => Promise<T>, owner?: string): Promise<T> {
    const sorted = [...new Set(names)].sort();
    if (sorted.length === 1) return this.withLock(sorted[0]!, fn, owner);
    const held: Lock[] = [];
    try {
      for (const n of sorted) {
        const l = await this.tryAcquire(n, owner);
        if (!l) throw new LockBusyError(n, await this.holder(n));
        held.push(l);
      }
    } catch (e) {
      for (const l of held) await l.release();
      throw e;
    }
    const stop = new AbortController();
    const beat = this.o.heartbeat === false ? Promise.resolve(undefined) : this.renewAll(held, stop.signal).catch((e: unknown) => e);
    try {
      return await fn();
    } finally {
      stop.abort();
      const err = await beat;
      for (const l of held) await l.release();
      if (err instanceof Error) throw err;
    }
  }

  /** One heartbeat loop for several locks. */
  private async renewAll(locks: Lock[], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.o.clock.sleep(Math.max(1, Math.floor(this.ttlMs / 3)), signal);
      if (signal.aborted) return;
      for (const l of locks) await l.renew();
    }
  }

  /** Deletes a stale lock under the take-over guard, only if it is still the same stale lease. */
  private async removeStale(file: string, stale: LeaseInfo): Promise<boolean> {
    const guard = `${file}.takeover`;
    const now = this.o.clock.now();
    const guardLease = JSON.stringify({ pid: this.pid, host: HOST, expiresAt: now + GUARD_TTL_MS });
    if (!(await createExclusive(guard, guardLease))) {
      const g = await readJsonLoose(guard);
      if (g && (g.expiresAt <= now || (g.host === HOST && !this.isAlive(g.pid)))) {
        await fs.rm(guard, { force: true }); // the previous taker crashed mid-take-over
        return true;
      }
      return false;
    }
    try {
      const cur = await readLease(file);
      if (cur?.token === stale.token) await fs.rm(file, { force: true });
      return true;
    } finally {
      await fs.rm(guard, { force: true });
    }
  }
}

async function readJsonLoose(file: string): Promise<{ pid: number; host: string; expiresAt: number } | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return undefined;
    throw e;
  }
}
