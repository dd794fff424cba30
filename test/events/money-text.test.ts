/**
 * Money is decimal text arithmetic (events/money.ts keeps the canonical DECIMAL(38,9) text, no decimal.js on the
 * ingest path). This pins it to what decimal.js computes, on seeded random texts that reach every branch (signs,
 * leading and trailing zeros, the 9-place and 38-digit edges, every minor-unit exponent, exponent notation): the
 * reference below is the decimal.js implementation Money had before (same precision and rounding settings).
 */
import { Decimal as DecimalJs } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/sample-events.js';
import { RecordError } from '../../events/errors.js';
import { currencyExponent, Money } from '../../events/money.js';

const D = DecimalJs.clone({ precision: 80, rounding: DecimalJs.ROUND_DOWN, toExpNeg: -40, toExpPos: 60 });
const MAX = new D((10n ** 38n - 1n).toString());
const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

type Outcome = { fixed: string } | { error: string; message: string };

/** The decimal.js Money of before: major/minor text → fixed text, or the refusal. */
function reference(text: string, unit: 'major' | 'minor', currency: string, exponent: boolean): Outcome {
  const t = text.trim();
  const shorten = (s: string) => (s.length > 60 ? `${s.slice(0, 28)}…${s.slice(-28)} (${s.length} characters)` : s);
  let amount: DecimalJs;
  if (unit === 'minor') {
    if (!/^[+-]?\d+$/.test(t)) return { error: 'BAD_AMOUNT', message: `minor-unit amount ${JSON.stringify(t)} is not an integer` };
    amount = new D(t).div(new D(10).pow(currencyExponent(currency)));
  } else {
    if (t === '' || !DECIMAL_RE.test(t)) return { error: 'BAD_AMOUNT', message: `amount ${JSON.stringify(t)} is not a decimal number` };
    if (!exponent && /[eE]/.test(t)) return { error: 'BAD_AMOUNT', message: 'exponent' };
    amount = new D(t);
    if (amount.isZero() && /[1-9]/.test(t.replace(/[eE].*$/, ''))) return { error: 'AMOUNT_OUT_OF_RANGE', message: 'too small' };
  }
  if (amount.decimalPlaces() > 9 || amount.abs().times(new D(10).pow(9)).greaterThan(MAX)) {
    return { error: 'AMOUNT_OUT_OF_RANGE', message: `amount ${shorten(t)} does not fit DECIMAL(38,9) exactly; refusing to round` };
  }
  return { fixed: amount.isZero() ? '0.000000000' : amount.toFixed(9) };
}

function actual(text: string, unit: 'major' | 'minor', currency: string, exponent: boolean): { outcome: Outcome; money?: Money } {
  try {
    const money = unit === 'minor' ? Money.minor(text, currency) : Money.major(text, currency, undefined, { exponent });
    return { outcome: { fixed: money.toFixed() }, money };
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    const message = e.message.includes('exponent notation') ? 'exponent' : e.message.includes('too small') ? 'too small' : e.message;
    return { outcome: { error: e.code, message } };
  }
}

function randomText(r: () => number, unit: 'major' | 'minor'): string {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => (r() < 0.3 ? '0' : String(Math.floor(r() * 10)))).join('');
  const len = () => pick([0, 1, 1, 2, 3, 5, 9, 10, 12, 20, 28, 29, 30, 31, 38, 40, 45, 90]);
  const sign = pick(['', '', '', '-', '+']);
  const pad = pick(['', '', '', ' ', '  ']);
  if (unit === 'minor') return `${pad}${sign}${pick(['', '', '0', '00'])}${digits(Math.max(1, len()))}${pad}`;
  const int = pick(['', '0', '00', '']) + digits(len());
  const frac = r() < 0.2 ? '' : `.${digits(pick([0, 1, 2, 3, 8, 9, 9, 10, 11, 15]))}${pick(['', '', '0', '000', '0000000000'])}`;
  const exp = r() < 0.1 ? `${pick(['e', 'E'])}${pick(['', '+', '-'])}${Math.floor(r() * 45)}` : '';
  const text = int === '' && (frac === '' || frac === '.') ? `0${frac}` : `${int}${frac}`;
  return `${pad}${sign}${text}${exp}${pad}`;
}

const CURRENCIES = ['USD', 'JPY', 'KWD', 'CLF', 'eur', 'jpy'];

describe('Money text arithmetic equals decimal.js', () => {
  it('on 20 000 random major and minor texts: fixed text, refusal and message, unscaled, sign, negation, sums', () => {
    const r = rng(20261201);
    let accepted = 0;
    let refused = 0;
    let prev: Money | undefined;
    for (let i = 0; i < 20_000; i++) {
      const unit = r() < 0.5 ? 'major' : 'minor';
      const currency = CURRENCIES[i % CURRENCIES.length]!;
      const exponent = r() < 0.5;
      const text = randomText(r, unit);
      const want = reference(text, unit, currency, exponent);
      const got = actual(text, unit, currency, exponent);
      expect(got.outcome, `${unit} ${JSON.stringify(text)} ${currency}`).toEqual(want);
      const m = got.money;
      if (!m) {
        refused++;
        continue;
      }
      accepted++;
      const d = new D(m.toFixed());
      expect(m.toUnscaled()).toBe(BigInt(d.times(new D(10).pow(9)).toFixed(0)));
      expect(m.sign()).toBe(d.isZero() ? 0 : d.isNegative() ? -1 : 1);
      expect(m.decimalPlaces()).toBe(d.decimalPlaces());
      expect(m.toString()).toBe(`${d.toFixed()} ${currency}`);
      expect(JSON.stringify(m)).toBe(JSON.stringify({ amount: d, currency }));
      expect(m.amount.equals(d)).toBe(true);
      expect(m.negated().toFixed()).toBe(d.isZero() ? '0.000000000' : d.negated().toFixed(9));
      expect(Money.fromUnscaled(m.toUnscaled(), currency).toFixed()).toBe(m.toFixed());
      if (prev && prev.currency === currency) expect(m.plus(prev).toFixed()).toBe(d.plus(prev.amount).toFixed(9));
      prev = m;
      if (i % 7 === 0) prev = m.negated();
    }
    // the generator reaches both sides of every edge
    expect(accepted).toBeGreaterThan(7_000);
    expect(refused).toBeGreaterThan(1_500);
  });

  it('on the edges written out', () => {
    for (const [text, unit, currency] of [
      ['99999999999999999999999999999.999999999', 'major', 'USD'],
      ['100000000000000000000000000000', 'major', 'USD'],
      ['-99999999999999999999999999999.9999999990000', 'major', 'USD'],
      ['0.0000000001', 'major', 'USD'],
      ['0.0000000010', 'major', 'USD'],
      ['-0', 'major', 'USD'],
      ['-.0', 'major', 'USD'],
      ['5.', 'major', 'USD'],
      ['+.5', 'major', 'USD'],
      ['000', 'minor', 'USD'],
      ['-000', 'minor', 'JPY'],
      ['-5', 'minor', 'KWD'],
      ['1', 'minor', 'CLF'],
      ['9999999999999999999999999999999', 'minor', 'USD'],
      ['99999999999999999999999999999999', 'minor', 'USD'],
      ['99999999999999999999999999999', 'minor', 'JPY'],
      ['999999999999999999999999999990', 'minor', 'JPY'],
    ] as const) {
      expect(actual(text, unit, currency, false).outcome, `${unit} ${text} ${currency}`).toEqual(reference(text, unit, currency, false));
    }
  });
});
