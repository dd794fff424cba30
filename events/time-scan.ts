/**
 * Hand-written scanner for timestamp text (no regular expressions: linear time, no backtracking, no allocation
 * beyond the error message). It only recognises and validates the written form; zone arithmetic is elsewhere.
 *
 * Accepted forms (after trimming surrounding whitespace):
 *   digits                                   epoch seconds / milliseconds (policy 7)
 *   YYYY-MM-DD                               date only
 *   YYYY-MM-DD(T|t| )HH:MM[:SS[(.|,)f+]][offset]
 *   M/D/YYYY or MM/DD/YYYY [(T| )H:MM[:SS[(.|,)f+]][ ][AM|PM]][offset]   US style, always month first
 * offset: `Z`/`z`; `±HH:MM`, `±HHMM`, `±HH` (optionally after one space); or a space (optional) and one of
 * PST PDT EST EDT UTC GMT BST (any case).
 */
import { daysInMonth, MONTH_NAMES } from './time-civil.js';

export class ScanError extends Error {}

export interface Scanned {
  isEpoch: boolean;
  /** Epoch digits (no sign) when isEpoch; `negative` when a leading '-' was written. */
  epochDigits: string;
  negative: boolean;
  year: number;
  month: number;
  day: number;
  hasTime: boolean;
  hour: number;
  minute: number;
  hasSeconds: boolean;
  second: number;
  /** Number of fraction digits as written (0 = none). */
  fracDigits: number;
  /** The fraction truncated (never rounded) to microseconds. */
  micros: number;
  /** Every fraction digit as written is 0 (also beyond the sixth). */
  fracZero: boolean;
  hasOffset: boolean;
  /** Seconds east of UTC. */
  offsetSeconds: number;
}

export function newScanned(): Scanned {
  return {
    isEpoch: false, epochDigits: '', negative: false, year: 0, month: 0, day: 0, hasTime: false, hour: 0, minute: 0,
    hasSeconds: false, second: 0, fracDigits: 0, micros: 0, fracZero: true, hasOffset: false, offsetSeconds: 0,
  };
}

/** Policy 10: abbreviations are fixed offsets, honoured as written (a "PST" in July is still -08:00). */
const ABBREVIATIONS: ReadonlyMap<string, number> = new Map([
  ['UTC', 0], ['GMT', 0], ['PST', -8 * 3600], ['PDT', -7 * 3600], ['EST', -5 * 3600], ['EDT', -4 * 3600], ['BST', 3600],
]);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Index after the run of digits starting at i. */
function digitsEnd(s: string, i: number): number {
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i;
}

