/**
 * The one options module of the CLI: how every command reads and checks --date/--from/--to, --window, --as-of,
 * --sources and counts (--parallel, --attempts, --last, --events-per-day, …). Each error names its flag and is
 * exit 2 (a ConfigError), so the same mistake reads the same in every command.
 */
import { ConfigError } from '../../events/errors.js';
import { assertDay, DAY_MS, dayRange, dayStartMs, isDay, parseWindow, type Window } from '../../partitions/index.js';

/** A `YYYY-MM-DD` calendar day. */
export function day(flag: string, v: string): string {
  try {
    return assertDay(v);
  } catch {
    throw new ConfigError(`${flag} "${v}" is not a calendar day: expected YYYY-MM-DD, e.g. 2024-01-03`);
  }
}

/** `--from D --to D`, both required and in order. */
export function dayPair(o: { from: string; to: string }): { from: string; to: string } {
  const from = day('--from', o.from);
  const to = day('--to', o.to);
  if (to < from) throw new ConfigError(`--to ${to} is before --from ${from}`);
  return { from, to };
}

/** `--date D` or `--from D --to D`; when neither is given, `fallback`. */
export function daysFrom<T = string[]>(o: { date?: string; from?: string; to?: string }, fallback: () => T): string[] | T {
  if (o.date && (o.from || o.to)) throw new ConfigError('give either --date D or --from D --to D, not both');
  if (o.date) return [day('--date', o.date)];
  if (o.from || o.to) {
    if (!o.from || !o.to) throw new ConfigError('--from and --to go together (both YYYY-MM-DD, inclusive)');
    const p = dayPair({ from: o.from, to: o.to });
    return dayRange(p.from, p.to);
  }
  return fallback();
}

/** Days selected by --date D or --from D --to D; undefined when neither is given (every day). */
export function selectedDays(o: { date?: string; from?: string; to?: string }): string[] | undefined {
  return daysFrom(o, () => undefined);
}

/** A whole number ≥ 1 (`--parallel 2`, `--attempts 3`, `--last 20`). */
export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new ConfigError(`${flag} "${v}" must be a whole number ≥ 1`);
  return n;
}

/** `--window START/END` (ISO instants with a zone; a bare day is its UTC midnight). */
export function windowOption(flag: string, v: string): Window {
  try {
    return parseWindow(v);
  } catch (e) {
    throw new ConfigError(`${flag}: ${(e as Error).message}`);
  }
}

/** An instant: ISO 8601 with Z or an offset, or a bare day (its UTC end, 23:59:59.999). */
export function instant(flag: string, v: string): number {
  if (isDay(v)) return dayStartMs(v) + DAY_MS - 1;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) day(flag, v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms) || !/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) {
    throw new ConfigError(`${flag} "${v}" is not an ISO 8601 instant with a zone, e.g. 2024-01-05T09:00:00Z (or a day: 2024-01-05 = end of that UTC day)`);
  }
  return ms;
}

/** `--as-of TS`: the table as committed at that instant. */
export function parseAsOf(v: string): number {
  return instant('--as-of', v);
}

/** A comma-separated list (`--sources a,b`), blanks dropped; with `configured`, every name must be one of them. */
export function sourceList(flag: string, v: string, configured?: readonly string[]): string[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!configured) return list;
  const unknown = list.filter((s) => !configured.includes(s));
  if (unknown.length || !list.length) throw new ConfigError(`${flag}: unknown source(s) ${unknown.join(', ') || '(none given)'}`, [`configured sources: ${configured.join(', ')}`]);
  return list;
}

/** `--sources a,b`: a subset of the configured sources, in the order given; undefined when the flag is absent. */
export function selectSources(flag: string | undefined, configured: readonly string[]): string[] | undefined {
  return flag === undefined ? undefined : sourceList('--sources', flag, configured);
}
