/**
 * The writer lock: one writer commits at a time (the scheduler and a backfill may run together).
 * A lock file is created exclusively; a holder that died on this host (pid gone) is a stale holder and is
 * broken under a second, short-lived breaker lock so two waiters cannot both break it.
 * The commit log's exclusive create is the second line of defence (optimistic check).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { RetriableError } from '../events/errors.js';
import type { ObjectStorage } from './storage.js';

export const LOCK_PATH = '_store/lock';
const BREAKER_PATH = '_store/lock.break';

export interface LockOptions {
  timeoutMs: number;
  pollMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Whether process `pid` on this host is alive (injected in tests). */
  isAlive?: (pid: number) => boolean;
}

export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  acquiredAt: string;
  purpose: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseHolder(text: string | null): LockHolder | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as LockHolder;
  } catch (e) {
    void e; // a half-written lock file: treated as held until its writer finishes or dies (see isStale)
    return null;
  }
}

export class WriterLock {
  private constructor(private readonly storage: ObjectStorage, readonly holder: LockHolder) {}

  static async acquire(storage: ObjectStorage, purpose: string, o: LockOptions): Promise<WriterLock> {
    const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), acquiredAt: new Date(o.now()).toISOString(), purpose };
    const alive = o.isAlive ?? processAlive;
    const deadline = o.now() + o.timeoutMs;
    for (;;) {
      if (await storage.createExclusive(LOCK_PATH, JSON.stringify(me))) return new WriterLock(storage, me);
      const text = await storage.readText(LOCK_PATH);
      const other = parseHolder(text);
      if (other && other.host === me.host && !alive(other.pid)) {
        await WriterLock.breakStale(storage, text!, o);
        continue;
      }
      if (o.now() >= deadline) {
        throw new RetriableError(
          `the warehouse ${storage.root} is locked by ${other ? `pid ${other.pid} on ${other.host} (${other.purpose}, since ${other.acquiredAt})` : 'another writer'}; ` +
            `waited ${Math.round(o.timeoutMs / 1000)} s. Try again later, or remove ${storage.root}/${LOCK_PATH} if that process is gone.`,
        );
      }
      await o.sleep(o.pollMs);
    }
  }

  private static async breakStale(storage: ObjectStorage, staleText: string, o: LockOptions): Promise<void> {
    const breaker = JSON.stringify({ pid: process.pid, host: hostname(), at: new Date(o.now()).toISOString() });
    if (!(await storage.createExclusive(BREAKER_PATH, breaker))) {
      const b = parseHolder(await storage.readText(BREAKER_PATH));
      if (b && b.host === hostname() && !(o.isAlive ?? processAlive)(b.pid)) await storage.removeFile(BREAKER_PATH);
      else await o.sleep(o.pollMs);
      return;
    }
    try {
      if ((await storage.readText(LOCK_PATH)) === staleText) await storage.removeFile(LOCK_PATH);
    } finally {
      await storage.removeFile(BREAKER_PATH);
    }
  }

  /** Throws if the lock file is no longer ours (someone broke it): the commit must not proceed. */
  async assertHeld(): Promise<void> {
    const cur = parseHolder(await this.storage.readText(LOCK_PATH));
    if (!cur || cur.token !== this.holder.token) throw new RetriableError(`lost the warehouse lock on ${this.storage.root}; the commit was not published, run again`);
  }

  async release(): Promise<void> {
    const cur = parseHolder(await this.storage.readText(LOCK_PATH));
    if (cur && cur.token === this.holder.token) await this.storage.removeFile(LOCK_PATH);
  }
}
