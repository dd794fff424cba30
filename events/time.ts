/**
 * Timestamps → UTC with the truth about precision. See docs/timestamps.md for the policy (rules 1–10).
 *
 * Fast path by design: a hand-written scanner (time-scan.ts), civil↔epoch arithmetic on numbers
 * (time-civil.ts) and per-zone cached offsets from Intl (time-zone.ts). No DateTime object per value.
 */
import { isLosslessNumber } from 'lossless-json';
import { RecordError } from './errors.js';
import { daysFromCivil, END_EPOCH_SECONDS, formatCivilDate, formatDate, formatUtc, MIN_EPOCH_SECONDS } from './time-civil.js';
import { newScanned, scan, ScanError } from './time-scan.js';
import { getZone, offsetAt, resolveLocal, type Resolved, type ZoneInfo } from './time-zone.js';

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

/** Auto-detection bounds for bare integers (policy 7): below 1e11 seconds (< year 5138), below 1e14 milliseconds. */
export const EPOCH_SECONDS_LIMIT = 1e11;
export const EPOCH_MILLIS_LIMIT = 1e14;

/** Values sources write instead of a timestamp (compared case-insensitively, after trimming). */
const PLACEHOLDERS = new Set(['', 'n/a', 'na', '#n/a', 'null', 'nil', 'none', 'undefined', 'nan', 'nat', '-', '--', '?']);

function fail(raw: unknown, reason: string): RecordError {
  const shown = typeof raw === 'bigint' ? raw.toString() : isLosslessNumber(raw) ? raw.value : JSON.stringify(raw) ?? String(raw);
  return new RecordError('BAD_TIMESTAMP', `invalid timestamp ${shown}: ${reason}`, typeof raw === 'bigint' ? raw.toString() : raw);
}

const scanned = newScanned();
const resolved: Resolved = { epochSeconds: 0, ambiguous: false, nonexistent: false };

