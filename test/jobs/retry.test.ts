import { describe, expect, it } from 'vitest';
import { ConfigError, errorKind, FatalError, kindHint, messageWithCauses, RetriableError } from '../../events/errors.js';
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
        throw new RetriableError(`server busy ${a}`);
      },
      policy,
      { clock, onRetry: (a) => void retries.push(a) },
    );
    await expect(p).rejects.toBeInstanceOf(RetriesExhaustedError);
    await expect(p).rejects.toThrow(/failed after 5 attempts: server busy 5/);
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

describe('withRetry retries only what may pass when tried again (issue 15 item 6)', () => {
  const sysError = (code: string) => Object.assign(new Error(`${code}: write failed`), { code, syscall: 'write', errno: -1 });

  async function attemptsFor(err: () => unknown) {
    const clock = new ManualClock(0, true);
    let calls = 0;
    const outcome = await withRetry(
      async () => {
        calls++;
        throw err();
      },
      policy,
      { clock },
    ).catch((e: unknown) => e);
    return { calls, outcome, sleeps: clock.sleeps };
  }

  it('a TypeError (a bug) fails at once, with no backoff, the error itself rethrown', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const r = await attemptsFor(() => bug);
    expect(r.calls).toBe(1);
    expect(r.sleeps).toEqual([]);
    expect(r.outcome).toBe(bug);
    expect(errorKind(r.outcome)).toBe('unexpected');
  });

  it('a plain Error fails at once', async () => {
    const r = await attemptsFor(() => new Error('unknown source "x"'));
    expect(r.calls).toBe(1);
  });

  it('a transient errno (ECONNRESET) is retried; the exhausted error keeps its kind and cause', async () => {
    const r = await attemptsFor(() => sysError('ECONNRESET'));
    expect(r.calls).toBe(5);
    expect(r.outcome).toBeInstanceOf(RetriesExhaustedError);
    expect(errorKind(r.outcome)).toBe('retriable');
    expect((r.outcome as Error).cause).toMatchObject({ code: 'ECONNRESET' });
  });

  it('a disk-full (ENOSPC) or permission error is not retried: a person has to fix it first', async () => {
    for (const code of ['ENOSPC', 'EACCES']) {
      const r = await attemptsFor(() => sysError(code));
      expect(r.calls).toBe(1);
      expect(errorKind(r.outcome)).toBe('fatal');
    }
  });

  it('a transient errno deep in the cause chain counts', async () => {
    const r = await attemptsFor(() => new Error('query failed', { cause: sysError('ETIMEDOUT') }));
    expect(r.calls).toBe(5);
  });
});

describe('errorKind and its hint', () => {
  it('names what happens next for each kind', () => {
    expect(errorKind(new ConfigError('bad'))).toBe('config');
    expect(errorKind(new FatalError('corrupt'))).toBe('fatal');
    expect(errorKind(new RetriableError('busy'))).toBe('retriable');
    expect(errorKind(new RangeError('bug'))).toBe('unexpected');
    expect(kindHint('retriable')).toMatch(/again may help/);
    expect(kindHint('fatal')).toMatch(/will not help/);
    expect(kindHint('unexpected')).toMatch(/not retried/);
  });
  it('messageWithCauses keeps the whole chain', () => {
    const e = new FatalError('commit failed', { cause: new Error('write /wh/x.parquet', { cause: new Error('ENOSPC: no space left on device') }) });
    expect(messageWithCauses(e)).toBe('commit failed: caused by: write /wh/x.parquet: caused by: ENOSPC: no space left on device');
  });
});
