/**
 * Retries with exponential backoff and a cap. Only failures that may pass when tried again are retried: a
 * RetriableError, or a system error with a transient errno code (ECONNRESET, ETIMEDOUT, EBUSY…). Anything else —
 * a FatalError, a ConfigError, a full disk, a TypeError — fails at once with its cause kept: retrying it would
 * only spend minutes of backoff on the same failure. The clock is injected, so tests never sleep.
 */
import { errorKind, type ErrorKind } from '../events/errors.js';
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
  return errorKind(e) === 'retriable';
}

/** Every attempt failed with a retriable error; `kind` stays 'retriable' (a later run may still succeed). */
export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly last: unknown) {
    super(`failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${(last as Error)?.message ?? String(last)}`, { cause: last });
    this.name = 'RetriesExhaustedError';
  }
  get kind(): ErrorKind {
    return errorKind(this.last);
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
