/**
 * The HTTP side of the pull connectors, shared by the Stripe and Chargebee adapters:
 * - `recordingFetch`: the fetch both vendor SDKs are given. It keeps the exact text of each response body (the
 *   SDKs parse JSON themselves, so without it the page we land would be a re-serialisation, not the vendor's
 *   bytes) and its status and headers (so a 429's Retry-After is read by us, not hidden inside an SDK).
 * - `callApi`: one request with capped retries: 429 waits Retry-After (or backs off), 5xx / timeouts / resets
 *   back off exponentially; anything else 4xx is a FatalError naming the endpoint and the vendor's message.
 * The SDKs' own retries are switched off, so there is exactly one retry policy and it is visible and tested.
 */
import { FatalError, RetriableError } from '../../events/errors.js';
import type { PullContext } from './types.js';

/** The part of jobs/clock.ts a pull needs (time is passed in; tests never sleep). */
export interface ApiClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface ApiRetrySettings {
  maxRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** Longest wait a Retry-After header may ask for before we give up on the request (and let the run retry). */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

export interface RecordedResponse {
  url: string;
  status: number;
  headers: Headers;
  text: string;
}

export interface Recorder {
  readonly fetch: typeof fetch;
  /** The response of the latest request (null while it is in flight or when it never got one). */
  last: RecordedResponse | null;
  /** Requests sent (for reports and tests). */
  requests: number;
}

/** A fetch that records every response (see the module comment). Requests through one recorder are sequential. */
export function recordingFetch(inner: typeof fetch = fetch): Recorder {
  const rec: Recorder = {
    last: null,
    requests: 0,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      rec.last = null;
      rec.requests++;
      const res = await inner(input, init);
      const text = await res.text();
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      rec.last = { url, status: res.status, headers: res.headers, text };
      const headers = new Headers(res.headers);
      headers.delete('content-encoding'); // the body is already decoded
      headers.delete('content-length');
      const empty = text === '' || res.status === 204 || res.status === 304;
      return new Response(empty ? null : text, { status: res.status, statusText: res.statusText, headers });
    }) as typeof fetch,
  };
  return rec;
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** What the vendor said in an error body, for messages (Stripe `{"error":{type,message}}`, Chargebee `{message, api_error_code}`). */
export function vendorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const e = (j.error && typeof j.error === 'object' ? j.error : j) as Record<string, unknown>;
    const kind = [e.type, e.code ?? e.api_error_code].filter((x) => typeof x === 'string' && x).join('/');
    const msg = typeof e.message === 'string' ? e.message : typeof e.error_msg === 'string' ? e.error_msg : '';
    if (kind || msg) return `${kind}${kind && msg ? ': ' : ''}${msg}`;
  } catch {
    // not JSON: fall through to the raw text (a proxy's HTML page, an empty body)
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200) || '(empty body)';
}

/** A failed request that may succeed if tried again, with the wait the server asked for. */
export class TransientApiError extends RetriableError {
  constructor(message: string, readonly retryAfterMs: number | null, readonly status: number | null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientApiError';
  }
}

export interface CallContext {
  /** Endpoint and cursor, e.g. `GET /v1/charges (starting_after=ch_123)`: in every message. */
  what: string;
  recorder: Recorder;
  clock: ApiClock;
  retry: ApiRetrySettings;
  /** Removes secrets from text that reaches an error or a log. */
  scrub: (s: string) => string;
  signal?: AbortSignal;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  /** Vendor-specific hint appended to fatal 401/403 messages. */
  authHint?: string;
}