function num(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

function describe(s: string, i: number): string {
  return i >= s.length ? 'the end of the value' : `"${s.slice(i, i + 12)}"${s.length - i > 12 ? '…' : ''} at position ${i + 1}`;
}

/** Scans `s` (already trimmed, non-empty) into `out`. Throws ScanError with the reason. */
export function scan(s: string, out: Scanned): Scanned {
  out.isEpoch = false;
  out.hasTime = false;
  out.hasSeconds = false;
  out.hasOffset = false;
  out.hour = out.minute = out.second = out.fracDigits = out.micros = out.offsetSeconds = 0;
  out.fracZero = true;
  const n = s.length;
  let i = 0;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 /* - */ || c0 === 43 /* + */) {
    const e = digitsEnd(s, 1);
    if (e === n && n > 1) return epoch(s.slice(1), c0 === 45, out);
    throw new ScanError('a timestamp cannot start with a sign unless it is an epoch number');
  }
  const e1 = digitsEnd(s, 0);
  if (e1 === n) return epoch(s, false, out);
  if (e1 === 0) throw new ScanError('expected a date such as 2017-07-15 or 07/15/2017, or an epoch number');
  const sep = s.charCodeAt(e1);
  let us = false;
  if (sep === 45 /* - */) {
    if (e1 !== 4) throw new ScanError(e1 === 2 ? 'two-digit years are not accepted; write the year with four digits' : 'the year must have exactly four digits (YYYY-MM-DD)');
    out.year = num(s, 0, 4);
    const m0 = 5;
    const me = digitsEnd(s, m0);
    if (me - m0 !== 2 || s.charCodeAt(me) !== 45) throw new ScanError('expected a two-digit month and day (YYYY-MM-DD)');
    out.month = num(s, m0, me);
    const de = digitsEnd(s, me + 1);
    if (de - (me + 1) !== 2) throw new ScanError('expected a two-digit day (YYYY-MM-DD)');
    out.day = num(s, me + 1, de);
    i = de;
  } else if (sep === 47 /* / */) {
    us = true;
    if (e1 > 2) throw new ScanError('US-style dates are month first: M/D/YYYY or MM/DD/YYYY');
    out.month = num(s, 0, e1);
    const de = digitsEnd(s, e1 + 1);
    if (de - (e1 + 1) < 1 || de - (e1 + 1) > 2 || s.charCodeAt(de) !== 47) throw new ScanError('US-style dates must be M/D/YYYY or MM/DD/YYYY');
    out.day = num(s, e1 + 1, de);
    const ye = digitsEnd(s, de + 1);
    if (ye - (de + 1) !== 4) throw new ScanError(ye - (de + 1) === 2 ? 'two-digit years are not accepted; write the year with four digits' : 'US-style dates must have a four-digit year (M/D/YYYY)');
    out.year = num(s, de + 1, ye);
    i = ye;
  } else {
    throw new ScanError(`unexpected ${describe(s, e1)} after the leading number (expected "-" of YYYY-MM-DD, "/" of MM/DD/YYYY, or only digits for an epoch)`);
  }
  checkDate(out);
  if (i === n) return out;

  // date/time separator
  const ts = s.charCodeAt(i);
  if (ts !== 84 /* T */ && ts !== 116 /* t */ && ts !== 32 /* space */) throw new ScanError(`unexpected ${describe(s, i)} after the date`);
  i++;
  const he = digitsEnd(s, i);
  const hl = he - i;
  if (hl === 0) throw new ScanError(`expected a time after the date, found ${describe(s, i)}`);
  if (us ? hl > 2 : hl !== 2) throw new ScanError(us ? 'the hour must have one or two digits' : 'the hour must have two digits (HH:MM)');
  out.hour = num(s, i, he);
  if (s.charCodeAt(he) !== 58 /* : */) throw new ScanError('expected ":" and minutes after the hour (HH:MM)');
  const mie = digitsEnd(s, he + 1);
  if (mie - (he + 1) !== 2) throw new ScanError('the minutes must have two digits (HH:MM)');
  out.minute = num(s, he + 1, mie);
  out.hasTime = true;
  i = mie;
  if (i < n && s.charCodeAt(i) === 58) {
    const se = digitsEnd(s, i + 1);
    if (se - (i + 1) !== 2) throw new ScanError('the seconds must have two digits (HH:MM:SS)');
    out.second = num(s, i + 1, se);
    out.hasSeconds = true;
    i = se;
    const fc = i < n ? s.charCodeAt(i) : 0;
    if (fc === 46 /* . */ || fc === 44 /* , */) {
      const fe = digitsEnd(s, i + 1);
      const fl = fe - (i + 1);
      if (fl === 0) throw new ScanError('expected digits after the decimal separator of the seconds');
      out.fracDigits = fl;
      let us6 = 0;
      for (let k = 0; k < 6; k++) us6 = us6 * 10 + (k < fl ? s.charCodeAt(i + 1 + k) - 48 : 0);
      out.micros = us6; // digits beyond the sixth are dropped: truncation, never rounding
      for (let k = i + 1; k < fe; k++) {
        if (s.charCodeAt(k) !== 48) {
          out.fracZero = false;
          break;
        }
      }
      i = fe;
    }
  }
  if (us) i = scanMeridiem(s, i, out);
  checkTime(out);
  if (i === n) return out;
  i = scanOffset(s, i, out);
  if (i !== n) throw new ScanError(`unexpected trailing text ${describe(s, i)}`);
  return out;
}

function epoch(digits: string, negative: boolean, out: Scanned): Scanned {
  out.isEpoch = true;
  out.epochDigits = digits;
  out.negative = negative;
  return out;
}

