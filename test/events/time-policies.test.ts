import { describe, expect, it } from 'vitest';
import { parseTimestamp, type ParsedTimestamp } from '../../events/time.js';

const LA = 'America/Los_Angeles';
const NY = 'America/New_York';
const LON = 'Europe/London';
const KOL = 'Asia/Kolkata';
const LHI = 'Australia/Lord_Howe';

function p(raw: unknown, zone = 'UTC'): ParsedTimestamp {
  return parseTimestamp(raw, zone);
}

/** The flags that matter, for compact expectations. */
function flags(t: ParsedTimestamp) {
  return { utc: t.utc, local: t.sourceLocalDate, precision: t.precision, midnight: t.truncatedToMidnight, ambiguous: t.ambiguous, nonexistent: t.nonexistent };
}

describe('rule 1: an explicit offset, Z or abbreviation wins over the source zone', () => {
  it('uses the written offset even when it disagrees with the zone on that date', () => {
    // Los Angeles is -07:00 in July; the value says -05:00 and that wins.
    expect(p('2017-07-15T09:15:00-05:00', LA).utc).toBe('2017-07-15T14:15:00.000000Z');
    expect(p('2017-07-15T09:15:00Z', KOL).utc).toBe('2017-07-15T09:15:00.000000Z');
    expect(p('2017-07-15t09:15:00z', KOL).utc).toBe('2017-07-15T09:15:00.000000Z');
  });
  it('accepts ±HH:MM, ±HHMM, ±HH and a space before the offset', () => {
    expect(p('2017-07-15T09:15:00+0530', LA).utc).toBe('2017-07-15T03:45:00.000000Z');
    expect(p('2017-07-15T09:15:00+05', LA).utc).toBe('2017-07-15T04:15:00.000000Z');
    expect(p('2017-07-15 09:15:00 +00:00', LA).utc).toBe('2017-07-15T09:15:00.000000Z');
    expect(p('2017-07-15T09:15:00+18:00', LA).utc).toBe('2017-07-14T15:15:00.000000Z');
    expect(p('2017-07-15T09:15:00-18:00', LA).utc).toBe('2017-07-16T03:15:00.000000Z');
  });
  it('an explicit offset is never ambiguous or nonexistent, even inside a DST gap or overlap of the source zone', () => {
    const gap = p('2017-03-12T02:30:00-08:00', LA);
    expect(gap.utc).toBe('2017-03-12T10:30:00.000000Z');
    expect(gap.nonexistent).toBe(false);
    const overlap = p('2017-11-05T01:30:00-08:00', LA);
    expect(overlap.utc).toBe('2017-11-05T09:30:00.000000Z');
    expect(overlap.ambiguous).toBe(false);
  });
  it('keeps the date as written in its own offset as source_local_date', () => {
    const t = p('2017-12-31T23:30:00-08:00', KOL);
    expect(t.utc).toBe('2018-01-01T07:30:00.000000Z');
    expect(t.sourceLocalDate).toBe('2017-12-31');
    expect(t.utcDate).toBe('2018-01-01');
  });
});

describe('rule 2 and 9: naive, date-only and US-style values are wall-clock time in the source zone', () => {
  it('reads naive datetimes in the source zone', () => {
    expect(p('2017-07-15 09:15:00', LA).utc).toBe('2017-07-15T16:15:00.000000Z');
    expect(p('2017-01-15 09:15:00', LA).utc).toBe('2017-01-15T17:15:00.000000Z');
    expect(p('2017-07-15T09:15', NY).utc).toBe('2017-07-15T13:15:00.000000Z');
    expect(p('2017-07-15 09:15', LON).utc).toBe('2017-07-15T08:15:00.000000Z');
    expect(p('2017-01-15 09:15', LON).utc).toBe('2017-01-15T09:15:00.000000Z');
    expect(p('2017-07-15 09:15', KOL).utc).toBe('2017-07-15T03:45:00.000000Z');
  });
  it('reads US dates month first, 24 h and 12 h', () => {
    expect(p('07/15/2017', NY).utc).toBe('2017-07-15T04:00:00.000000Z');
    expect(p('7/5/2017', NY).sourceLocalDate).toBe('2017-07-05');
    expect(p('12/01/2017', NY).sourceLocalDate).toBe('2017-12-01'); // December 1st, never 12 January
    expect(p('7/15/2017 14:05', NY).utc).toBe('2017-07-15T18:05:00.000000Z');
    expect(p('7/15/2017 2:05 PM', NY).utc).toBe('2017-07-15T18:05:00.000000Z');
    expect(p('7/15/2017 2:05:09pm', NY).utc).toBe('2017-07-15T18:05:09.000000Z');
    expect(p('7/15/2017 11:59 AM', NY).utc).toBe('2017-07-15T15:59:00.000000Z');
  });
  it('reads 12:xx AM as 00:xx and 12:xx PM as noon', () => {
    const am = p('1/1/2018 12:30 AM', NY);
    expect(am.utc).toBe('2018-01-01T05:30:00.000000Z');
    expect(am.sourceLocalDate).toBe('2018-01-01');
    expect(p('1/1/2018 12:30 PM', NY).utc).toBe('2018-01-01T17:30:00.000000Z');
    expect(p('1/1/2018 12:00:00 AM', NY).truncatedToMidnight).toBe(true);
  });
});

