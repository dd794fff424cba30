/**
 * Errors across a thread boundary. Structured clone (postMessage) keeps an Error's message but not its class, so
 * its kind (record / retriable / fatal / config) and fields would be lost: a worker sends `toTransferable(e)`
 * and the receiver rebuilds the same class with `fromTransferable`, the cause chain included (errorKind and
 * messageWithCauses give the same answers on both sides).
 */
import { ConfigError, DiskFullError, FatalError, RecordError, RetriableError } from './errors.js';

export interface TransferableError {
  name: string;
  message: string;
  stack?: string;
  /** Own fields of the error (code, value, location, problems, path, errno, syscall, ...), structured-clone safe. */
  fields: Record<string, unknown>;
  /** A cause that is an Error (recursively), or a plain value. */
  cause?: { error: TransferableError } | { value: unknown };
}

/** The classes rebuilt by name; anything else becomes an Error of the same name (errno fields kept, so I/O stays I/O). */
const CLASSES: Record<string, { prototype: Error }> = {
  RecordError,
  RetriableError,
  FatalError,
  DiskFullError,
  ConfigError,
  TypeError,
  RangeError,
  SyntaxError,
  Error,
};

const MAX_DEPTH = 10;

function cloneable(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    // a value structured clone refuses (a function, a class instance with private state): keep what a person reads
    return String(v);
  }
}

export function toTransferable(e: unknown, depth = 0): TransferableError {
  if (!(e instanceof Error)) return { name: 'Error', message: typeof e === 'string' ? e : String(e), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(e)) {
    if (k === 'cause' || k === 'message' || k === 'stack') continue;
    fields[k] = cloneable((e as unknown as Record<string, unknown>)[k]);
  }
  const out: TransferableError = { name: e.name, message: e.message, fields, ...(e.stack ? { stack: e.stack } : {}) };
  if ('cause' in e && e.cause !== undefined && depth < MAX_DEPTH) {
    out.cause = e.cause instanceof Error ? { error: toTransferable(e.cause, depth + 1) } : { value: cloneable(e.cause) };
  }
  return out;
}

/** The error `toTransferable` described, as an instance of its class (instanceof, kind and fields as sent). */
export function fromTransferable(t: TransferableError): Error {
  const cls = CLASSES[t.name] ?? Error;
  const e = Object.create(cls.prototype) as Error;
  Object.defineProperty(e, 'message', { value: t.message, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(e, 'name', { value: t.name, writable: true, configurable: true, enumerable: false });
  if (t.stack) Object.defineProperty(e, 'stack', { value: t.stack, writable: true, configurable: true, enumerable: false });
  for (const [k, v] of Object.entries(t.fields)) (e as unknown as Record<string, unknown>)[k] = v;
  if (t.cause) {
    const cause = 'error' in t.cause ? fromTransferable(t.cause.error) : t.cause.value;
    Object.defineProperty(e, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  }
  return e;
}
