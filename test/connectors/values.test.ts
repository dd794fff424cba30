/**
 * Typed values and conditions of the mapping language, record by record through compileMapper.
 */
import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { parseSourceConfig } from '../../config/sources.js';
import { RecordError } from '../../events/errors.js';
import type { BillingEvent } from '../../events/model.js';
import { compileMapper, type MapResult } from '../../connectors/index.js';
import { fieldMatches } from '../../connectors/mapping/conditions.js';
import { usDateToIso } from '../../connectors/mapping/values.js';

function mapper(object: Record<string, unknown>, timezone = 'America/Los_Angeles') {
  const src = parseSourceConfig({ name: 'acme', timezone, objects: [{ object: 'x', id: 'id', ...object }] }, 'test');
  const m = compileMapper(src);
  return (data: Record<string, unknown>) => m({ object: 'x', data, location: { file: 'acme/2024-01-03/00/x.csv', line: 2 }, rawText: JSON.stringify(data) }, { ingestRunId: 'r' });
}
const events = (r: MapResult) => {
  if (r instanceof RecordError) throw r;
  if (!Array.isArray(r)) throw new Error(`skipped by ${r.rule}`);
  return r;
};
const utc = (e: BillingEvent) => new Date(Number(e.eventTs / 1000n)).toISOString();

describe('timestamp formats', () => {
  it('us-date: month first, optional seconds and AM/PM', () => {
    expect(usDateToIso('1/3/2024')).toBe('2024-01-03');
    expect(usDateToIso('01/03/2024 9:05 PM')).toBe('2024-01-03 21:05:00');
    expect(usDateToIso('12/31/2024 12:00:07 AM')).toBe('2024-12-31 00:00:07');
    expect(usDateToIso('13/01/2024')).toBeNull();
    expect(usDateToIso('2024-01-03')).toBeNull();
  });

  it('epoch_s / epoch_ms / iso / auto each read their shape and reject others with BAD_TIMESTAMP naming the field', () => {
    const m = mapper({ timestamps: { s: 'epoch_s', ms: 'epoch_ms', i: 'iso' }, events: [{ eventType: 'ACCOUNT_CREATED', ts: ['s', 'ms', 'i', 'a'] }] });
    expect(utc(events(m({ id: '1', s: new LosslessNumber('1704268800') }))[0]!)).toBe('2024-01-03T08:00:00.000Z');
    expect(utc(events(m({ id: '1', ms: '1704268800123' }))[0]!)).toBe('2024-01-03T08:00:00.123Z');
    expect(utc(events(m({ id: '1', i: '2024-01-03 00:00:00' }))[0]!)).toBe('2024-01-03T08:00:00.000Z');
    expect(utc(events(m({ id: '1', a: '2018-05-24T13:55:42-07:00' }))[0]!)).toBe('2018-05-24T20:55:42.000Z');
    const bad = m({ id: '1', s: '2024-01-03' }) as RecordError;
    expect(bad).toBeInstanceOf(RecordError);
    expect(bad.code).toBe('BAD_TIMESTAMP');
    expect(bad.location).toMatchObject({ file: 'acme/2024-01-03/00/x.csv', line: 2, field: 's' });
    expect((m({ id: '1', i: '01/03/2024' }) as RecordError).code).toBe('BAD_TIMESTAMP');
    expect((m({ id: '1' }) as RecordError).code).toBe('MISSING_FIELD');
  });

  it('an object time zone overrides the source zone; a date-only value has day precision', () => {
    const m = mapper({ timezone: 'Asia/Tokyo', events: [{ eventType: 'ACCOUNT_CREATED', ts: 't' }] });
    const e = events(m({ id: '1', t: '2024-01-03' }))[0]!;
    expect(utc(e)).toBe('2024-01-02T15:00:00.000Z');
    expect(e.tsPrecision).toBe('day');
    expect(e.sourceTimezone).toBe('Asia/Tokyo');
  });
});

