import { LosslessNumber, parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { RecordError } from '../../events/errors.js';
import { AMOUNT_SCALE, currencyExponent, Money, normaliseCurrency, sumDecimalStrings, unscaledToText } from '../../events/money.js';

const at = { file: 'stripe/2024-01-03/00/charges.jsonl', line: 12, field: 'amount' };

function rejects(fn: () => unknown): RecordError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecordError);
    return e as RecordError;
  }
  throw new Error('expected a RecordError');
}

describe('exact round trips', () => {
  it('keeps amounts beyond 2^53 minor units exactly (major → unscaled → text → major)', () => {
    const beyond = (2n ** 53n + 1n).toString(); // 9007199254740993: not representable as a double
    expect(Number(beyond).toString()).not.toBe(beyond); // the float path would have lost it
    const m = Money.minor(beyond, 'USD');
    expect(m.toFixed()).toBe('90071992547409.930000000');
    expect(m.toUnscaled()).toBe(90071992547409930000000n);
    const back = Money.fromUnscaled(m.toUnscaled(), 'USD');
    expect(back.toFixed()).toBe(m.toFixed());
    expect(unscaledToText(back.toUnscaled())).toBe('90071992547409.930000000');
    expect(Money.major(back.toFixed(), 'USD').toUnscaled()).toBe(m.toUnscaled());
  });

  it('keeps 9 decimals and the full 38 digits of DECIMAL(38,9)', () => {
    const max = '99999999999999999999999999999.999999999';
    const m = Money.major(max, 'USD');
    expect(m.toFixed()).toBe(max);
    expect(m.toUnscaled()).toBe(10n ** 38n - 1n);
    expect(Money.fromUnscaled(m.toUnscaled(), 'USD').toFixed()).toBe(max);
    expect(Money.major('-' + max, 'USD').toUnscaled()).toBe(-(10n ** 38n - 1n));
    expect(Money.major('0.000000001', 'USD').toUnscaled()).toBe(1n);
    expect(Money.major('-12345678901234567890.123456789', 'EUR').toFixed()).toBe('-12345678901234567890.123456789');
  });

  it('parses major-unit strings as written', () => {
    expect(Money.major('70.36', 'USD').toFixed()).toBe('70.360000000');
    expect(Money.major('20.830000000', 'USD').toFixed()).toBe('20.830000000');
    expect(Money.major('99.0', 'USD').toFixed()).toBe('99.000000000');
    expect(Money.major('-1e3', 'USD', undefined, { exponent: true }).toFixed()).toBe('-1000.000000000');
    expect(Money.major(' .5 ', 'USD').toFixed()).toBe('0.500000000');
    expect(Money.major('-0.00', 'USD').toFixed()).toBe('0.000000000'); // no negative zero
  });

  it('sums exactly where floats drift', () => {
    expect(sumDecimalStrings(['0.1', '0.2', '-0.3'])).toBe('0.000000000');
    const a = Money.major('0.1', 'USD').plus(Money.major('0.2', 'USD'));
    expect(a.toFixed()).toBe('0.300000000');
    expect(() => a.plus(Money.major('1', 'EUR'))).toThrow(/cannot add EUR to USD/);
  });
});

describe('JSON amounts are read losslessly', () => {
  it('keeps the source text of JSON numbers (lossless-json) where JSON.parse rounds', () => {
    const json = '{"amount": 20.830000000, "big": 12345678901234567.89, "cents": 9007199254740993}';
    expect(JSON.parse(json).big).toBe(12345678901234568); // what a float would have stored
    const rec = losslessParse(json) as Record<string, LosslessNumber>;
    expect(Money.major(rec.amount!, 'USD').toFixed()).toBe('20.830000000');
    expect(Money.major(rec.big!, 'USD').toFixed()).toBe('12345678901234567.890000000');
    expect(Money.minor(rec.cents!, 'USD').toUnscaled()).toBe(90071992547409930000000n);
  });

  it('accepts bigints for minor units and refuses JS numbers at run time too', () => {
    expect(Money.minor(123n, 'USD').toFixed()).toBe('1.230000000');
    expect(rejects(() => Money.major(70.36 as unknown as string, 'USD', at)).code).toBe('BAD_AMOUNT');
    expect(rejects(() => Money.minor(7036 as unknown as string, 'USD', at)).code).toBe('BAD_AMOUNT');
  });
});

