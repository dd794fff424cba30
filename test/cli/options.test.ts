/** jobs/cli/options.ts: the one place the commands read their options; the same mistake reads the same everywhere. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../events/errors.js';
import { day, dayPair, daysFrom, instant, parseAsOf, positiveInt, selectedDays, selectSources, sourceList, windowOption } from '../../jobs/cli/options.js';

describe('CLI options', () => {
  it('days: a calendar day, named by its flag (leap day yes, 30 February no)', () => {
    expect(day('--date', '2024-02-29')).toBe('2024-02-29');
    expect(() => day('--date', '2023-02-29')).toThrow(new ConfigError('--date "2023-02-29" is not a calendar day: expected YYYY-MM-DD, e.g. 2024-01-03'));
    expect(() => day('--from', '2024-1-3')).toThrow(/--from "2024-1-3" is not a calendar day/);
  });

  it('day ranges: --date or --from/--to (inclusive, across the year end), in order, not both', () => {
    expect(daysFrom({ from: '2023-12-30', to: '2024-01-01' }, () => [])).toEqual(['2023-12-30', '2023-12-31', '2024-01-01']);
    expect(daysFrom({ date: '2024-02-29' }, () => [])).toEqual(['2024-02-29']);
    expect(daysFrom({}, () => ['fallback'])).toEqual(['fallback']);
    expect(selectedDays({})).toBeUndefined();
    expect(selectedDays({ from: '2024-02-28', to: '2024-03-01' })).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(() => selectedDays({ date: '2024-01-01', from: '2024-01-01' })).toThrow(/either --date D or --from D --to D, not both/);
    expect(() => selectedDays({ from: '2024-01-01' })).toThrow(/--from and --to go together/);
    expect(() => dayPair({ from: '2024-01-05', to: '2024-01-01' })).toThrow(new ConfigError('--to 2024-01-01 is before --from 2024-01-05'));
  });

  it('counts: a whole number ≥ 1, with one message for every flag', () => {
    expect(positiveInt('--parallel', '4')).toBe(4);
    for (const [flag, v] of [['--attempts', '0'], ['--last', 'x'], ['--events-per-day', 'lots'], ['--parallel', '1.5'], ['--batch-days', '-1']] as const) {
      expect(() => positiveInt(flag, v)).toThrow(new ConfigError(`${flag} "${v}" must be a whole number ≥ 1`));
    }
  });

  it('windows and instants: zones required; a bare day is midnight (window) or the end of the day (instant)', () => {
    expect(windowOption('--window', '2024-01-03T22:00Z/2024-01-04T02:00Z')).toEqual({ startMs: Date.parse('2024-01-03T22:00:00Z'), endMs: Date.parse('2024-01-04T02:00:00Z') });
    expect(() => windowOption('--window', '2024-01-03T04:00/2024-01-03T08:00Z')).toThrow(/^--window: window bound "2024-01-03T04:00" is not an ISO 8601 UTC instant/);
    expect(parseAsOf('2024-02-29')).toBe(Date.parse('2024-02-29T23:59:59.999Z'));
    expect(parseAsOf('2024-12-31')).toBe(Date.parse('2025-01-01T00:00:00Z') - 1);
    expect(instant('--as-of', '2024-01-05T09:00:00+01:00')).toBe(Date.parse('2024-01-05T08:00:00Z'));
    expect(() => parseAsOf('2024-02-30')).toThrow(/--as-of "2024-02-30" is not a calendar day/);
    expect(() => parseAsOf('2024-01-05 10:00')).toThrow(/--as-of "2024-01-05 10:00" is not an ISO 8601 instant/);
  });

  it('source lists: split on commas, blanks dropped; unknown names refused with the configured ones', () => {
    expect(sourceList('--sources', ' stripe, ,zuora ')).toEqual(['stripe', 'zuora']);
    expect(selectSources(undefined, ['stripe'])).toBeUndefined();
    expect(selectSources('zuora,stripe', ['stripe', 'zuora', 'recurly'])).toEqual(['zuora', 'stripe']);
    expect(() => selectSources('paypal', ['stripe'])).toThrow(new ConfigError('--sources: unknown source(s) paypal', ['configured sources: stripe']));
    expect(() => selectSources(',', ['stripe'])).toThrow(/unknown source\(s\) \(none given\)/);
  });
});
