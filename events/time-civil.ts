/**
 * Proleptic Gregorian calendar arithmetic on plain numbers (no Date, no luxon): civil date ↔ days since
 * 1970-01-01, and the fixed-width text forms the timestamp normaliser prints. Pure and allocation-light,
 * because it runs once per parsed value.
 */

/** Supported years (the UTC output is always `YYYY-...` with exactly four digits). */
export const MIN_YEAR = 1;
export const MAX_YEAR = 9999;

/** Seconds since the epoch of 0001-01-01T00:00:00 and of 10000-01-01T00:00:00 (exclusive upper bound). */
export const MIN_EPOCH_SECONDS = daysFromCivil(MIN_YEAR, 1, 1) * 86400;
export const END_EPOCH_SECONDS = daysFromCivil(MAX_YEAR + 1, 1, 1) * 86400;

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : MONTH_DAYS[m - 1]!;
}

export const MONTH_NAMES = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil; writes [year, month, day] into `out` (reused to avoid allocation). */
export function civilFromDays(days: number, out: number[]): number[] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400;
  out[1] = m;
  out[2] = d;
  return out;
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);

function pad4(n: number): string {
  return n >= 1000 ? String(n) : n >= 100 ? '0' + n : n >= 10 ? '00' + n : '000' + n;
}

function pad6(n: number): string {
  const s = String(n);
  return s.length === 6 ? s : '000000'.slice(s.length) + s;
}

const scratch = [0, 0, 0];

/** `YYYY-MM-DD` of a day number. */
export function formatDate(days: number): string {
  civilFromDays(days, scratch);
  return `${pad4(scratch[0]!)}-${PAD2[scratch[1]!]}-${PAD2[scratch[2]!]}`;
}

/** `YYYY-MM-DD` of a civil date. */
export function formatCivilDate(y: number, m: number, d: number): string {
  return `${pad4(y)}-${PAD2[m]}-${PAD2[d]}`;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` of whole epoch seconds plus 0..999999 microseconds. */
export function formatUtc(epochSeconds: number, micros: number): string {
  const days = Math.floor(epochSeconds / 86400);
  let sod = epochSeconds - days * 86400;
  const h = Math.floor(sod / 3600);
  sod -= h * 3600;
  const mi = Math.floor(sod / 60);
  const s = sod - mi * 60;
  return `${formatDate(days)}T${PAD2[h]}:${PAD2[mi]}:${PAD2[s]}.${pad6(micros)}Z`;
}