function checkDate(out: Scanned): void {
  if (out.year < 1) throw new ScanError('year 0000 does not exist');
  if (out.month < 1 || out.month > 12) throw new ScanError(`month ${out.month} does not exist (months are 01-12)`);
  const dim = daysInMonth(out.year, out.month);
  if (out.day < 1 || out.day > dim) {
    throw new ScanError(`day ${out.day} does not exist in ${MONTH_NAMES[out.month - 1]} ${out.year} (it has ${dim} days)`);
  }
}

function checkTime(out: Scanned): void {
  if (out.hour === 24) throw new ScanError('hour 24 is not accepted; write 00:00 of the next day');
  if (out.hour > 23) throw new ScanError(`hour ${out.hour} does not exist (hours are 00-23)`);
  if (out.minute > 59) throw new ScanError(`minute ${out.minute} does not exist (minutes are 00-59)`);
  if (out.second === 60) throw new ScanError('leap seconds (:60) are not accepted');
  if (out.second > 59) throw new ScanError(`second ${out.second} does not exist (seconds are 00-59)`);
}

/** Optional `AM`/`PM` (any case, optionally after one space) of a US-style time; converts to 24 h. */
function scanMeridiem(s: string, i: number, out: Scanned): number {
  let j = i;
  if (j < s.length && s.charCodeAt(j) === 32) j++;
  if (j + 1 >= s.length) return i;
  const a = s.charCodeAt(j) | 0x20;
  const m = s.charCodeAt(j + 1) | 0x20;
  if ((a !== 97 /* a */ && a !== 112 /* p */) || m !== 109 /* m */) return i;
  if (j + 2 < s.length && isLetter(s.charCodeAt(j + 2))) return i;
  if (out.hour < 1 || out.hour > 12) throw new ScanError(`hour ${out.hour} is not a 12-hour clock hour (1-12) but is followed by AM/PM`);
  if (a === 97) out.hour = out.hour === 12 ? 0 : out.hour;
  else out.hour = out.hour === 12 ? 12 : out.hour + 12;
  return j + 2;
}

function scanOffset(s: string, i: number, out: Scanned): number {
  const n = s.length;
  let c = s.charCodeAt(i);
  if (c === 90 /* Z */ || c === 122 /* z */) {
    out.hasOffset = true;
    out.offsetSeconds = 0;
    return i + 1;
  }
  let j = i;
  if (c === 32) {
    j++;
    c = j < n ? s.charCodeAt(j) : 0;
  }
  if (c === 43 /* + */ || c === 45 /* - */) {
    const sign = c === 45 ? -1 : 1;
    const hs = j + 1;
    const he = digitsEnd(s, hs);
    let hh: number;
    let mm = 0;
    let end: number;
    if (he - hs === 2) {
      hh = num(s, hs, he);
      end = he;
      if (he < n && s.charCodeAt(he) === 58) {
        const me = digitsEnd(s, he + 1);
        if (me - (he + 1) !== 2) throw new ScanError('the offset must be ±HH:MM, ±HHMM or ±HH');
        mm = num(s, he + 1, me);
        end = me;
      }
    } else if (he - hs === 4) {
      hh = num(s, hs, hs + 2);
      mm = num(s, hs + 2, he);
      end = he;
    } else {
      throw new ScanError('the offset must be ±HH:MM, ±HHMM or ±HH');
    }
    if (mm > 59) throw new ScanError(`offset minutes ${mm} do not exist (00-59)`);
    if (hh > 18 || (hh === 18 && mm > 0)) throw new ScanError(`offset ${s.slice(j, end)} is beyond ±18:00`);
    out.hasOffset = true;
    out.offsetSeconds = sign * (hh * 3600 + mm * 60);
    return end;
  }
  if (isLetter(c)) {
    let k = j;
    while (k < n && isLetter(s.charCodeAt(k))) k++;
    const abbr = s.slice(j, k).toUpperCase();
    const off = ABBREVIATIONS.get(abbr);
    if (off === undefined) {
      throw new ScanError(`unknown zone abbreviation "${s.slice(j, k)}" (accepted: ${[...ABBREVIATIONS.keys()].join(', ')}, or an offset such as -07:00)`);
    }
    out.hasOffset = true;
    out.offsetSeconds = off;
    return k;
  }
  return i;
}
