/**
 * What a raw value looks like as a timestamp: a format label (`YYYY-MM-DD HH:mm:ss.SSSSSS`, `epoch seconds`,
 * `MM/DD/YYYY hh:mm AM`), the offset it carries (`Z`, `-07:00`, `UTC`, `PST`, or none), or null when the value
 * does not look like a date at all. Pure string inspection; parsing is events/time.ts's job.
 */

export interface Shape {
  format: string;
  /** Offset as written, or null for a naive value. */
  offset: string | null;
  epoch: 'seconds' | 'milliseconds' | null;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:([Tt ])(\d{2}):(\d{2})(?::(\d{2})(?:([.,])(\d{1,12}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?|UTC|GMT|[A-Z]{3,4})?$/;
const US_RE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*([AaPp][Mm])?)?$/;
const EPOCH_RE = /^-?\d{9,13}$/;
/** Epoch seconds 2001-09-09 .. 2286 and epoch ms in the same span: anything else is not taken for a time. */
const EPOCH_S_MIN = 1_000_000_000;
const EPOCH_S_MAX = 9_999_999_999;

export function shapeOf(raw: string): Shape | null {
  const v = raw.trim();
  let m = ISO_RE.exec(v);
  if (m) {
    let f = 'YYYY-MM-DD';
    if (m[4] !== undefined) {
      f += `${m[4] === ' ' ? ' ' : 'T'}HH:mm`;
      if (m[7] !== undefined) f += ':ss';
      if (m[9] !== undefined) f += (m[8] === ',' ? ',' : '.') + 'S'.repeat(m[9].length);
    }
    const off = m[10] ?? null;
    if (off) f += /^[+-]/.test(off) ? (off.includes(':') ? '±HH:MM' : '±HHMM') : off === 'z' ? 'Z' : /^(Z|UTC|GMT)$/.test(off) ? (off === 'Z' ? 'Z' : ` ${off}`) : ' ZZZ';
    return { format: f, offset: off, epoch: null };
  }
  m = US_RE.exec(v);
  if (m) {
    let f = 'MM/DD/YYYY';
    if (m[4] !== undefined) {
      f += ' hh:mm';
      if (m[6] !== undefined) f += ':ss';
      if (m[7] !== undefined) f += '.' + 'S'.repeat(m[7].length);
      if (m[8] !== undefined) f += ' AM/PM';
    }
    return { format: f, offset: null, epoch: null };
  }
  if (EPOCH_RE.test(v)) {
    const n = Number(v);
    if (n >= EPOCH_S_MIN && n <= EPOCH_S_MAX && v.length <= 10) return { format: 'epoch seconds', offset: 'UTC (epoch)', epoch: 'seconds' };
    if (n >= EPOCH_S_MIN * 1000 && n <= EPOCH_S_MAX * 1000 && v.length >= 12) return { format: 'epoch milliseconds', offset: 'UTC (epoch)', epoch: 'milliseconds' };
  }
  return null;
}

/** The mapping language's timestamp format for a set of shapes (config/sources.ts TIMESTAMP_FORMATS). */
export function suggestFormat(formats: ReadonlyMap<string, number>): 'auto' | 'iso' | 'epoch_s' | 'epoch_ms' | 'us-date' {
  const names = [...formats.keys()];
  if (names.length && names.every((f) => f === 'epoch seconds')) return 'epoch_s';
  if (names.length && names.every((f) => f === 'epoch milliseconds')) return 'epoch_ms';
  if (names.length && names.every((f) => f.startsWith('MM/DD/YYYY'))) return 'us-date';
  if (names.length && names.every((f) => f.startsWith('YYYY-MM-DD'))) return 'iso';
  return 'auto';
}
