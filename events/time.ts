/**
 * Timestamps → UTC with the truth about precision. See docs/timestamps.md for the policy (rules 1–10).
 * (Implementation in progress; the signature below is the contract other modules use.)
 */
import { RecordError } from './errors.js';

export type TsPrecision = 'day' | 'minute' | 'second' | 'millisecond' | 'microsecond';

export interface ParsedTimestamp {
  /** UTC instant in microseconds since the Unix epoch. */
  utcMicros: bigint;
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 6 fraction digits. */
  utc: string;
  /** UTC calendar day `YYYY-MM-DD`. */
  utcDate: string;
  precision: TsPrecision;
  truncatedToMidnight: boolean;
  ambiguous: boolean;
  nonexistent: boolean;
  /** The calendar date as the source wrote it / saw it (its own offset, else the source zone). */
  sourceLocalDate: string;
}

export interface ParseOptions {
  /** How to read a bare integer: auto-detect (default), or force seconds / milliseconds. */
  epoch?: 'auto' | 'seconds' | 'milliseconds';
}

/** Parses a raw source value in the source's IANA zone. Throws RecordError('BAD_TIMESTAMP', ...) on invalid input. */
export function parseTimestamp(raw: unknown, sourceZone: string, options?: ParseOptions): ParsedTimestamp {
  void sourceZone;
  void options;
  throw new RecordError('BAD_TIMESTAMP', `timestamp parser not implemented yet: ${JSON.stringify(raw)}`, raw);
}
