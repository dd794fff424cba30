/** Small formatting helpers shared by the renderers (money text from minor units, CSV quoting, epochs). */
import { currencyExponent } from '../../events/money.js';
import type { Rng } from './rng.js';

/** Exact major-unit text of an amount in minor units: `7036` USD → `70.36`; JPY `570860` → `570860`. */
export function majorText(minor: bigint, currency: string, style: 'fixed' | 'trim' | 'scale9' | 'dot0' = 'fixed'): string {
  const exp = currencyExponent(currency);
  const neg = minor < 0n;
  const digits = (neg ? -minor : minor).toString().padStart(exp + 1, '0');
  const int = digits.slice(0, digits.length - exp);
  let frac = exp ? digits.slice(digits.length - exp) : '';
  if (style === 'scale9') frac = frac.padEnd(9, '0');
  else if (style === 'trim') frac = frac.replace(/0+$/, '');
  else if (style === 'dot0') {
    frac = frac.replace(/0+$/, '');
    if (frac === '') frac = '0';
  }
  return `${neg ? '-' : ''}${int}${frac ? '.' + frac : ''}`;
}

/** A major-unit style as a source with "any scale" writes it (70.36, 65, 0.1, 20.830000000). */
export function anyScaleStyle(rng: Rng): 'fixed' | 'trim' | 'scale9' {
  return rng.weighted([
    ['fixed', 6],
    ['trim', 3],
    ['scale9', 1],
  ] as const);
}


export function epochS(ms: number): number {
  return Math.floor(ms / 1000);
}

/** JSON text with bigint fields written as bare integers (amounts never pass through a float). */
export function jsonText(obj: unknown): string {
  return JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? `__BIG__${v}` : v)).replace(/"__BIG__(-?\d+)"/g, '$1');
}