/** Parses a raw source value in the source's IANA zone. Throws RecordError('BAD_TIMESTAMP', ...) on invalid input. */
export function parseTimestamp(raw: unknown, sourceZone: string, options?: ParseOptions): ParsedTimestamp {
  const zone = typeof sourceZone === 'string' && sourceZone !== '' ? getZone(sourceZone) : undefined;
  if (!zone) {
    throw fail(raw, `unknown source time zone ${JSON.stringify(sourceZone)}; configure an IANA zone name such as "America/Los_Angeles" or "UTC"`);
  }
  const mode = options?.epoch ?? 'auto';
  if (typeof raw === 'string') return parseText(raw, raw.trim(), zone, mode);
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw fail(raw, 'not a finite number');
    if (!Number.isInteger(raw)) throw fail(raw, 'epoch numbers must be whole seconds or milliseconds');
    if (!Number.isSafeInteger(raw)) throw fail(raw, 'epoch number out of range');
    if (raw < 0) throw fail(raw, 'negative epoch values (before 1970) are not accepted');
    return fromEpochValue(raw, raw, zone, mode);
  }
  if (typeof raw === 'bigint') return parseText(raw, raw.toString(), zone, mode);
  if (isLosslessNumber(raw)) {
    const text = raw.value;
    for (let i = text.charCodeAt(0) === 45 ? 1 : 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) throw fail(raw, 'epoch numbers must be whole seconds or milliseconds, written as an integer');
    }
    return parseText(raw, text, zone, mode);
  }
  if (raw === null || raw === undefined) throw fail(raw, 'missing (null) value');
  throw fail(raw, `expected a string or a number, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
}

function parseText(raw: unknown, text: string, zone: ZoneInfo, mode: NonNullable<ParseOptions['epoch']>): ParsedTimestamp {
  if (text === '') throw fail(raw, 'empty value');
  const s = scanned;
  try {
    scan(text, s);
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    const lower = text.toLowerCase();
    if (PLACEHOLDERS.has(lower) || lower.startsWith('0000-00-00') || lower.startsWith('00/00/0000')) {
      throw fail(raw, 'a placeholder, not a timestamp; fix the source or map the field to null');
    }
    throw fail(raw, e.message);
  }
  if (s.isEpoch) {
    if (s.negative) throw fail(raw, 'negative epoch values (before 1970) are not accepted');
    const digits = s.epochDigits;
    // 15 significant digits are exact in a double; anything longer is out of range anyway.
    let k = 0;
    while (k < digits.length - 1 && digits.charCodeAt(k) === 48) k++;
    if (digits.length - k > 15) throw fail(raw, 'epoch number out of range (expected seconds or milliseconds)');
    return fromEpochValue(raw, Number(digits), zone, mode);
  }
  const local = daysFromCivil(s.year, s.month, s.day) * 86400 + s.hour * 3600 + s.minute * 60 + s.second;
  let ambiguous = false;
  let nonexistent = false;
  let epochSeconds: number;
  if (s.hasOffset) {
    epochSeconds = local - s.offsetSeconds;
  } else {
    resolveLocal(zone, local, resolved);
    epochSeconds = resolved.epochSeconds;
    ambiguous = resolved.ambiguous;
    nonexistent = resolved.nonexistent;
  }
  if (epochSeconds < MIN_EPOCH_SECONDS || epochSeconds >= END_EPOCH_SECONDS) {
    throw fail(raw, 'the UTC instant falls outside the years 0001-9999');
  }
  const precision: TsPrecision = !s.hasTime
    ? 'day'
    : !s.hasSeconds
      ? 'minute'
      : s.fracDigits === 0
        ? 'second'
        : s.fracDigits <= 3
          ? 'millisecond'
          : 'microsecond';
  const utc = formatUtc(epochSeconds, s.micros);
  return {
    utcMicros: BigInt(epochSeconds) * 1000000n + BigInt(s.micros),
    utc,
    utcDate: utc.slice(0, 10),
    precision,
    truncatedToMidnight: !s.hasTime || (s.hour === 0 && s.minute === 0 && s.second === 0 && s.fracZero),
    ambiguous,
    nonexistent,
    sourceLocalDate: formatCivilDate(s.year, s.month, s.day),
  };
}

/** Policy 7: an absolute epoch value; the source zone only gives the local date and the midnight flag. */
function fromEpochValue(raw: unknown, value: number, zone: ZoneInfo, mode: NonNullable<ParseOptions['epoch']>): ParsedTimestamp {
  let millis: boolean;
  if (mode === 'seconds') millis = false;
  else if (mode === 'milliseconds') millis = true;
  else if (value < EPOCH_SECONDS_LIMIT) millis = false;
  else if (value < EPOCH_MILLIS_LIMIT) millis = true;
  else throw fail(raw, `epoch number out of range (seconds must be below ${EPOCH_SECONDS_LIMIT}, milliseconds below ${EPOCH_MILLIS_LIMIT})`);
  const epochSeconds = millis ? Math.floor(value / 1000) : value;
  const micros = millis ? (value - epochSeconds * 1000) * 1000 : 0;
  if (epochSeconds >= END_EPOCH_SECONDS) throw fail(raw, `epoch ${millis ? 'milliseconds' : 'seconds'} out of range (after year 9999)`);
  const local = epochSeconds + offsetAt(zone, epochSeconds);
  const localDay = Math.floor(local / 86400);
  const utc = formatUtc(epochSeconds, micros);
  return {
    utcMicros: BigInt(epochSeconds) * 1000000n + BigInt(micros),
    utc,
    utcDate: utc.slice(0, 10),
    precision: millis ? 'millisecond' : 'second',
    truncatedToMidnight: local === localDay * 86400 && micros === 0,
    ambiguous: false,
    nonexistent: false,
    sourceLocalDate: formatDate(localDay),
  };
}

/** The ParsedTimestamp fields in the `billing-mart timestamps` JSON shape (snake_case). */
export interface TimestampJson {
  utc: string | null;
  utc_date: string | null;
  precision: TsPrecision | null;
  truncated_to_midnight: boolean;
  ambiguous: boolean;
  nonexistent: boolean;
  source_local_date: string | null;
  error: string | null;
}

export function toTimestampJson(p: ParsedTimestamp): TimestampJson {
  return {
    utc: p.utc,
    utc_date: p.utcDate,
    precision: p.precision,
    truncated_to_midnight: p.truncatedToMidnight,
    ambiguous: p.ambiguous,
    nonexistent: p.nonexistent,
    source_local_date: p.sourceLocalDate,
    error: null,
  };
}

export function timestampErrorJson(message: string): TimestampJson {
  return {
    utc: null, utc_date: null, precision: null, truncated_to_midnight: false, ambiguous: false, nonexistent: false,
    source_local_date: null, error: message,
  };
}
