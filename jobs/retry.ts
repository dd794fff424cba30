/**
 * Retries with exponential backoff and a cap. RetriableError and unknown errors are retried; FatalError (and so
 * ConfigError) is not, since retrying cannot help. The clock is injected, so tests never sleep.
 */
import { FatalError } from '../events/errors.js';
import type { Clock } from './clock.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

/** Delay before attempt `attempt + 1` after `attempt` failed (attempt is 1-based): base·2^(attempt−1), capped. */
export function backoffMs(attempt: number, p: RetryPolicy): number {
  if (attempt < 1) throw new Error(`attempt must be ≥ 1, got ${attempt}`);
  return Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1));
}

export function isRetriable(e: unknown): boolean {
  return !(e instanceof FatalError);
}

export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly last: unknown) {
    super(`failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${(last as Error)?.message ?? String(last)}`, { cause: last });
    this.name = 'RetriesExhaustedError';
  }
}

export interface RetryHooks {
  clock: Clock;
  signal?: AbortSignal;
  /** Called after a failed attempt that will be retried, before waiting. */
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void | Promise<void>;
  retriable?: (e: unknown) => boolean;
}

/**
 * Runs `fn(attempt)` until it succeeds, fails with a non-retriable error (rethrown as is), or `maxAttempts` is
 * reached (RetriesExhaustedError). An abort stops retrying after the current attempt.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, hooks: RetryHooks): Promise<T> {
  const retriable = hooks.retriable ?? isRetriable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!retriable(e)) throw e;
      if (attempt >= policy.maxAttempts || hooks.signal?.aborted) throw new RetriesExhaustedError(attempt, e);
      const delay = backoffMs(attempt, policy);
      await hooks.onRetry?.(attempt, e, delay);
      await hooks.clock.sleep(delay, hooks.signal);
      if (hooks.signal?.aborted) throw new RetriesExhaustedError(attempt, e);
    }
  }
}
