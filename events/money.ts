/**
 * Exact money. Amounts are decimal.js values with an ISO 4217 currency; no `number` ever holds money.
 * The public constructors accept only strings, bigints and lossless-json numbers, never a JS number,
 * so a float cannot sneak in through the types.
 *
 * On disk money is DECIMAL(AMOUNT_PRECISION, AMOUNT_SCALE). A value that needs more scale or more digits
 * is a RecordError (AMOUNT_OUT_OF_RANGE), never rounded.
 */
import { Decimal as DecimalJs } from 'decimal.js';
import { isLosslessNumber, type LosslessNumber } from 'lossless-json';
import { RecordError, type SourceLocation } from './errors.js';

/** A private decimal.js constructor with enough precision that no arithmetic here ever rounds. */
export const Decimal = DecimalJs.clone({ precision: 80, rounding: DecimalJs.ROUND_DOWN, toExpNeg: -40, toExpPos: 60 });
export type Decimal = DecimalJs;

export const AMOUNT_PRECISION = 38;
export const AMOUNT_SCALE = 9;
const MAX_UNSCALED = 10n ** BigInt(AMOUNT_PRECISION) - 1n;

/** Minor-unit exponents that differ from 2 (ISO 4217). */
const EXPONENT_EXCEPTIONS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** ISO 4217 codes accepted as currencies (active codes; extend here when a source needs another). */
const KNOWN_CURRENCIES = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF ' +
    'CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD ' +
    'HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL ' +
    'LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR ' +
    'PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND ' +
    'TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL'
  ).split(' '),
);

/** Normalises a currency code (`usd` → `USD`) or throws UNKNOWN_CURRENCY. */
export function normaliseCurrency(raw: unknown, location?: SourceLocation): string {
  const code = typeof raw === 'string' ? raw.trim().toUpperCase() : '';
  if (!KNOWN_CURRENCIES.has(code)) {
    throw new RecordError('UNKNOWN_CURRENCY', `unknown currency ${JSON.stringify(raw)}: expected an ISO 4217 code such as USD`, raw, location);
  }
  return code;
}

/** Minor-unit exponent of a currency code (any case: Stripe writes `jpy`). */
export function currencyExponent(currency: string): number {
  return EXPONENT_EXCEPTIONS[currency.trim().toUpperCase()] ?? 2;
}

/** What a source may hand us as an amount. Deliberately no `number`. */
export type RawAmount = string | bigint | LosslessNumber;

const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_RE = /^[+-]?\d+$/;

function rawText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'bigint') return raw.toString();
  if (isLosslessNumber(raw)) return raw.value;
  return undefined;
}