describe('money', () => {
  const m = mapper({
    currency: { column: 'cur', default: 'usd' },
    money: { major: { unit: 'major', scale: 2 }, cents: { unit: 'minor' }, kwd: { unit: 'minor', currency: 'KWD' } },
    events: [
      { eventType: 'PAYMENT_PROCESSED', when: { k: 'major' }, ts: 't', amount: 'major' },
      { eventType: 'REFUND_PROCESSED', when: { k: 'cents' }, ts: 't', amount: 'cents', sign: -1 },
      { eventType: 'FEE_CHARGED', when: { k: 'kwd' }, ts: 't', amount: 'kwd' },
    ],
  });
  const T = '2024-01-03 10:00:00';

  it('major with scale, minor by currency exponent, sign, currency column → default, lower case accepted', () => {
    expect(events(m({ id: '1', k: 'major', major: '99.0', cur: 'eur', t: T }))[0]!.amount.toString()).toBe('99 EUR');
    expect(events(m({ id: '1', k: 'cents', cents: new LosslessNumber('12345'), t: T }))[0]!.amount.toString()).toBe('-123.45 USD');
    expect(events(m({ id: '1', k: 'cents', cents: '500', cur: 'JPY', t: T }))[0]!.amount.toString()).toBe('-500 JPY');
    expect(events(m({ id: '1', k: 'kwd', kwd: '1234', t: T }))[0]!.amount.toFixed()).toBe('1.234000000');
  });

  it('quarantine reasons: beyond scale, not a number, non-integer minor units, unknown currency, empty amount', () => {
    const code = (d: Record<string, unknown>) => (m({ id: '1', t: T, ...d }) as RecordError).code;
    expect(code({ k: 'major', major: '1.005' })).toBe('AMOUNT_OUT_OF_RANGE');
    expect(code({ k: 'major', major: '12,50' })).toBe('BAD_AMOUNT');
    expect(code({ k: 'cents', cents: '12.5' })).toBe('BAD_AMOUNT');
    expect(code({ k: 'major', major: '1', cur: 'EURO' })).toBe('UNKNOWN_CURRENCY');
    expect(code({ k: 'major', major: '' })).toBe('MISSING_FIELD');
    expect(code({ k: 'other' })).toBe('UNKNOWN_EVENT_TYPE');
    expect(code({ k: 'major', major: '1', id: ' ' })).toBe('MISSING_ID');
  });
});

describe('conditions and identity', () => {
  it('equals is case-insensitive; lists mean "in"; operators combine', () => {
    expect(fieldMatches('Paid', 'paid')).toBe(true);
    expect(fieldMatches(new LosslessNumber('1'), 1)).toBe(true);
    expect(fieldMatches('refund', ['payment', 'refund'])).toBe(true);
    expect(fieldMatches(undefined, { present: false })).toBe(true);
    expect(fieldMatches('0', { present: true, notIn: [0] })).toBe(false);
    expect(fieldMatches('150', { present: true, not: 0 })).toBe(true);
    expect(fieldMatches('Usage Revenue', { matches: 'usage' })).toBe(true);
  });

  it('one record can yield several events with distinct, stable ids; perVersion makes each version new', () => {
    const m = mapper({
      version: 'v',
      currency: 'USD',
      money: { total: { unit: 'major' } },
      events: [
        { eventType: 'INVOICE_POSTED', ts: 't', amount: 'total' },
        { eventType: 'INVOICE_PAID', when: { status: 'paid' }, ts: 't', amount: 'total' },
        { eventType: 'MRR_CHANGED', perVersion: true, ts: 't' },
      ],
    });
    const v1 = events(m({ id: 'i1', v: '1', status: 'open', total: '10', t: '2024-01-03' }));
    const v2 = events(m({ id: 'i1', v: '2', status: 'paid', total: '10', t: '2024-01-03' }));
    expect(v1.map((e) => e.eventType)).toEqual(['INVOICE_POSTED', 'MRR_CHANGED']);
    expect(v2.map((e) => e.eventType)).toEqual(['INVOICE_POSTED', 'INVOICE_PAID', 'MRR_CHANGED']);
    expect(v2[0]!.eventId).toBe(v1[0]!.eventId);
    expect(v2[2]!.eventId).not.toBe(v1[1]!.eventId);
    expect(new Set(v2.map((e) => e.eventId)).size).toBe(3);
    expect(v2[1]!.sourceVersion).toBe('2');
    expect(v2[0]!.amount.toString()).toBe('10 USD');
    expect(v2[2]!.amount.toString()).toBe('0 USD');
  });

  it('checks reject shifted columns; JSON text fields are decoded before paths are read', () => {
    const m = mapper({
      jsonFields: ['meta'],
      checks: [{ field: 'code', notPattern: '^\\d{4}-', message: 'shifted' }],
      events: [{ eventType: 'ACCOUNT_CREATED', ts: 't', when: { 'meta.kind': 'vip' } }],
    });
    expect(events(m({ id: '1', t: '2024-01-03', meta: '{"kind":"vip"}' }))).toHaveLength(1);
    const shifted = m({ id: '1', t: '2024-01-03', code: '2022-09-19 05:50:07' }) as RecordError;
    expect([shifted.code, shifted.location?.field]).toEqual(['MALFORMED_RECORD', 'code']);
    expect(shifted.message).toContain('shifted');
    expect((m({ id: '1', t: '2024-01-03', meta: '{"kind":' }) as RecordError).code).toBe('MALFORMED_RECORD');
  });
});
