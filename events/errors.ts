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

/** A usage or configuration problem: the CLI exits 2. */
export class ConfigError extends FatalError {
  constructor(message: string, readonly problems: string[] = [], options?: { cause?: unknown }) {
    super(problems.length ? `${message}\n  - ${problems.join('\n  - ')}` : message, options);
    this.name = 'ConfigError';
  }
}
