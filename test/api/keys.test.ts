/** API keys come from an environment variable or a secret file, are never echoed, and are redacted once read. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter, readApiKey } from '../../connectors/api/index.js';
import { redact } from '../../events/redact.js';
import { tempDirsPerTest } from '../jobs/helpers.js';

const dir = tempDirsPerTest('bm-api-keys-');

describe('API keys', () => {
  it('reads a secret file (trailing newline trimmed) and remembers the key for the redactor', () => {
    const f = path.join(dir(), 'stripe_key');
    writeFileSync(f, 'rk_test_from_file_5678\n');
    expect(readApiKey('stripe', 'stripe', { file: f }, {})).toBe('rk_test_from_file_5678');
    expect(redact('request failed with key rk_test_from_file_5678')).toBe('request failed with key ***');
  });

  it('a missing or empty file, or an unset variable, is a configuration error that names where, not what', () => {
    const d = dir();
    expect(() => readApiKey('stripe', 'stripe', { file: path.join(d, 'nope') }, {})).toThrow(/cannot read the API key file .*nope: ENOENT/);
    const empty = path.join(d, 'empty');
    writeFileSync(empty, '\n');
    expect(() => readApiKey('cb', 'chargebee', { file: empty }, {})).toThrow(/pull\.cb: the API key file .*empty is empty/);
    expect(() => readApiKey('cb', 'chargebee', undefined, {})).toThrow(/environment variable CHARGEBEE_API_KEY is not set/);
    expect(readApiKey('cb', 'chargebee', { env: 'MY_CB_KEY' }, { MY_CB_KEY: ' cb_key_1234 ' })).toBe('cb_key_1234');
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates relative to the injected now; anything else is absent', () => {
    const now = Date.parse('2024-03-05T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Tue, 05 Mar 2024 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 05 Mar 2024 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