describe('rule 3: ambiguous fall-back wall times take the earlier (daylight) instant', () => {
  const cases: Array<[string, string, string]> = [
    [LA, '2017-11-05 01:30', '2017-11-05T08:30:00.000000Z'],
    [LA, '2017-11-05 01:00:00', '2017-11-05T08:00:00.000000Z'],
    [LA, '2017-11-05 01:59:59.999999', '2017-11-05T08:59:59.999999Z'],
    [NY, '2017-11-05 01:30', '2017-11-05T05:30:00.000000Z'],
    [LON, '2017-10-29 01:30', '2017-10-29T00:30:00.000000Z'],
    [LHI, '2017-04-02 01:45', '2017-04-01T14:45:00.000000Z'], // +11:00 → +10:30 at 02:00: half-hour overlap
    [LHI, '2017-04-02 01:30', '2017-04-01T14:30:00.000000Z'],
    [NY, '11/5/2017 1:15 AM', '2017-11-05T05:15:00.000000Z'],
  ];
  it.each(cases)('%s %s', (zone, raw, utc) => {
    const t = p(raw, zone);
    expect(t.utc).toBe(utc);
    expect(t.ambiguous).toBe(true);
    expect(t.nonexistent).toBe(false);
  });
  it('the minute before and the first minute after the overlap are not ambiguous', () => {
    expect(p('2017-11-05 00:59:59', LA)).toMatchObject({ ambiguous: false, utc: '2017-11-05T07:59:59.000000Z' });
    expect(p('2017-11-05 02:00', LA)).toMatchObject({ ambiguous: false, utc: '2017-11-05T10:00:00.000000Z' });
    expect(p('2017-04-02 01:29:59', LHI)).toMatchObject({ ambiguous: false, utc: '2017-04-01T14:29:59.000000Z' });
    expect(p('2017-04-02 02:00', LHI)).toMatchObject({ ambiguous: false, utc: '2017-04-01T15:30:00.000000Z' });
  });
});

describe('rule 4: nonexistent spring-forward wall times shift forward by the gap', () => {
  const cases: Array<[string, string, string]> = [
    [LA, '2017-03-12 02:30', '2017-03-12T10:30:00.000000Z'], // the example
    [LA, '2017-03-12 02:00:00', '2017-03-12T10:00:00.000000Z'],
    [LA, '2017-03-12 02:59:59.5', '2017-03-12T10:59:59.500000Z'],
    [NY, '2017-03-12 02:30', '2017-03-12T07:30:00.000000Z'],
    [LON, '2017-03-26 01:30', '2017-03-26T01:30:00.000000Z'],
    [LHI, '2017-10-01 02:10', '2017-09-30T15:40:00.000000Z'], // +10:30 → +11:00: half-hour gap 02:00-02:30
    [LHI, '2017-10-01 02:29', '2017-09-30T15:59:00.000000Z'],
  ];
  it.each(cases)('%s %s', (zone, raw, utc) => {
    const t = p(raw, zone);
    expect(t.utc).toBe(utc);
    expect(t.nonexistent).toBe(true);
    expect(t.ambiguous).toBe(false);
  });
  it('the wall times around the gap exist', () => {
    expect(p('2017-03-12 01:59:59', LA)).toMatchObject({ nonexistent: false, utc: '2017-03-12T09:59:59.000000Z' });
    expect(p('2017-03-12 03:00', LA)).toMatchObject({ nonexistent: false, utc: '2017-03-12T10:00:00.000000Z' });
    expect(p('2017-10-01 01:59', LHI)).toMatchObject({ nonexistent: false, utc: '2017-09-30T15:29:00.000000Z' });
    expect(p('2017-10-01 02:30', LHI)).toMatchObject({ nonexistent: false, utc: '2017-09-30T15:30:00.000000Z' });
  });
  it('Asia/Kolkata has no DST: nothing is ambiguous or nonexistent all year', () => {
    for (const raw of ['2017-03-12 02:30', '2017-11-05 01:30', '2017-03-26 01:30', '2017-10-29 01:30']) {
      expect(p(raw, KOL)).toMatchObject({ ambiguous: false, nonexistent: false });
    }
  });
});

