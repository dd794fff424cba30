/**
 * Reading typed values out of raw records: timestamps in their declared formats, exact money, currencies and
 * seqn. Pure functions; every failure is a RecordError naming the field and the source location.
 */
import { isLosslessNumber } from 'lossless-json';
import { RecordError, type SourceLocation } from '../../events/errors.js';
import { knownCurrency, Money, normaliseCurrency, type RawAmount } from '../../events/money.js';
import { parseTimestamp, type ParsedTimestamp } from '../../events/time.js';
import type { CurrencySpec, MoneySpec, TimestampFormat } from '../../config/sources.js';
import { asList, firstPresent, textOf } from '../paths.js';

/** "No currency involved" (ISO 4217), for zero-amount events of objects without a currency. */
export const NO_CURRENCY = 'XXX';

const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?$/i;
const INT_RE = /^-?\d+$/;
const US_DATE_RE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?\s*([AaPp][Mm])?)?$/;

function raw2text(raw: unknown): string | null {
  return textOf(raw);
}

/** Rewrites a US `MM/DD/YYYY[ hh:mm[:ss][ AM|PM]]` value as a naive ISO text, or null when it is not one. */
export function usDateToIso(text: string): string | null {
  const m = US_DATE_RE.exec(text.trim());
  if (!m) return null;
  const [, mo, d, y, hh, mi, ss, frac, ampm] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  const date = `${y}-${mo!.padStart(2, '0')}-${d!.padStart(2, '0')}`;
  if (hh === undefined) return date;
  let hour = Number(hh);
  if (ampm) {
    if (hour < 1 || hour > 12) return null;
    const pm = ampm.toLowerCase() === 'pm';
    hour = (hour % 12) + (pm ? 12 : 0);
  }
  return `${date} ${String(hour).padStart(2, '0')}:${mi}:${ss ?? '00'}${frac ?? ''}`;
}

/** Parses a timestamp value in its declared format; the zone applies to naive values. */
export function readTimestamp(raw: unknown, format: TimestampFormat, zone: string, loc: SourceLocation): ParsedTimestamp {
  const text = raw2text(raw);
  if (text === null) throw new RecordError('MISSING_FIELD', 'timestamp is empty', raw, loc);
  const bad = (expected: string) => new RecordError('BAD_TIMESTAMP', `timestamp ${JSON.stringify(text)} is not ${expected}`, text, loc);
  try {
    switch (format) {
      case 'auto':
        return parseTimestamp(text, zone);
      case 'iso':
        if (!ISO_RE.test(text)) throw bad('ISO 8601 (2024-01-31T13:05:07Z, 2024-01-31 13:05:07, 2024-01-31)');
        return parseTimestamp(text, zone);
      case 'epoch_s':
        if (!INT_RE.test(text)) throw bad('epoch seconds (an integer)');
        return parseTimestamp(text, zone, { epoch: 'seconds' });
      case 'epoch_ms':
        if (!INT_RE.test(text)) throw bad('epoch milliseconds (an integer)');
        return parseTimestamp(text, zone, { epoch: 'milliseconds' });
      case 'us-date': {
        const iso = usDateToIso(text);
        if (iso === null) throw bad('a US date MM/DD/YYYY[ hh:mm[:ss][ AM|PM]]');
        return parseTimestamp(iso, zone);
      }
    }
  } catch (e) {
    if (e instanceof RecordError) throw e.location ? e : e.at(loc);
    throw new RecordError('BAD_TIMESTAMP', `timestamp ${JSON.stringify(text)} could not be read: ${(e as Error).message}`, text, loc, { cause: e });
  }
}

/** Resolves a currency spec against a record; null when the spec has no column value and no default. */
export function readCurrency(data: unknown, spec: CurrencySpec, loc: SourceLocation): string | null {
  if (typeof spec === 'string') return spec;
  const hit = firstPresent(data, spec.column);
  if (!hit) return spec.default ?? null;
  const v = textOf(hit.value) ?? hit.value;
  return knownCurrency(v) ?? normaliseCurrency(v, { ...loc, field: hit.path });
}

function toRawAmount(v: unknown): RawAmount | null {
  if (typeof v === 'string' || typeof v === 'bigint' || isLosslessNumber(v)) return v as RawAmount;
  return null;
}

/** Reads one money field: exact, scaled by unit, within the declared scale. */
export function readMoney(data: unknown, name: string, spec: MoneySpec, currency: string, loc: SourceLocation): Money {
  const paths = spec.column !== undefined ? asList(spec.column) : [name];
  const hit = firstPresent(data, paths);
  const field = hit?.path ?? paths[0]!;
  const at = { ...loc, field };
  if (!hit) throw new RecordError('MISSING_FIELD', `amount field ${paths.join(' / ')} is empty`, null, at);
  const raw = toRawAmount(hit.value);
  if (raw === null) throw new RecordError('BAD_AMOUNT', `amount ${JSON.stringify(hit.value)} is not a number`, hit.value, at);
  const money = spec.unit === 'minor' ? Money.minor(raw, currency, at) : Money.major(raw, currency, at, { exponent: spec.exponent === true });
  if (spec.unit === 'major' && spec.scale !== undefined) {
    // the money holds exactly the text's value, so its decimal places are the text's
    if (money.decimalPlaces() > spec.scale) {
      const text = textOf(raw)!;
      throw new RecordError('AMOUNT_OUT_OF_RANGE', `amount ${text} has more than the declared ${spec.scale} decimal places; refusing to round`, text, at);
    }
  }
  return money;
}

const INT64_MAX = 2n ** 63n - 1n;

/** An integer seqn (sequence / version number) from a column. */
export function readIntegerSeqn(raw: unknown, loc: SourceLocation): bigint {
  const text = textOf(raw);
  if (text === null || !INT_RE.test(text)) throw new RecordError('BAD_VALUE', `seqn ${JSON.stringify(text ?? raw)} is not an integer`, raw, loc);
  const n = BigInt(text);
  if (n > INT64_MAX || n < -INT64_MAX - 1n) throw new RecordError('BAD_VALUE', `seqn ${text} does not fit int64`, text, loc);
  return n;
}