describe('currency exponents', () => {
  it('scales minor units by ISO 4217 exponents', () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('BHD')).toBe(3);
    expect(Money.minor('570860', 'JPY').toFixed()).toBe('570860.000000000');
    expect(Money.minor('1234', 'KWD').toFixed()).toBe('1.234000000');
    expect(Money.minor('1234', 'BHD').toFixed()).toBe('1.234000000');
    expect(Money.minor('3293232', 'USD').toFixed()).toBe('32932.320000000');
    expect(Money.minor('-80000', 'EUR').toFixed()).toBe('-800.000000000');
  });

  it('uses the right exponent for lower-case codes as Stripe writes them', () => {
    expect(currencyExponent('jpy')).toBe(0);
    expect(Money.minor('570860', 'jpy').toFixed()).toBe('570860.000000000');
    expect(Money.minor('1234', 'kwd').toFixed()).toBe('1.234000000');
  });

  it('normalises currency codes and rejects unknown ones', () => {
    expect(normaliseCurrency(' usd ')).toBe('USD');
    const e = rejects(() => normaliseCurrency('ZZZ', at));
    expect(e.code).toBe('UNKNOWN_CURRENCY');
    expect(e.message).toContain('"ZZZ"');
    expect(e.message).toContain('stripe/2024-01-03/00/charges.jsonl:12 field "amount"');
  });
});

describe('values that DECIMAL(38,9) cannot hold exactly are rejected, never rounded', () => {
  it.each([
    ['1.0000000001', 'more than 9 decimals'],
    ['100000000000000000000000000000', '30 integer digits'],
    ['-100000000000000000000000000000', 'negative, 30 integer digits'],
    ['1e29', 'exponent form, too large'],
    ['1e-10', 'exponent form, too small'],
  ])('%s (%s)', (raw) => {
    const e = rejects(() => Money.major(raw, 'USD', at, { exponent: true }));
    expect(e.code).toBe('AMOUNT_OUT_OF_RANGE');
    expect(e.message).toContain(`amount ${raw}`);
    expect(e.message).toContain('refusing to round');
    expect(e.message).toContain('(at stripe/2024-01-03/00/charges.jsonl:12 field "amount")');
    expect(e.location).toEqual(at);
  });

  it('rejects minor units that overflow after scaling, and amounts that would underflow to zero', () => {
    expect(rejects(() => Money.minor('1' + '0'.repeat(40), 'USD', at)).code).toBe('AMOUNT_OUT_OF_RANGE');
    expect(rejects(() => Money.minor(10n ** 41n, 'JPY', at)).code).toBe('AMOUNT_OUT_OF_RANGE');
    const tiny = rejects(() => Money.major('1e-99999999999999999', 'USD', at, { exponent: true }));
    expect(tiny.code).toBe('AMOUNT_OUT_OF_RANGE');
    expect(tiny.message).toMatch(/too small .* refusing to round it to zero/);
  });

  it('keeps error messages short for absurdly long values', () => {
    const e = rejects(() => Money.major('9'.repeat(400), 'USD', at));
    expect(e.message.length).toBeLessThan(250);
    expect(e.message).toContain('(400 characters)');
  });

  it('rejects text that is not a decimal number as BAD_AMOUNT, naming it', () => {
    for (const raw of ['', 'abc', '1,000.00', '$5', '1.2.3', 'NaN', 'Infinity', '12 USD']) {
      const e = rejects(() => Money.major(raw, 'USD', at));
      expect(e.code).toBe('BAD_AMOUNT');
      expect(e.message).toContain(JSON.stringify(raw));
    }
    expect(rejects(() => Money.minor('12.5', 'USD', at)).message).toContain('"12.5" is not an integer');
    expect(rejects(() => Money.major('1e99999999999999999', 'USD', at)).code).toBe('BAD_AMOUNT');
  });

  it(`stores at most ${AMOUNT_SCALE} decimals but accepts trailing zeros beyond them`, () => {
    expect(Money.major('1.500000000000', 'USD').toFixed()).toBe('1.500000000');
  });
});

describe('exponent notation as money (issue 15 item 9)', () => {
  const where = { file: 'x/2024-01-03/00/invoice.csv', line: 7, field: 'amount' };
  it('refuses an Excel-rounded display value such as 1.23457E+11 unless the source declares exponents', () => {
    const e = rejects(() => Money.major('1.23457E+11', 'USD', where));
    expect(e.code).toBe('BAD_AMOUNT');
    expect(e.message).toMatch(/amount 1\.23457E\+11 is in exponent notation/);
    expect(rejects(() => Money.major(new LosslessNumber('1e5'), 'USD', where)).code).toBe('BAD_AMOUNT');
    expect(Money.major('1.5e3', 'USD', where, { exponent: true }).toFixed()).toBe('1500.000000000');
  });
  it('messages show the number as written, not lossless-json internals', () => {
    const e = rejects(() => Money.minor(new LosslessNumber('1e5'), 'USD', where));
    expect(e.message).toContain('minor-unit amount "1e5" is not an integer');
    expect(e.message).not.toContain('isLosslessNumber');
  });
});
