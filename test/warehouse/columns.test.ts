import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildVector, type ColumnSpec } from '../../warehouse/columns.js';
import { writeSmallTable } from '../../warehouse/files.js';
import { csvField, csvLine } from '../../warehouse/export.js';
import { dayOfMicros, factRowFromEvent, microsToIso, unscaledOf } from '../../warehouse/schema.js';
import { diffTotals, TotalsAccumulator, textToUnscaled } from '../../warehouse/state.js';
import { Money } from '../../events/money.js';
import { sampleEvent, utcTs } from '../helpers/sample-events.js';
import { duckQuery } from './duck-read.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-col-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const specs: ColumnSpec[] = [
  { name: 's', kind: 'utf8', nullable: true },
  { name: 'b', kind: 'bool', nullable: true },
  { name: 'd', kind: 'decimal38_9', nullable: true },
  { name: 't', kind: 'timestamp_us_utc', nullable: true },
  { name: 'day', kind: 'date', nullable: true },
  { name: 'n', kind: 'int64', nullable: true },
];

describe('columns → Parquet → DuckDB', () => {
  it('round-trips text (unicode, empty vs null), booleans, extreme decimals, timestamps, dates and int64 exactly', async () => {
    const max = 10n ** 38n - 1n;
    const rows = [
      { s: 'héllo, "wörld"\n😀', b: true, d: max, t: -1n, day: '1969-12-31', n: 2n ** 63n - 1n },
      { s: '', b: false, d: -max, t: 1704254706123456n, day: '2024-01-03', n: -(2n ** 63n) },
      { s: null, b: null, d: null, t: null, day: null, n: null },
      { s: 'x', b: true, d: -1n, t: 0n, day: '2000-02-29', n: 0n },
    ];
    const file = path.join(dir, 'rt.parquet');
    await writeSmallTable(file, specs, rows, 2);
    const got = await duckQuery(`SELECT s, b, d::VARCHAR, epoch_us(t), day::VARCHAR, n FROM read_parquet('${file}')`);
    expect(got).toEqual([
      ['héllo, "wörld"\n😀', true, '99999999999999999999999999999.999999999', -1n, '1969-12-31', 2n ** 63n - 1n],
      ['', false, '-99999999999999999999999999999.999999999', 1704254706123456n, '2024-01-03', -(2n ** 63n)],
      [null, null, null, null, null, null],
      ['x', true, '-0.000000001', 0n, '2000-02-29', 0n],
    ]);
  });

  it('rejects values that do not fit, naming the column and row', () => {
    expect(() => buildVector({ name: 'amount', kind: 'decimal38_9', nullable: false }, [1n, 10n ** 38n])).toThrow(/column amount \(decimal38_9, not null\): row 1 has invalid value 100000000000000000000000000000000000000/);
    expect(() => buildVector({ name: 'seqn', kind: 'int64', nullable: false }, [2n ** 63n])).toThrow(/column seqn .*row 0/);
    expect(() => buildVector({ name: 'event_id', kind: 'utf8', nullable: false }, ['a', null])).toThrow(/column event_id \(utf8, not null\): row 1 has invalid value null/);
    expect(() => buildVector({ name: 'event_date', kind: 'date', nullable: false }, ['2024-13-01'])).toThrow(/column event_date .*"2024-13-01"/);
    // a day that does not exist (V8's Date.parse rolls 2024-02-30 over to 1 March): refused, not stored as 2024-03-01
    expect(() => buildVector({ name: 'event_date', kind: 'date', nullable: false }, ['2024-02-30'])).toThrow(/column event_date .*"2024-02-30"/);
  });
});

describe('pure helpers', () => {
  it('unscaledOf equals Money.toUnscaled', () => {
    for (const v of ['0', '-0.000000001', '12.5', '-99999999999999999999999999999.999999999', '1e3', '0.1']) {
      const m = Money.major(v, 'USD', undefined, { exponent: true });
      expect(unscaledOf(m)).toBe(m.toUnscaled());
    }
  });

  it('formats microsecond instants and days without floats, including before 1970', () => {
    expect(microsToIso(1704254706123456n)).toBe('2024-01-03T04:05:06.123456Z');
    expect(microsToIso(-1n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(dayOfMicros(-1n)).toBe('1969-12-31');
    expect(dayOfMicros(86_400_000_000n)).toBe('1970-01-02');
  });

  it('refuses an event whose event_date is not the UTC day of its event_ts', () => {
    const e = { ...sampleEvent(), eventDate: '2024-01-04' };
    expect(() => factRowFromEvent(e)).toThrow(/event_date 2024-01-04 is not the UTC day of event_ts \(2024-01-03T04:05:06.123456Z\)/);
    expect(utcTs('2024-01-03T00:00:00Z').utcMicros).toBe(1704240000000000n);
  });

  it('sums control totals exactly and reports the first difference', () => {
    const a = new TotalsAccumulator();
    a.add('stripe', 'INVOICE_PAID', 'USD', 1, textToUnscaled('0.100000000'));
    a.add('stripe', 'INVOICE_PAID', 'USD', 1, textToUnscaled('0.2'));
    expect(a.result()).toEqual([{ billing_source: 'stripe', event_type: 'INVOICE_PAID', currency: 'USD', rows: 2, amount_sum: '0.300000000' }]);
    expect(diffTotals(a.result(), [{ billing_source: 'stripe', event_type: 'INVOICE_PAID', currency: 'USD', rows: 2, amount_sum: '0.300000001' }])).toMatch(/stripe\/INVOICE_PAID\/USD: 2 rows, sum 0.300000000 vs 2 rows, sum 0.300000001/);
    expect(() => textToUnscaled('1.0000000001')).toThrow(/not a DECIMAL\(38,9\) value/);
  });

  it('quotes CSV fields per RFC 4180 and keeps null apart from empty text', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('""');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvLine(specs, { s: 'x', b: false, d: -5n, t: 0n, day: '2024-01-03', n: 7n })).toBe('x,false,-0.000000005,1970-01-01T00:00:00.000000Z,2024-01-03,7\n');
  });
});
