import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProfile, profileFile, profileRecords, shapeOf, type ProfileRecord } from '../../tools/profile/index.js';

const FIX = path.resolve(__dirname, '../fixtures');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const recs = (rows: Record<string, string>[]): ProfileRecord[] => rows.map((fields, i) => ({ fields, at: `line ${i + 2}` }));

describe('shapeOf', () => {
  it('labels formats and offsets as written', () => {
    expect(shapeOf('2016-01-15 22:30:00.000000')).toEqual({ format: 'YYYY-MM-DD HH:mm:ss.SSSSSS', offset: null, epoch: null });
    expect(shapeOf('2018-05-24T13:55:42-07:00')).toEqual({ format: 'YYYY-MM-DDTHH:mm:ss±HH:MM', offset: '-07:00', epoch: null });
    expect(shapeOf('2026-01-05T16:00:29Z')?.format).toBe('YYYY-MM-DDTHH:mm:ssZ');
    expect(shapeOf('2023-04-26 23:59:59.000000 UTC')).toMatchObject({ format: 'YYYY-MM-DD HH:mm:ss.SSSSSS UTC', offset: 'UTC' });
    expect(shapeOf('2015-10-15')?.format).toBe('YYYY-MM-DD');
    expect(shapeOf('01/03/2024 10:15 PM')?.format).toBe('MM/DD/YYYY hh:mm AM/PM');
    expect(shapeOf('1517637600')).toMatchObject({ format: 'epoch seconds', epoch: 'seconds' });
    expect(shapeOf('1517637600123')).toMatchObject({ format: 'epoch milliseconds', epoch: 'milliseconds' });
    expect(shapeOf('80000')).toBeNull();
    expect(shapeOf('cus_MSXtGSAxxtYWe1')).toBeNull();
  });
});

describe('profileRecords', () => {
  it('reports shares, offsets, precision, midnight per type, failures with examples and a suggestion', () => {
    const p = profileRecords(
      'mem.csv',
      recs([
        { type: 'invoice', posted: '2024-01-03', amount: '10' },
        { type: 'invoice', posted: '2024-01-04 00:00:00', amount: '11' },
        { type: 'payment', posted: '2024-01-04 10:15:07.123', amount: '12' },
        { type: 'payment', posted: '2024-01-04T10:15:07Z', amount: '13' },
        { type: 'payment', posted: '2023-02-29 10:00:00', amount: '14' },
        { type: 'payment', posted: 'N/A', amount: '15' },
        { type: 'payment', posted: '', amount: '16' },
      ]),
      { sourceTz: 'America/Los_Angeles' },
    );
    expect(p.records).toBe(7);
    expect(p.typeColumn).toBe('type');
    expect(p.columns.map((c) => c.column)).toEqual(['posted']);
    const c = p.columns[0]!;
    expect(c).toMatchObject({ values: 6, empty: 1, parsed: 4, failed: 2 });
    expect(c.formats[0]).toEqual({ format: 'YYYY-MM-DD HH:mm:ss', count: 2, share: 0.3333 });
    expect(c.offsets).toEqual([
      { offset: 'none (naive)', count: 4 },
      { offset: 'Z', count: 1 },
    ]);
    expect(c.precision).toEqual({ day: 1, minute: 0, second: 2, millisecond: 1, microsecond: 0 });
    expect(c.midnight).toEqual({
      count: 2,
      share: 0.5,
      byType: [
        { type: 'invoice', values: 2, midnight: 2, share: 1 },
        { type: 'payment', values: 2, midnight: 0, share: 0 },
      ],
    });
    expect(c.failures.map((f) => [f.value, f.at])).toEqual([
      ['2023-02-29 10:00:00', 'line 6'],
      ['N/A', 'line 7'],
    ]);
    expect(c.failures[1]!.reason).toBe('not a date or datetime');
    expect(c.suggestion.format).toBe('iso');
    expect(c.suggestion.notes.join('\n')).toMatch(/mixed offsets[\s\S]*2 value\(s\) fail to parse/);
    const text = formatProfile(p);
    expect(text).toContain('column posted: 6 value(s), 1 empty, 4 parsed, 2 failed');
    expect(text).toContain('invoice: 2/2 (100.0%)');
  });

  it('suggests epoch formats and us-date, and flags dates in an id column', () => {
    const p = profileRecords(
      'mem.json',
      recs([
        { created: '1517637600', activated_at: '01/03/2024 10:15:00', coupon_id: '2022-09-19 05:50:07.000000' },
        { created: '1517724000', activated_at: '1/4/2024', coupon_id: '2022-09-19 05:50:07.000000' },
      ]),
      { sourceTz: 'UTC' },
    );
    const by = Object.fromEntries(p.columns.map((c) => [c.column, c]));
    expect(by.created!.suggestion.format).toBe('epoch_s');
    expect(by.activated_at!.suggestion.format).toBe('us-date');
    expect(by.coupon_id!.suggestion.notes.join(' ')).toMatch(/suggests an identifier.*shifted/);
  });
});

