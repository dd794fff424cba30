/**
 * Time is passed in, never read deep inside: everything in jobs/ takes a Clock. Production uses systemClock;
 * tests use ManualClock (time only moves when the test says so) — no sleeping in tests.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch (UTC). */
  now(): number;
  /** Resolves after `ms` (or at once when `signal` aborts). Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

interface Sleeper {
  due: number;
  resolve: () => void;
}

/**
 * A clock for tests. With `autoAdvance`, sleep() moves time forward by `ms` and resolves at once (every sleep is
 * recorded in `sleeps`); otherwise sleepers wait until advance()/set() passes their due time.
 */
export class ManualClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];
  private sleepWaiters: (() => void)[] = [];
  readonly sleeps: number[] = [];
  constructor(start: number | string, private readonly autoAdvance = false) {
    this.t = typeof start === 'string' ? Date.parse(start) : start;
    if (Number.isNaN(this.t)) throw new Error(`ManualClock: bad start time ${String(start)}`);
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (this.autoAdvance) {
      this.t += Math.max(0, ms);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const s: Sleeper = { due: this.t + Math.max(0, ms), resolve };
      this.sleepers.push(s);
      for (const w of this.sleepWaiters.splice(0)) w();
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          resolve();
        },
        { once: true },
      );
    });
  }
  /** Resolves when somebody is sleeping on this clock (at once if somebody already is). */
  sleeping(): Promise<void> {
    if (this.sleepers.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.sleepWaiters.push(resolve));
  }
  /** Number of sleepers waiting. */
  get pending(): number {
    return this.sleepers.length;
  }
  /** Moves time to `ms`, waking every sleeper due by then (in due order), letting each run until it awaits again. */
  async set(ms: number): Promise<void> {
    for (;;) {
      this.sleepers.sort((a, b) => a.due - b.due);
      const next = this.sleepers[0];
      if (!next || next.due > ms) break;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.due);
      next.resolve();
      await settle();
    }
    this.t = Math.max(this.t, ms);
    await settle();
  }
  advance(ms: number): Promise<void> {
    return this.set(this.t + ms);
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export function isoUtc(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
