import { describe, expect, it } from 'vitest';
import { eventId, type IdentityParts } from '../../events/identity.js';

const base: IdentityParts = { billingSource: 'zuora', sourceObjectType: 'invoice', sourceRecordId: '2c92c0f9', sourceVersion: '2016-01-15 22:30:00.000000' };

describe('event_id', () => {
  it('is deterministic: 32 lower-case hex characters, the same for the same source record', () => {
    const a = eventId(base);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(eventId({ ...base })).toBe(a);
    // surrounding whitespace from CSV cells does not change identity
    expect(eventId({ ...base, sourceRecordId: ' 2c92c0f9 ' })).toBe(a);
  });

  it('pins the documented recipe (sha256 of the unit-separated parts, first 128 bits)', async () => {
    const { createHash } = await import('node:crypto');
    const text = ['v1', 'zuora', 'invoice', '2c92c0f9', '2016-01-15 22:30:00.000000'].join('\x1f');
    expect(eventId(base)).toBe(createHash('sha256').update(text).digest('hex').slice(0, 32));
  });

  it('changes with each part: a genuinely new change gets a new id', () => {
    const ids = new Set([
      eventId(base),
      eventId({ ...base, billingSource: 'stripe' }),
      eventId({ ...base, sourceObjectType: 'payment' }),
      eventId({ ...base, sourceRecordId: '2c92c0fa' }),
      eventId({ ...base, sourceVersion: '2016-01-15 22:30:00.000001' }),
      eventId({ ...base, sourceVersion: null }),
    ]);
    expect(ids.size).toBe(6);
  });

  it('treats a missing version like an empty one, and keeps the parts from running into each other', () => {
    expect(eventId({ ...base, sourceVersion: undefined })).toBe(eventId({ ...base, sourceVersion: '' }));
    expect(eventId({ ...base, sourceVersion: null })).toBe(eventId({ ...base, sourceVersion: '' }));
    // "ab"+"c" vs "a"+"bc" must not collide
    expect(eventId({ ...base, sourceObjectType: 'ab', sourceRecordId: 'c' })).not.toBe(eventId({ ...base, sourceObjectType: 'a', sourceRecordId: 'bc' }));
  });

  it('is distinct across many records (no collisions among 100 000 ids)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      ids.add(eventId({ ...base, sourceRecordId: `r${i}` }));
      ids.add(eventId({ ...base, sourceRecordId: 'r0', sourceVersion: String(i) }));
    }
    expect(ids.size).toBe(100_000);
  });

  it('rejects a part containing the separator byte, naming it', () => {
    expect(() => eventId({ ...base, sourceRecordId: 'a\x1fb' })).toThrow(/identity part contains a unit separator: "a\\u001fb"/);
  });
});