describe('profileFile on real sample exports', () => {
  it('Zuora subscription warehouse CSV: naive LA microseconds, subscription dates at midnight', async () => {
    const p = await profileFile(path.join(FIX, 'zuora', 'subscription.csv'), { sourceTz: 'America/Los_Angeles' });
    const by = Object.fromEntries(p.columns.map((c) => [c.column, c]));
    expect(by.created_date!.formats).toEqual([{ format: 'YYYY-MM-DD HH:mm:ss.SSSSSS', count: 5, share: 1 }]);
    expect(by.created_date!.midnight.share).toBe(0);
    expect(by.subscription_start_date!.midnight.share).toBe(1);
    expect(by.subscription_start_date!.suggestion.notes.join(' ')).toMatch(/nightly-truncation suspect/);
    expect(by.account_id).toBeUndefined();
  });

  it('Zuora Data Query JSON lines: offsets as written', async () => {
    const p = await profileFile(path.join(FIX, 'zuora', 'account-dataquery.jsonl'), { sourceTz: 'America/Los_Angeles' });
    const offsets = new Set(p.columns.flatMap((c) => c.offsets.map((o) => o.offset)));
    expect([...offsets].some((o) => /^[+-]\d{2}:\d{2}$/.test(o))).toBe(true);
    expect(p.columns.every((c) => c.failed === 0)).toBe(true);
  });

  it('Chargebee API page: epoch seconds, per-status midnight shares', async () => {
    const p = await profileFile(path.join(FIX, 'chargebee', 'invoice-page.json'), { sourceTz: 'Europe/London' });
    const date = p.columns.find((c) => c.column === 'date')!;
    expect(date.formats).toEqual([{ format: 'epoch seconds', count: 5, share: 1 }]);
    expect(date.suggestion.format).toBe('epoch_s');
    expect(p.typeColumn).toBe('status');
    expect(date.midnight.byType?.map((t) => t.type)).toEqual(['paid', 'payment_due']);
  });

  it('Stripe API objects: epoch columns found by name, amounts and phone numbers not taken for epochs', async () => {
    const inv = await profileFile(path.join(FIX, 'stripe', 'invoice-api.json'), { sourceTz: 'UTC' });
    const cols = inv.columns.map((c) => c.column);
    expect(cols).toEqual(expect.arrayContaining(['created', 'period_start', 'period_end']));
    expect(cols.some((c) => c.startsWith('shipping_cost.'))).toBe(false);
    const sub = await profileFile(path.join(FIX, 'chargebee', 'subscription-page.json'), { sourceTz: 'Europe/London' });
    expect(sub.columns.map((c) => c.column)).toContain('subscription.created_at');
    expect(sub.columns.map((c) => c.column)).not.toContain('customer.phone');
  });

  it("Stripe's discount export: the timestamp in coupon_id shows up", async () => {
    const p = await profileFile(path.join(FIX, 'stripe', 'discount.csv'), { sourceTz: 'UTC' });
    const coupon = p.columns.find((c) => c.column === 'coupon_id');
    expect(coupon?.suggestion.notes.join(' ')).toMatch(/shifted/);
  });
});

describe('profileFile input handling', () => {
  it('reads gzip and Airbyte record messages, and names the file and line of bad JSON', async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'bm-prof-'));
    dirs.push(d);
    const gz = path.join(d, 'x.jsonl.gz');
    writeFileSync(gz, gzipSync('{"stream":"invoice","data":{"id":"a","date":1517637600},"emitted_at":1}\n'));
    const p = await profileFile(gz, { sourceTz: 'UTC' });
    expect(p.columns.map((c) => c.column)).toEqual(['date']);
    const bad = path.join(d, 'bad.jsonl');
    writeFileSync(bad, '{"a":1}\n{"a":\n');
    await expect(profileFile(bad, { sourceTz: 'UTC' })).rejects.toThrow(/bad\.jsonl:2: not valid JSON/);
    await expect(profileFile(path.join(d, 'x.parquet'), { sourceTz: 'UTC' })).rejects.toThrow(/cannot tell the format/);
    await expect(profileFile(path.join(d, 'missing.csv'), { sourceTz: 'UTC' })).rejects.toThrow(/cannot read .*missing\.csv/);
  });
});
