/**
 * The one CSV-field rule for every CSV billing-mart writes (export, staged lines for DuckDB, quarantine and truth
 * files, the generator's renderers, the OLTP file snapshot): RFC 4180, and null and '' stay apart.
 * - null (or undefined) is the empty field: `a,,b`;
 * - the empty string is `""` (DuckDB reads it as '' with allow_quoted_nulls=false; csv-parse as '');
 * - a value holding a comma, a quote, CR or LF, or starting or ending with white space (which trimming readers
 *   would lose) is quoted, its quotes doubled;
 * - anything else is written as it is.
 */
export type CsvValue = string | number | bigint | boolean | null | undefined;

const NEEDS_QUOTES = /^$|[",\r\n]|^\s|\s$/;

export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : String(v);
  return needsQuotes(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** NEEDS_QUOTES.test(s), without the regex for the common case (first and last characters printable ASCII). */
export function needsQuotes(s: string): boolean {
  const n = s.length;
  if (n === 0) return true;
  const a = s.charCodeAt(0);
  const z = s.charCodeAt(n - 1);
  // outside 0x21..0x7e an end character may be white space (\s is Unicode-aware): the regex decides
  if (a <= 32 || a >= 127 || z <= 32 || z >= 127) return NEEDS_QUOTES.test(s);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 44 || c === 34 || c === 10 || c === 13) return true;
  }
  return false;
}

/** Fields joined by commas, no line end. */
export function csvRow(values: readonly CsvValue[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i ? ',' : '') + csvField(values[i]);
  return out;
}
