/**
 * Errors grouped by what the runner should do with them (after Meltano):
 * - RecordError: this one record is bad; quarantine it with its reason and go on (skippable).
 * - RetriableError: the run may succeed if tried again (I/O hiccup, lock busy, server gone).
 * - FatalError: retrying will not help (bad config, corrupt table); stop and tell the user.
 * Causes are kept (`cause`) so the original failure is never lost.
 */

/** Where a raw value came from: enough for a person to open the file and find it. */
export interface SourceLocation {
  /** File path, API endpoint or query that produced the record. */
  file: string;
  /** 1-based line number in a text file (CSV header is line 1), when there is one. */
  line?: number;
  /** 0-based position of the record in its extract (page index * page size + offset for APIs). */
  position?: number;
  /** Field (column / JSON path) the value came from. */
  field?: string;
}

export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '(unknown location)';
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  else if (loc.position !== undefined) s += `#${loc.position}`;
  if (loc.field) s += ` field "${loc.field}"`;
  return s;
}

/** Reason codes a record can be quarantined for. Keep this list in step with the README. */
export const QUARANTINE_REASONS = [
  'BAD_TIMESTAMP',
  'BAD_AMOUNT',
  'AMOUNT_OUT_OF_RANGE',
  'UNKNOWN_CURRENCY',
  'MISSING_ID',
  'MISSING_FIELD',
  'UNKNOWN_EVENT_TYPE',
  'MALFORMED_RECORD',
  'BAD_VALUE',
  'BAD_ENCODING',
  'RECORD_TOO_LARGE',
  /** Same event identity and same record version (seqn) as another record, but different money or instant. */
  'CONFLICTING_DUPLICATE',
] as const;
export type ReasonCode = (typeof QUARANTINE_REASONS)[number];

/** A single record cannot be turned into an event. The runner quarantines it and goes on. */
export class RecordError extends Error {
  readonly kind = 'record' as const;
  constructor(
    readonly code: ReasonCode,
    message: string,
    readonly value: unknown,
    readonly location?: SourceLocation,
    options?: { cause?: unknown },
  ) {
    super(location ? `${message} (at ${formatLocation(location)})` : message, options);
    this.name = 'RecordError';
  }
  /** Same error, with the location filled in by a caller that knows it. */
  at(location: SourceLocation): RecordError {
    return new RecordError(this.code, this.message.replace(/ \(at .*\)$/, ''), this.value, { ...this.location, ...location }, { cause: this.cause });
  }
}

/** Worth trying again later (the scheduler backs off and retries). */
export class RetriableError extends Error {
  readonly kind = 'retriable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetriableError';
  }
}

/** Retrying will not help: stop and tell the user what to do. */
export class FatalError extends Error {
  readonly kind = 'fatal' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalError';
  }
}

/**
 * The filesystem holding `path` is full (ENOSPC, or EDQUOT: the quota). Retrying before space is freed cannot
 * help, so it is not retried: a clear, fast failure naming the path. Never a record error: no data is blamed.
 */
export class DiskFullError extends FatalError {
  readonly code: string;
  constructor(readonly path: string, options?: { cause?: unknown; code?: string; context?: string }) {
    const code = options?.code ?? 'ENOSPC';
    super(`no space left on the device writing ${path} (${code})${options?.context ? `; ${options.context}` : ''}: free space on that filesystem (or raise its quota), then run the same command again`, options);
    this.name = 'DiskFullError';
    this.code = code;
  }
}

/** A usage or configuration problem: the CLI exits 2. */
export class ConfigError extends FatalError {
  constructor(message: string, readonly problems: string[] = [], options?: { cause?: unknown }) {
    super(problems.length ? `${message}\n  - ${problems.join('\n  - ')}` : message, options);
    this.name = 'ConfigError';
  }
}

/**
 * errno codes of I/O failures that may pass when tried again: the network or a server hiccuped, a resource was
 * busy, a call was interrupted. Anything else with an errno code (ENOSPC, EACCES, ENOENT, EROFS…) needs a person
 * to fix something first, so it is not retried.
 */
export const TRANSIENT_ERRNO_CODES: ReadonlySet<string> = new Set([
  'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'ENETRESET', 'EAI_AGAIN', 'ESTALE', 'EMFILE', 'ENFILE',
]);

/** The errno code (`ENOSPC`) of a system error, or of the first cause in its chain that has one. */
export function errnoOf(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 10; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)) return code;
  }
  return undefined;
}

/** A failure of the machine (a system error with an errno code, anywhere in the cause chain), never of the data. */
export function isIoError(e: unknown): boolean {
  return errnoOf(e) !== undefined;
}

/** What the runner should do next with a failure (carried into run records, logs and the exit-3 message). */
export type ErrorKind = 'retriable' | 'fatal' | 'config' | 'unexpected';

/**
 * Classifies a failure: `config` (fix the configuration or the command), `fatal` (retrying will not help until
 * the cause is fixed: a corrupt table, a full disk, a permission), `retriable` (trying again may help), or
 * `unexpected` (a plain Error or TypeError: a bug; not retried). A wrapper that names a kind wins over its causes.
 */
export function errorKind(e: unknown): ErrorKind {
  const named = (e as { kind?: unknown })?.kind;
  if (e instanceof ConfigError) return 'config';
  if (e instanceof FatalError) return 'fatal';
  if (e instanceof RetriableError) return 'retriable';
  if (named === 'retriable' || named === 'fatal' || named === 'config') return named;
  const code = errnoOf(e);
  if (code !== undefined) return TRANSIENT_ERRNO_CODES.has(code) ? 'retriable' : 'fatal';
  return 'unexpected';
}

/** The sentence an exit-3 message ends with: whether retrying may help, and what to do. */
export function kindHint(kind: ErrorKind): string {
  switch (kind) {
    case 'retriable':
      return 'retriable: running it again may help (the scheduler retries with backoff)';
    case 'fatal':
      return 'fatal: retrying will not help until the cause above is fixed';
    case 'config':
      return 'configuration or usage error: fix the configuration or the command';
    case 'unexpected':
      return 'unexpected: not retried, retrying will likely fail the same way; re-run with BILLING_MART_DEBUG=1 for the stack trace and report it';
  }
}

/** The message of an error followed by its causes (`a: b: c`), each once, for logs and run records. */
export function messageWithCauses(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur !== undefined && cur !== null && depth < 10; cur = (cur as { cause?: unknown }).cause, depth++) {
    const m = cur instanceof Error ? cur.message : typeof cur === 'string' ? cur : JSON.stringify(cur);
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
    if (!(cur instanceof Error)) break;
  }
  return parts.join(': caused by: ');
}
