import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { RecordError } from '../../events/errors.js';
import { parseTimestamp } from '../../events/time.js';

function err(raw: unknown, zone = 'UTC'): RecordError {
  try {
    parseTimestamp(raw, zone);
  } catch (e) {
    expect(e).toBeInstanceOf(RecordError);
    return e as RecordError;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('rule 7: epoch seconds and milliseconds are absolute', () => {
  it('reads numbers and digit strings, seconds below 1e11, milliseconds above', () => {
    expect(parseTimestamp(1500000000, 'America/Los_Angeles')).toMatchObject({ utc: '2017-07-14T02:40:00.000000Z', precision: 'second' });
    expect(parseTimestamp('1500000000', 'Asia/Kolkata')).toMatchObject({ utc: '2017-07-14T02:40:00.000000Z', precision: 'second' });
    expect(parseTimestamp(1500000000123, 'UTC')).toMatchObject({ utc: '2017-07-14T02:40:00.123000Z', precision: 'millisecond' });
    expect(parseTimestamp('1500000000123', 'UTC').utcMicros).toBe(1500000000123000n);
    expect(parseTimestamp(new LosslessNumber('1500000000'), 'UTC').utc).toBe('2017-07-14T02:40:00.000000Z');
    expect(parseTimestamp(1500000000n, 'UTC').utc).toBe('2017-07-14T02:40:00.000000Z');
    expect(parseTimestamp(0, 'UTC').utc).toBe('1970-01-01T00:00:00.000000Z');
    expect(parseTimestamp(99999999999, 'UTC').utc).toBe('5138-11-16T09:46:39.000000Z');
    expect(parseTimestamp(100000000000, 'UTC').utc).toBe('1973-03-03T09:46:40.000000Z');
  });
  it('the source zone does not move the instant but gives the local date and midnight flag', () => {
    // 1483228800 = 2017-01-01T00:00:00Z
    const utc = parseTimestamp(1483228800, 'UTC');
    expect(utc).toMatchObject({ sourceLocalDate: '2017-01-01', truncatedToMidnight: true, ambiguous: false, nonexistent: false });
    const la = parseTimestamp(1483228800, 'America/Los_Angeles');
    expect(la).toMatchObject({ utc: '2017-01-01T00:00:00.000000Z', sourceLocalDate: '2016-12-31', truncatedToMidnight: false });
    // 2016-12-31T18:30:00Z is midnight in Kolkata
    expect(parseTimestamp(1483209000, 'Asia/Kolkata')).toMatchObject({ sourceLocalDate: '2017-01-01', truncatedToMidnight: true });
    expect(parseTimestamp(1483209000001, 'Asia/Kolkata')).toMatchObject({ truncatedToMidnight: false, precision: 'millisecond' });
  });
  it('can be forced to seconds or milliseconds', () => {
    expect(parseTimestamp(1500000000, 'UTC', { epoch: 'milliseconds' }).utc).toBe('1970-01-18T08:40:00.000000Z');
    expect(parseTimestamp('150000000000', 'UTC', { epoch: 'seconds' }).utc).toBe('6723-04-25T02:40:00.000000Z');
  });
  it('rejects out-of-range, negative, fractional and non-finite epochs', () => {
    expect(err(1e14).message).toMatch(/invalid timestamp 100000000000000: epoch number out of range/);
    expect(err('1500000000123456').message).toMatch(/"1500000000123456": epoch number out of range/);
    expect(err('123456789012345678901234567890').message).toMatch(/out of range/);
    expect(err(2 ** 60).message).toMatch(/out of range/);
    expect(err(-1).message).toMatch(/negative epoch/);
    expect(err('-1500000000').message).toMatch(/negative epoch/);
    expect(err(1500000000.5).message).toMatch(/whole seconds or milliseconds/);
    expect(err(new LosslessNumber('1500000000.0')).message).toMatch(/whole seconds or milliseconds/);
    expect(err(Number.NaN).message).toMatch(/not a finite number/);
    expect(err(Number.POSITIVE_INFINITY).message).toMatch(/not a finite number/);
    expect(() => parseTimestamp('300000000000', 'UTC', { epoch: 'seconds' })).toThrow(/after year 9999/);
  });
});

describe('rule 8: invalid values give a typed error naming the value', () => {
  const invalid: Array<[string, RegExp]> = [
    ['2017-02-30', /"2017-02-30": day 30 does not exist in February 2017/],
    ['2023-02-29', /"2023-02-29": day 29 does not exist in February 2023/],
    ['1900-02-29', /day 29 does not exist in February 1900/],
    ['2017-04-31 10:00', /day 31 does not exist in April 2017/],
    ['2017-13-01', /month 13 does not exist/],
    ['2017-00-10', /month 0 does not exist/],
    ['2017-07-15 24:00', /hour 24 is not accepted/],
    ['2017-07-15T24:00:00Z', /hour 24 is not accepted/],
    ['2017-07-15 25:00', /hour 25 does not exist/],
    ['2017-12-31 23:59:60', /leap seconds/],
    ['2016-12-31T23:59:60Z', /leap seconds/],
    ['2017-07-15 10:60', /minute 60 does not exist/],
    ['2017-07-15 10:00:61', /second 61 does not exist/],
    ['2017-07-15T10:00+18:01', /offset \+18:01 is beyond ±18:00/],
    ['2017-07-15T10:00-19:00', /beyond ±18:00/],
    ['2017-07-15T10:00+05:60', /offset minutes 60/],
    ['2017-07-15T10:00+5', /offset must be/],
    ['17-07-15', /two-digit years/],
    ['7/15/17', /two-digit years/],
    ['7/15/17 10:00', /two-digit years/],
    ['2017-07-15x', /unexpected "x"/],
    ['2017-07-15 10:00:00 junk', /unknown zone abbreviation "junk"/],
    ['2017-07-15 10:00:00Z trailing', /unexpected trailing text/],
    ['2017-07-15 10:00:00 CET', /unknown zone abbreviation "CET"/],
    ['2017-07-15 10:00 PM', /unknown zone abbreviation "PM"/], // AM/PM belongs to US-style dates only
    ['7/15/2017 13:00 PM', /not a 12-hour clock hour/],
    ['7/15/2017 0:30 AM', /not a 12-hour clock hour/],
    ['15/07/2017', /month 15 does not exist/], // never day-first
    ['2017-7-15', /two-digit month and day/],
    ['2017-07-15 9:15', /hour must have two digits/],
    ['2017-07-15 09', /expected ":" and minutes/],
    ['2017-07-15 09:15:00.', /expected digits after the decimal separator/],
    ['2017-07-15 T10:00', /expected a time after the date/],
    ['0000-01-01', /year 0000 does not exist/],
    ['9999-12-31T23:00:00-05:00', /outside the years 0001-9999/],
    ['July 15, 2017', /expected a date/],
    ['2017/07/15', /US-style dates are month first/],
    ['1.5e9', /unexpected ".5e9" at position 2 after the leading number/],
  ];
  it.each(invalid)('%j', (raw, message) => {
    const e = err(raw, 'America/Los_Angeles');
    expect(e.code).toBe('BAD_TIMESTAMP');
    expect(e.message).toMatch(message);
    expect(e.message).toContain(JSON.stringify(raw.trim()).slice(1, -1));
    expect(e.value).toBe(raw);
  });

  it.each(['N/A', 'n/a', 'null', 'NULL', '-', '#N/A', '0000-00-00', '0000-00-00 00:00:00', 'None', 'NaN'])('placeholder %j', (raw) => {
    expect(err(raw).message).toBe(`invalid timestamp ${JSON.stringify(raw)}: a placeholder, not a timestamp; fix the source or map the field to null`);
  });

  it('rejects empty, whitespace-only, missing and non-scalar values', () => {
    expect(err('').message).toBe('invalid timestamp "": empty value');
    expect(err('   ').message).toBe('invalid timestamp "   ": empty value');
    expect(err(null).message).toMatch(/missing \(null\) value/);
    expect(err(undefined).message).toMatch(/missing \(null\) value/);
    expect(err({ t: 1 }).message).toMatch(/expected a string or a number, got object/);
    expect(err([1]).message).toMatch(/got an array/);
    expect(err(true).message).toMatch(/got boolean/);
  });

  it('rejects an unknown or non-IANA source zone, naming it', () => {
    expect(err('2017-07-15', 'Mars/Olympus').message).toMatch(/unknown source time zone "Mars\/Olympus"/);
    expect(err('2017-07-15', '+05:00').message).toMatch(/unknown source time zone "\+05:00"/);
    expect(err('2017-07-15', '').message).toMatch(/unknown source time zone ""/);
  });

  it('keeps the location when a caller adds it', () => {
    const e = err('2017-02-30').at({ file: 'zuora/2017-02-28/00/invoice.csv', line: 7, field: 'posted_date' });
    expect(e.message).toBe(
      'invalid timestamp "2017-02-30": day 30 does not exist in February 2017 (it has 28 days) (at zuora/2017-02-28/00/invoice.csv:7 field "posted_date")',
    );
  });
});