describe('rule 5: date-only means local midnight in the source zone', () => {
  it('Asia/Kolkata 2017-01-01 is 2016-12-31T18:30Z and keeps its own local date', () => {
    expect(flags(p('2017-01-01', KOL))).toEqual({
      utc: '2016-12-31T18:30:00.000000Z', local: '2017-01-01', precision: 'day', midnight: true, ambiguous: false, nonexistent: false,
    });
    expect(p('2017-01-01', KOL).utcDate).toBe('2016-12-31');
  });
  it('is local midnight in other zones too', () => {
    expect(p('2017-07-15', LA).utc).toBe('2017-07-15T07:00:00.000000Z');
    expect(p('2017-01-15', LA).utc).toBe('2017-01-15T08:00:00.000000Z');
    expect(p('2017-07-15', LON).utc).toBe('2017-07-14T23:00:00.000000Z');
    expect(p('2017-07-15', LHI).utc).toBe('2017-07-14T13:30:00.000000Z');
    expect(p('2017-12-15', LHI).utc).toBe('2017-12-14T13:00:00.000000Z');
  });
  it('when local midnight does not exist, rule 4 applies', () => {
    // America/Sao_Paulo sprang forward at midnight: 2018-11-04 00:00 did not exist.
    expect(flags(p('2018-11-04', 'America/Sao_Paulo'))).toEqual({
      utc: '2018-11-04T03:00:00.000000Z', local: '2018-11-04', precision: 'day', midnight: true, ambiguous: false, nonexistent: true,
    });
  });
});

describe('rule 6: fractions are truncated, never rounded; comma, T, t and space separate', () => {
  it('does not carry .999999999 into the next second, day or year', () => {
    const t = p('2017-12-31T23:59:59.999999999Z', KOL);
    expect(t.utc).toBe('2017-12-31T23:59:59.999999Z');
    expect(t.utcMicros).toBe(1514764799999999n);
    expect(t.precision).toBe('microsecond');
    expect(p('2016-12-31 23:59:59.9999999', 'UTC').utc).toBe('2016-12-31T23:59:59.999999Z');
  });
  it('accepts a comma decimal separator and every date/time separator', () => {
    expect(p('2017-07-15 09:15:00,25', 'UTC').utc).toBe('2017-07-15T09:15:00.250000Z');
    expect(p('2017-07-15T09:15:00', 'UTC').utc).toBe('2017-07-15T09:15:00.000000Z');
    expect(p('2017-07-15t09:15:00', 'UTC').utc).toBe('2017-07-15T09:15:00.000000Z');
    expect(p('2017-07-15 09:15:00', 'UTC').utc).toBe('2017-07-15T09:15:00.000000Z');
  });
  it('reports precision from the digits written', () => {
    expect(p('2017-07-15', 'UTC').precision).toBe('day');
    expect(p('2017-07-15 09:15', 'UTC').precision).toBe('minute');
    expect(p('2017-07-15 09:15:01', 'UTC').precision).toBe('second');
    expect(p('2017-07-15 09:15:01.1', 'UTC').precision).toBe('millisecond');
    expect(p('2017-07-15 09:15:01.123', 'UTC').precision).toBe('millisecond');
    expect(p('2017-07-15 09:15:01.1234', 'UTC').precision).toBe('microsecond');
    expect(p('2017-07-15 09:15:01.000000', 'UTC').precision).toBe('microsecond');
    expect(p('2017-07-15 09:15:01.1', 'UTC').utcMicros % 1_000_000n).toBe(100000n);
  });
});

describe('truncated_to_midnight', () => {
  it('is true for date-only and for wall times of exactly 00:00:00 with an all-zero fraction', () => {
    expect(p('2017-07-15', LA).truncatedToMidnight).toBe(true);
    expect(p('2015-01-15 00:00:00.000000', LA).truncatedToMidnight).toBe(true); // Zuora subscription dates
    expect(p('2015-01-15 00:00', LA).truncatedToMidnight).toBe(true);
    expect(p('2015-01-15T00:00:00+05:30', LA).truncatedToMidnight).toBe(true); // its own offset's midnight
  });
  it('is false for any other wall time, including a non-zero digit beyond microseconds', () => {
    expect(p('2015-01-15 00:00:01', LA).truncatedToMidnight).toBe(false);
    expect(p('2015-01-15 00:00:00.0000001', LA).truncatedToMidnight).toBe(false);
    expect(p('2015-01-15T08:00:00Z', LA).truncatedToMidnight).toBe(false); // midnight in LA, but written as 08:00Z
  });
});

