/**
 * Exact money. Amounts are exact decimal texts (DECIMAL(38,9), decimal.js values on demand) with an ISO 4217
 * currency; no `number` ever holds money.
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

/** The normalised code when `raw` is a known currency (normaliseCurrency without building its error), else null. */
export function knownCurrency(raw: unknown): string | null {
  const code = typeof raw === 'string' ? raw.trim().toUpperCase() : '';
  return KNOWN_CURRENCIES.has(code) ? code : null;
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

/**
 * A plain decimal text (`70.36`, `-.5`, `20.830000000`; trimmed, no exponent) as the canonical DECIMAL(38,9) text,
 * by string arithmetic: `-?<digits>.<9 digits>`, no leading zeros, no negative zero. 'range' when it has more
 * than 9 decimal places (trailing zeros do not count) or more than 29 integer digits (|unscaled| > 10^38 - 1);
 * null when it is not a plain decimal. Exactly what `new Decimal(text)` + `checked` + `toFixed(9)` gives (the
 * property test in test/events/money.test.ts compares the two on random texts).
 */
function plainFixed(text: string): string | 'range' | null {
  const m = PLAIN_RE.exec(text);
  if (!m) return null;
  const neg = m[1] === '-';
  let int = m[2]!;
  let frac = m[3] ?? '';
  if (int === '' && frac === '') return null;
  let k = frac.length;
  while (k > 0 && frac.charCodeAt(k - 1) === 48) k--;
  if (k > AMOUNT_SCALE) return 'range';
  frac = frac.slice(0, k);
  let z = 0;
  while (z < int.length - 1 && int.charCodeAt(z) === 48) z++;
  int = int.slice(z);
  if (int === '') int = '0';
  if (int.length > AMOUNT_PRECISION - AMOUNT_SCALE) return 'range';
  if (int === '0' && frac === '') return ZERO_FIXED;
  return `${neg ? '-' : ''}${int}.${frac}${ZEROS.slice(frac.length)}`;
}

/** An integer text (`-1234`, trimmed) divided by 10^exponent (0..9) as canonical DECIMAL(38,9) text; 'range' past 38 digits. */
function minorFixed(text: string, exponent: number): string | 'range' {
  const c = text.charCodeAt(0);
  const neg = c === 45;
  let digits = c === 45 || c === 43 ? text.slice(1) : text;
  let z = 0;
  while (z < digits.length - 1 && digits.charCodeAt(z) === 48) z++;
  digits = digits.slice(z);
  if (digits === '0') return ZERO_FIXED;
  const cut = digits.length - exponent;
  const int = cut > 0 ? digits.slice(0, cut) : '0';
  if (int.length > AMOUNT_PRECISION - AMOUNT_SCALE) return 'range';
  const frac = cut >= 0 ? digits.slice(cut) : ZEROS.slice(0, -cut) + digits;
  return `${neg ? '-' : ''}${int}.${frac}${ZEROS.slice(frac.length)}`;
}

const PLAIN_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const ZEROS = '0'.repeat(AMOUNT_SCALE);
const ZERO_FIXED = `0.${ZEROS}`;
const TEN_POW_SCALE = 10n ** BigInt(AMOUNT_SCALE);

/** An exact amount in a currency. Immutable. */
export class Money {
  /**
   * The canonical DECIMAL(38,9) text, `-?<digits>.<9 digits>` with no leading zeros and no negative zero (what
   * toFixed() returns): the one representation. A decimal.js value is only built when a caller asks for `amount`.
   */
  readonly fixed: string;
  #decimal: Decimal | undefined;

  private constructor(fixed: string, readonly currency: string) {
    this.fixed = fixed;
    Object.freeze(this);
  }

  /** The amount as a decimal.js value (built on first use; the ingest path never needs one). */
  get amount(): Decimal {
    return (this.#decimal ??= new Decimal(this.fixed));
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
    const plain = plainFixed(text);
    if (plain !== null) return plain === 'range' ? outOfRange(text, raw, location) : new Money(plain, currency);
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
    const fixed = minorFixed(text, currencyExponent(currency));
    return fixed === 'range' ? outOfRange(text, raw, location) : new Money(fixed, currency);
  }

  /** From the unscaled DECIMAL(38,9) integer stored on disk. */
  static fromUnscaled(unscaled: bigint, currency: string): Money {
    return new Money(unscaledToText(unscaled), currency);
  }

  static zero(currency: string): Money {
    return new Money(ZERO_FIXED, currency);
  }

  /** A decimal.js value (exponent notation, from `major`) checked against DECIMAL(38,9). */
  private static checked(amount: Decimal, currency: string, raw: unknown, location?: SourceLocation): Money {
    if (!amount.isFinite()) throw new RecordError('BAD_AMOUNT', `amount ${String(raw)} is not finite`, raw, location);
    if (amount.decimalPlaces() > AMOUNT_SCALE || amount.abs().times(new Decimal(10).pow(AMOUNT_SCALE)).greaterThan(new Decimal(MAX_UNSCALED.toString()))) {
      return outOfRange(rawText(raw) ?? amount.toFixed(), raw, location);
    }
    // normalise negative zero
    return new Money(amount.isZero() ? ZERO_FIXED : amount.toFixed(AMOUNT_SCALE), currency);
  }

  /** -1, 0 or 1. */
  sign(): -1 | 0 | 1 {
    return this.fixed.charCodeAt(0) === 45 ? -1 : this.fixed === ZERO_FIXED ? 0 : 1;
  }

  isZero(): boolean {
    return this.fixed === ZERO_FIXED;
  }

  /** Decimal places without trailing zeros (`70.360000000` → 2), as decimal.js `decimalPlaces()` counts them. */
  decimalPlaces(): number {
    let k = this.fixed.length;
    while (this.fixed.charCodeAt(k - 1) === 48) k--;
    return k - (this.fixed.length - AMOUNT_SCALE);
  }

  negated(): Money {
    if (this.isZero()) return this;
    return new Money(this.fixed.charCodeAt(0) === 45 ? this.fixed.slice(1) : `-${this.fixed}`, this.currency);
  }

  plus(other: Money): Money {
    if (other.currency !== this.currency) throw new Error(`cannot add ${other.currency} to ${this.currency}`);
    return new Money(unscaledToText(this.toUnscaled() + other.toUnscaled()), this.currency);
  }

  /** The DECIMAL(38,9) unscaled integer (exact: construction guarantees scale <= 9). */
  toUnscaled(): bigint {
    const dot = this.fixed.length - AMOUNT_SCALE - 1;
    return BigInt(this.fixed.slice(0, dot)) * TEN_POW_SCALE + (this.fixed.charCodeAt(0) === 45 ? -1n : 1n) * BigInt(this.fixed.slice(dot + 1));
  }

  /** Plain decimal text with exactly AMOUNT_SCALE places, as DuckDB prints DECIMAL(38,9). */
  toFixed(): string {
    return this.fixed;
  }

  /** The shortest exact text (`70.36`, `-0.3`, `0`), as decimal.js `toFixed()` writes it. */
  private shortText(): string {
    let k = this.fixed.length;
    while (this.fixed.charCodeAt(k - 1) === 48) k--;
    return this.fixed.slice(0, this.fixed.charCodeAt(k - 1) === 46 ? k - 1 : k);
  }

  toString(): string {
    return `${this.shortText()} ${this.currency}`;
  }

  /** As JSON.stringify wrote Money when it held a decimal.js value: `{"amount":"70.36","currency":"USD"}`. */
  toJSON(): { amount: string; currency: string } {
    return { amount: this.shortText(), currency: this.currency };
  }
}

/** The AMOUNT_OUT_OF_RANGE refusal of a value that does not fit DECIMAL(38,9) exactly. */
function outOfRange(text: string, raw: unknown, location?: SourceLocation): never {
  throw new RecordError(
    'AMOUNT_OUT_OF_RANGE',
    `amount ${shorten(text)} does not fit DECIMAL(${AMOUNT_PRECISION},${AMOUNT_SCALE}) exactly; refusing to round`,
    typeof raw === 'bigint' ? raw.toString() : raw,
    location,
  );
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
