import { describe, expect, it } from 'vitest';
import { FatalError, RetriableError } from '../../events/errors.js';
import { ManualClock } from '../../jobs/clock.js';
import { backoffMs, RetriesExhaustedError, withRetry } from '../../jobs/retry.js';

const policy = { maxAttempts: 5, baseMs: 1000, maxMs: 5000 };

describe('backoff', () => {
  it('doubles from the base and is capped', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, policy))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
  it('rejects attempt 0', () => {
    expect(() => backoffMs(0, policy)).toThrow(/attempt must be ≥ 1/);
  });
});

describe('withRetry', () => {
  it('retries retriable failures with exponential waits on the injected clock, then succeeds', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z', true);
    const seen: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 4) throw new RetriableError(`flaky ${attempt}`);
        return 'ok';
      },
      policy,
      { clock },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
    expect(clock.now()).toBe(Date.parse('2024-01-01T00:00:07Z'));
  });

  it('gives up after maxAttempts with the last error kept', async () => {
    const clock = new ManualClock(0, true);
    const retries: number[] = [];
    const p = withRetry(
      async (a) => {
        throw new Error(`disk full ${a}`);
      },
      policy,
      { clock, onRetry: (a) => void retries.push(a) },
    );
    await expect(p).rejects.toBeInstanceOf(RetriesExhaustedError);
    await expect(p).rejects.toThrow(/failed after 5 attempts: disk full 5/);
    expect(retries).toEqual([1, 2, 3, 4]);
    expect(clock.sleeps).toEqual([1000, 2000, 4000, 5000]);
  });

  it('does not retry a fatal error', async () => {
    const clock = new ManualClock(0, true);
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new FatalError('corrupt table');
        },
        policy,
        { clock },
      ),
    ).rejects.toThrow('corrupt table');
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('stops retrying once aborted (graceful shutdown)', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        throw new RetriableError('busy');
      },
      policy,
      { clock, signal: ac.signal },
    );
    await clock.advance(0);
    expect(clock.pending).toBe(1);
    ac.abort();
    await expect(p).rejects.toThrow(/failed after 1 attempt: busy/);
    expect(calls).toBe(1);
  });
});