/** Keeps error messages readable when a source sends a 400-digit amount. */
function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 28)}…${text.slice(-28)} (${text.length} characters)` : text;
}

/** An exact amount in a currency. Immutable. */
export class Money {
  private constructor(readonly amount: Decimal, readonly currency: string) {
    Object.freeze(this);
  }

  /**
   * Major units as written by the source: `70.36`, `20.830000000`, `99.0`. Exponent notation (`1.23457E+11`, the
   * display value of a spreadsheet that rounded the amount) is refused unless the source declares it
   * (`exponent: true` on the money field): an exponent usually means the exact digits are already lost.
   */
  static major(raw: RawAmount, currency: string, location?: SourceLocation, o: { exponent?: boolean } = {}): Money {
    const text = rawText(raw);
    if (text === undefined || text === '' || !DECIMAL_RE.test(text)) {
      throw new RecordError('BAD_AMOUNT', `amount ${JSON.stringify(text ?? (typeof raw === 'bigint' ? raw.toString() : raw))} is not a decimal number`, text ?? raw, location);
    }
    if (!o.exponent && /[eE]/.test(text)) {
      throw new RecordError('BAD_AMOUNT', `amount ${shorten(text)} is in exponent notation, which is not an exact amount (a spreadsheet may have rounded it); export plain decimals, or declare exponent: true on the money field if the source really writes exponents`, text, location);
    }
    const amount = new Decimal(text);
    // decimal.js flushes exponents below its minimum (1e-9000000000000000) to zero: refuse instead of losing it
    if (amount.isZero() && /[1-9]/.test(text.replace(/[eE].*$/, ''))) {
      throw new RecordError('AMOUNT_OUT_OF_RANGE', `amount ${shorten(text)} is too small to store in DECIMAL(${AMOUNT_PRECISION},${AMOUNT_SCALE}); refusing to round it to zero`, raw, location);
    }
    return Money.checked(amount, currency, raw, location);
  }

  /** Integer minor units (Stripe/Chargebee cents) scaled by the currency's exponent (JPY 0, KWD 3). */
  static minor(raw: RawAmount, currency: string, location?: SourceLocation): Money {
    const text = rawText(raw);
    if (text === undefined || !INTEGER_RE.test(text)) {
      throw new RecordError('BAD_AMOUNT', `minor-unit amount ${JSON.stringify(text ?? (typeof raw === 'bigint' ? raw.toString() : raw))} is not an integer`, text ?? raw, location);
    }
    const amount = new Decimal(text).div(new Decimal(10).pow(currencyExponent(currency)));
    return Money.checked(amount, currency, raw, location);
  }

  /** From the unscaled DECIMAL(38,9) integer stored on disk. */
  static fromUnscaled(unscaled: bigint, currency: string): Money {
    return new Money(new Decimal(unscaled.toString()).div(new Decimal(10).pow(AMOUNT_SCALE)), currency);
  }

  static zero(currency: string): Money {
    return new Money(new Decimal(0), currency);
  }

  private static checked(amount: Decimal, currency: string, raw: unknown, location?: SourceLocation): Money {
    if (!amount.isFinite()) throw new RecordError('BAD_AMOUNT', `amount ${String(raw)} is not finite`, raw, location);
    if (amount.decimalPlaces() > AMOUNT_SCALE || amount.abs().times(new Decimal(10).pow(AMOUNT_SCALE)).greaterThan(new Decimal(MAX_UNSCALED.toString()))) {
      throw new RecordError(
        'AMOUNT_OUT_OF_RANGE',
        `amount ${shorten(rawText(raw) ?? amount.toFixed())} does not fit DECIMAL(${AMOUNT_PRECISION},${AMOUNT_SCALE}) exactly; refusing to round`,
        typeof raw === 'bigint' ? raw.toString() : raw,
        location,
      );
    }
    // normalise negative zero
    return new Money(amount.isZero() ? new Decimal(0) : amount, currency);
  }

  negated(): Money {
    return this.amount.isZero() ? this : new Money(this.amount.negated(), this.currency);
  }

  plus(other: Money): Money {
    if (other.currency !== this.currency) throw new Error(`cannot add ${other.currency} to ${this.currency}`);
    return new Money(this.amount.plus(other.amount), this.currency);
  }

  /** The DECIMAL(38,9) unscaled integer (exact: construction guarantees scale <= 9). */
  toUnscaled(): bigint {
    return BigInt(this.amount.times(new Decimal(10).pow(AMOUNT_SCALE)).toFixed(0));
  }

  /** Plain decimal text with exactly AMOUNT_SCALE places, as DuckDB prints DECIMAL(38,9). */
  toFixed(): string {
    return this.amount.toFixed(AMOUNT_SCALE);
  }

  toString(): string {
    return `${this.amount.toFixed()} ${this.currency}`;
  }
}

/** Sum of exact decimal strings (for control totals); returns DECIMAL(38,9) text. */
export function sumDecimalStrings(values: Iterable<string>): string {
  let acc = new Decimal(0);
  for (const v of values) acc = acc.plus(new Decimal(v));
  return acc.toFixed(AMOUNT_SCALE);
}

/** Formats an unscaled DECIMAL(38,9) bigint as fixed-point text without going through floats. */
export function unscaledToText(unscaled: bigint, scale = AMOUNT_SCALE): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${neg ? '-' : ''}${int}${scale > 0 ? '.' + frac : ''}`;
}