describe('rule 10: zone abbreviations are fixed offsets, honoured as written', () => {
  it.each([
    ['PST', '2017-07-15T17:15:00.000000Z'],
    ['PDT', '2017-07-15T16:15:00.000000Z'],
    ['EST', '2017-07-15T14:15:00.000000Z'],
    ['EDT', '2017-07-15T13:15:00.000000Z'],
    ['UTC', '2017-07-15T09:15:00.000000Z'],
    ['GMT', '2017-07-15T09:15:00.000000Z'],
    ['BST', '2017-07-15T08:15:00.000000Z'],
    ['pst', '2017-07-15T17:15:00.000000Z'],
  ])('%s', (abbr, utc) => {
    const t = p(`2017-07-15 09:15:00 ${abbr}`, KOL);
    expect(t.utc).toBe(utc);
    expect(t.sourceLocalDate).toBe('2017-07-15');
  });
  it('also right after the time and on US-style dates', () => {
    expect(p('2017-01-15 09:15PST', KOL).utc).toBe('2017-01-15T17:15:00.000000Z');
    expect(p('1/15/2017 9:15 AM EST', KOL).utc).toBe('2017-01-15T14:15:00.000000Z');
  });
});

describe('leap days and year boundaries', () => {
  it('accepts 29 February in leap years, including 2000', () => {
    expect(p('2016-02-29', 'UTC').utc).toBe('2016-02-29T00:00:00.000000Z');
    expect(p('2000-02-29 12:00', 'UTC').utc).toBe('2000-02-29T12:00:00.000000Z');
    expect(p('02/29/2024', 'UTC').sourceLocalDate).toBe('2024-02-29');
  });
  it('crosses days, months and years through the zone offset', () => {
    expect(p('2016-12-31 20:00', LA).utc).toBe('2017-01-01T04:00:00.000000Z');
    expect(p('2016-12-31 20:00', LA).utcDate).toBe('2017-01-01');
    expect(p('2017-01-01 03:00', KOL).utc).toBe('2016-12-31T21:30:00.000000Z');
    expect(p('2016-02-29 23:00', LA).utc).toBe('2016-03-01T07:00:00.000000Z');
    expect(p('2016-03-01 01:00', LHI).utc).toBe('2016-02-29T14:00:00.000000Z');
    expect(p('1999-12-31T23:59:59.999999-01:00', 'UTC').utc).toBe('2000-01-01T00:59:59.999999Z');
  });
  it('handles the supported extremes of years 0001 and 9999', () => {
    expect(p('0001-01-01T00:00:00Z', 'UTC').utc).toBe('0001-01-01T00:00:00.000000Z');
    expect(p('9999-12-31T23:59:59.999999Z', 'UTC').utc).toBe('9999-12-31T23:59:59.999999Z');
  });
});

describe('vendor shapes from the sample exports', () => {
  it('Zuora warehouse naive micros, in the tenant zone', () => {
    expect(flags(p('2016-01-15 22:30:00.000000', LA))).toEqual({
      utc: '2016-01-16T06:30:00.000000Z', local: '2016-01-15', precision: 'microsecond', midnight: false, ambiguous: false, nonexistent: false,
    });
  });
  it('Zuora API shapes', () => {
    expect(p('2018-05-24T13:55:42-07:00', 'UTC').utc).toBe('2018-05-24T20:55:42.000000Z');
    expect(p('2026-01-05T16:00:29Z', LA).utc).toBe('2026-01-05T16:00:29.000000Z');
    expect(p('2023-12-08 15:08:01', LA).utc).toBe('2023-12-08T23:08:01.000000Z');
  });
  it('Stripe warehouse shapes (naive UTC)', () => {
    expect(p('2023-04-26 23:59:59.000000 UTC', 'UTC')).toMatchObject({ utc: '2023-04-26T23:59:59.000000Z', precision: 'microsecond' });
    expect(p('2021-02-18 14:07:57', 'UTC').utc).toBe('2021-02-18T14:07:57.000000Z');
    expect(p('2021-02-18 14:07:03.000', 'UTC')).toMatchObject({ utc: '2021-02-18T14:07:03.000000Z', precision: 'millisecond' });
  });
  it('trims surrounding whitespace as CSV cells often carry it', () => {
    expect(p('  2021-02-18 14:07:57\t', 'UTC').utc).toBe('2021-02-18T14:07:57.000000Z');
  });
});
