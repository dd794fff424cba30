/**
 * The mapping language: validation errors name the file, the key and what is expected; defaults validate.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { loadConfig } from '../../config/index.js';
import { parseSourceConfig } from '../../config/sources.js';
import { ConfigError } from '../../events/errors.js';
import { loadSourceFile } from '../../connectors/index.js';
import { tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function yamlFile(text: string): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const f = path.join(t.dir, 'acme.yaml');
  writeFileSync(f, text);
  return f;
}

const GOOD = `
name: acme
timezone: Europe/Berlin
objects:
  - object: payments
    id: id
    currency: EUR
    money: { amount: { unit: minor } }
    events:
      - { eventType: PAYMENT_PROCESSED, ts: created, amount: amount }
`;

describe('source definitions', () => {
  it('validates the four embedded demo sources with their zones', () => {
    const parsed = DEFAULT_SOURCES.map((s) => parseSourceConfig(s, 'defaults'));
    expect(parsed.map((s) => `${s.name}:${s.timezone}`)).toEqual(['zuora:America/Los_Angeles', 'stripe:UTC', 'chargebee:Europe/London', 'recurly:UTC']);
    expect(parsed.flatMap((s) => s.objects.map((o) => `${s.name}.${o.object}`))).toEqual(
      expect.arrayContaining(['zuora.invoice_item', 'zuora.amendment', 'stripe.charge', 'stripe.payout', 'chargebee.invoice', 'chargebee.event', 'recurly.transaction', 'recurly.subscription_history']),
    );
  });

  it('applies defaults: formats, records paths, seqn by position, sign +1, currency upper-cased', async () => {
    const [s] = await loadSourceFile(yamlFile(GOOD));
    const o = s!.objects[0]!;
    expect(o.formats).toEqual(['csv', 'jsonl', 'json']);
    expect(o.seqn).toBe('position');
    expect(o.events[0]!.sign).toBe(1);
    expect(o.currency).toBe('EUR');
    const [l] = await loadSourceFile(yamlFile(GOOD.replace('currency: EUR', 'currency: eur')));
    expect(l!.objects[0]!.currency).toBe('EUR');
  });

  it('reports every problem with the file, the key (with object names) and what is expected', async () => {
    const bad = GOOD.replace('Europe/Berlin', 'Mars/Olympus')
      .replace('eventType: PAYMENT_PROCESSED', 'eventType: PAYMENT_DONE')
      .replace('amount: amount }', 'amount: amount_paid }')
      .replace('unit: minor', 'unit: cents');
    const f = yamlFile(bad);
    const err = await loadSourceFile(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg).toContain(`invalid source definition in ${f}`);
    expect(msg).toContain(`${f}: timezone: an IANA time zone`);
    expect(msg).toContain('objects[0 "payments"].events[0].eventType: one of the canonical event types (ACCOUNT_CREATED');
    expect(msg).toContain('objects[0 "payments"].money.amount.unit: "major" (70.36) or "minor"');
  });

  it('rejects a rule amount that names no money field, bad regexes and duplicate rules', () => {
    const base = { name: 'x', timezone: 'UTC', objects: [{ object: 'p', id: 'id', currency: 'USD', money: { amount: { unit: 'major' } }, events: [] as unknown[] }] };
    base.objects[0]!.events = [
      { eventType: 'PAYMENT_PROCESSED', ts: 't', amount: 'total' },
      { eventType: 'PAYMENT_FAILED', ts: 't', when: { status: { matches: '([' } } },
      { eventType: 'PAYMENT_FAILED', ts: 't' },
    ];
    let msg = '';
    try {
      parseSourceConfig(base, 'inline.yaml');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('inline.yaml: objects[0 "p"].events[0].amount: "total" is not a money field of object "p" (declared: amount)');
    expect(msg).toContain('events[1].when.status: a valid regular expression');
    expect(msg).toContain('events[2].name: two rules produce PAYMENT_FAILED: give each a distinct name');
  });

  it('rejects money without a currency and an object without event rules', () => {
    expect(() => parseSourceConfig({ name: 'x', timezone: 'UTC', objects: [{ object: 'p', id: 'id', money: { a: { unit: 'major' } }, events: [{ eventType: 'FEE_CHARGED', ts: 't', amount: 'a' }] }] }, 'f.yaml')).toThrow(
      /money\.a\.currency: a currency \(here or on the object\)/,
    );
    expect(() => parseSourceConfig({ name: 'x', timezone: 'UTC', objects: [{ object: 'p', id: 'id', events: [] }] }, 'f.yaml')).toThrow(/events: at least one event rule/);
  });

  it('is validated at startup through the main config file, naming the key', () => {
    const f = yamlFile(`sources:\n  - name: Bad Name\n    timezone: UTC\n    objects: []\n`);
    expect(() => loadConfig({ configFile: f, env: {} })).toThrow(/acme.yaml: sources\[0\]\.name: a lower-case identifier/);
  });

  it('reports YAML syntax errors with the line', async () => {
    const f = yamlFile('name: acme\n  objects: [\n');
    await expect(loadSourceFile(f)).rejects.toThrow(/is not valid YAML/);
  });
});
