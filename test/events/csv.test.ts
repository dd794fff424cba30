/** The one CSV-field rule (events/csv.ts) and the writers that use it: null and '' stay apart, nothing a reader trims is lost. */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/sample-events.js';
import { csvField, csvRow, needsQuotes } from '../../events/csv.js';
import { csvField as exportField } from '../../warehouse/export.js';
import { accountsCsv } from '../../tools/oltp-write.js';
import { ACCOUNT_COLUMNS, type AccountRow } from '../../connectors/oltp/index.js';

describe('csvField', () => {
  it('decides quoting exactly as the rule regex does (seeded random texts, Unicode white space at the ends included)', () => {
    const rule = /^$|[",\r\n]|^\s|\s$/;
    const alphabet = ['a', 'Z', '0', '-', '.', ':', '_', ',', '"', '\r', '\n', ' ', '\t', '\v', '\f', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u200b', 'é', '€', '~', '\x7f', '\x00', '\u{1f600}'];
    const r = rng(7);
    let quoted = 0;
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      for (let n = Math.floor(r() * 6); n > 0; n--) s += alphabet[Math.floor(r() * alphabet.length)];
      expect(needsQuotes(s), JSON.stringify(s)).toBe(rule.test(s));
      if (rule.test(s)) quoted++;
    }
    expect(quoted).toBeGreaterThan(2_000);
    expect(quoted).toBeLessThan(18_000);
  });

  it('null is the empty field, the empty string is "", plain text as it is', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField('')).toBe('""');
    expect(csvField('abc')).toBe('abc');
    expect(csvField(12n)).toBe('12');
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(false)).toBe('false');
  });

  it('quotes commas, quotes, CR, LF and leading or trailing white space; doubles quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('l1\nl2')).toBe('"l1\nl2"');
    expect(csvField('l1\r\nl2')).toBe('"l1\r\nl2"');
    expect(csvField(' lead')).toBe('" lead"');
    expect(csvField('trail\t')).toBe('"trail\t"');
    expect(csvField('in side')).toBe('in side');
    expect(csvField('€ ünïcode')).toBe('€ ünïcode');
  });

  it('round-trips through an independent reader (csv-parse), keeping white space and the empty string', () => {
    const values = ['', ' x ', 'a,"b"', 'multi\nline', 'plain', '\ttab'];
    const [back] = parse(csvRow(values) + '\n', { relax_quotes: false }) as string[][];
    expect(back).toEqual(values);
  });

  it('is the rule of every writer: the export and the OLTP snapshot writer quote alike', () => {
    for (const v of ['', ' padded ', 'a,b', 'x']) expect(exportField(v)).toBe(csvField(v));
    const row = Object.fromEntries(ACCOUNT_COLUMNS.map((c) => [c, null])) as unknown as AccountRow;
    const line = accountsCsv([{ ...row, account_id: 'A1', account_name: ' Acme, Inc ', segment: '' }]).split('\n')[1]!;
    expect(line).toBe(csvRow(ACCOUNT_COLUMNS.map((c) => ({ ...row, account_id: 'A1', account_name: ' Acme, Inc ', segment: '' })[c])));
    expect(line.startsWith('A1,," Acme, Inc ","",')).toBe(true);
  });
});