/** Classifies the outcome of one SDK call from the recorded response (or its absence). */
export function classify(e: unknown, res: RecordedResponse | null, ctx: Pick<CallContext, 'what' | 'clock' | 'scrub' | 'authHint'>): Error {
  if (!res) {
    const m = ctx.scrub((e as Error)?.message ?? String(e));
    return new TransientApiError(`${ctx.what}: no response (${m}); network error or timeout`, null, null, { cause: e });
  }
  const said = ctx.scrub(vendorMessage(res.text));
  if (res.status === 429) return new TransientApiError(`${ctx.what}: HTTP 429 rate limited: ${said}`, parseRetryAfter(res.headers.get('retry-after'), ctx.clock.now()), 429);
  if (res.status >= 500) return new TransientApiError(`${ctx.what}: HTTP ${res.status}: ${said}`, parseRetryAfter(res.headers.get('retry-after'), ctx.clock.now()), res.status);
  if (res.status >= 400) {
    const hint = res.status === 401 || res.status === 403 ? ` ${ctx.authHint ?? 'Check the API key and its permissions.'}` : ' The request was refused; retrying cannot help.';
    return new FatalError(`${ctx.what}: HTTP ${res.status}: ${said}.${hint} Nothing of this window was loaded from the API.`);
  }
  const m = ctx.scrub((e as Error)?.message ?? String(e));
  return new TransientApiError(`${ctx.what}: HTTP ${res.status} but the client failed: ${m}`, null, res.status, { cause: e });
}

export function backoffDelayMs(retry: number, s: ApiRetrySettings): number {
  return Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** (retry - 1));
}

/**
 * Runs one SDK call (`fn`) with the retry policy above; returns its value and the exact response it parsed.
 * After `maxRetries` retries the last transient error is rethrown as a RetriableError (the run may be retried).
 */
export async function callApi<T>(fn: () => Promise<T>, ctx: CallContext): Promise<{ value: T; response: RecordedResponse }> {
  for (let attempt = 1; ; attempt++) {
    let err: Error;
    try {
      const value = await fn();
      const response = ctx.recorder.last;
      if (!response) throw new Error('the SDK returned without a recorded response');
      if (response.status >= 200 && response.status < 300) return { value, response };
      err = classify(new Error(`HTTP ${response.status}`), response, ctx);
    } catch (e) {
      err = e instanceof FatalError || e instanceof TransientApiError ? e : classify(e, ctx.recorder.last, ctx);
    }
    if (!(err instanceof TransientApiError)) throw err;
    if (attempt > ctx.retry.maxRetries || ctx.signal?.aborted) {
      throw new RetriableError(`${err.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}; the run can be retried)`, { cause: err });
    }
    const asked = err.retryAfterMs;
    if (asked !== null && asked > MAX_RETRY_AFTER_MS) {
      throw new RetriableError(`${err.message} (the server asked to wait ${Math.round(asked / 1000)}s, more than ${MAX_RETRY_AFTER_MS / 60_000} min; the run can be retried later)`, { cause: err });
    }
    const delayMs = asked ?? backoffDelayMs(attempt, ctx.retry);
    ctx.onRetry?.({ attempt, delayMs, reason: err.message });
    await ctx.clock.sleep(delayMs, ctx.signal);
  }
}

/**
 * The request function of one vendor adapter: the vendor gives its recorder, scrubber and 401/403 hint once;
 * each call gives what it asks for and the SDK call, and takes retries, cancellation and retry logging from the
 * pull's context.
 */
export function vendorRequest(vendor: Pick<CallContext, 'recorder' | 'scrub' | 'authHint'>) {
  return <T>(what: string, fn: () => Promise<T>, ctx: Pick<PullContext, 'clock' | 'retry' | 'signal' | 'log'>): Promise<{ value: T; response: RecordedResponse }> =>
    callApi(fn, {
      what,
      recorder: vendor.recorder,
      clock: ctx.clock,
      retry: ctx.retry,
      scrub: vendor.scrub,
      ...(vendor.authHint !== undefined ? { authHint: vendor.authHint } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onRetry: (r) => ctx.log('api.retry', { request: what, attempt: r.attempt, waitMs: r.delayMs, reason: r.reason }),
    });
}
