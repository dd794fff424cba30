/**
 * The mapping language's issue-10 features, each on a small inline source read through the public connector API:
 * skip rules, exact numeric and column-to-column conditions, declared event types, per-rule change markers,
 * history objects, declared columns, and sources added beside the built-ins (inline, include file, include folder).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { parseSourceConfig, type SourceConfigInput } from '../../config/sources.js';
import { ConfigError } from '../../events/errors.js';
import { loadSourceFile, skippedTotal } from '../../connectors/index.js';
import { previewFiles } from '../../tools/preview.js';
import { connectorConfig, DAY, readAll, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Lands `files` (name → CSV text) for source `acme` and reads them with `source`. */
async function run(source: SourceConfigInput, files: Record<string, string>) {
  const landing = dir();
  const d = path.join(landing, source.name, DAY, '00');
  mkdirSync(d, { recursive: true });
  for (const [n, text] of Object.entries(files)) writeFileSync(path.join(d, n), text);
  writeFileSync(path.join(d, '_SUCCESS'), '');
  return readAll(connectorConfig(landing, [source]), source.name);
}

function problems(raw: unknown): string {
  try {
    parseSourceConfig(raw, 'acme.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a configuration error');
}

const TXN: SourceConfigInput = {
  name: 'acme',
  timezone: 'UTC',
  objects: [
    {
      object: 'transaction',
      id: 'id',
      currency: { column: 'currency' },
      money: { amount: { unit: 'major' }, fee: { unit: 'major' } },
      skip: [
        { name: 'card_verification', when: { type: 'verify' }, description: 'a $0 card check, not a billing event' },
        { name: 'zero_amount', when: { amount: { eq: 0 } } },
      ],
      events: [
        { eventType: 'PAYMENT_PROCESSED', when: { type: 'purchase', status: 'success', amount: { gt: '0.000000001' } }, ts: 'created_at', amount: 'amount' },
        { eventType: 'FEE_CHARGED', when: { fee: { ne: 0 } }, ts: 'created_at', amount: 'fee', sign: -1 },
        // column to column: a partial capture (captured below the authorised amount)
        { eventType: 'PAYMENT_FAILED', name: 'short_capture', when: { type: 'purchase', captured: { lt: { column: 'amount' } } }, ts: 'created_at' },
      ],
    },
  ],
};

const TXN_CSV = `id,type,status,amount,fee,captured,currency,created_at
t1,verify,success,0.0,0,0,USD,2024-01-03 01:00:00
t2,purchase,success,5.00,0.30,5.00,USD,2024-01-03 01:10:00
t3,purchase,success,0.00,0,0,USD,2024-01-03 01:20:00
t4,verify,declined,0.0,0,0,USD,2024-01-03 01:30:00
t5,purchase,success,9007199254740993,0,9007199254740992,USD,2024-01-03 01:40:00
t6,purchase,success,12.00,0,11.99,USD,2024-01-03 01:50:00
t7,purchase,success,abc,0,0,USD,2024-01-03 02:00:00
t8,refund,success,4.00,0,4.00,USD,2024-01-03 02:10:00
`;

describe('skip rules and numeric / column conditions', () => {
  it('counts skipped records per rule, never quarantines them, and keeps read = mapped + quarantined + skipped', async () => {
    const r = await run(TXN, { 'transaction.csv': TXN_CSV });
    expect(r.stats.records).toBe(8);
    expect(r.stats.skipped).toEqual({ 'transaction.card_verification': 2, 'transaction.zero_amount': 1 });
    expect(r.stats.mapped).toBe(3); // t2, t5, t6
    expect(r.stats.quarantined).toBe(2); // t7 (not a number), t8 (no rule)
    expect(r.stats.mapped + r.stats.quarantined + skippedTotal(r.stats)).toBe(r.stats.records);
    expect(r.quarantine.map((q) => `${q.sourcePosition}:${q.reason}:${q.field}`)).toEqual(['8:BAD_VALUE:amount', '9:UNKNOWN_EVENT_TYPE:type,status,amount,fee,captured']);
    expect(r.quarantine[0]!.message).toContain('"amount" = "abc" is not a number, but a rule compares it numerically');
  });

  it('compares exact decimals, never floats, and columns with columns', async () => {
    const r = await run(TXN, { 'transaction.csv': TXN_CSV });
    const by = (id: string) => r.events.filter((e) => e.sourceRecordId === id).map((e) => `${e.eventType}:${e.amount.toFixed()}`).sort();
    expect(by('t2')).toEqual(['FEE_CHARGED:-0.300000000', 'PAYMENT_PROCESSED:5.000000000']);
    // 2^53 + 1 vs 2^53: a float holds both as 9007199254740992 and would see no short capture
    expect(by('t5')).toEqual(['PAYMENT_FAILED:0.000000000', 'PAYMENT_PROCESSED:9007199254740993.000000000']);
    expect(by('t6')).toEqual(['PAYMENT_FAILED:0.000000000', 'PAYMENT_PROCESSED:12.000000000']);
  });

  it('validates operands at load: a float YAML cannot hold exactly, a malformed number, a skip rule without a name', () => {
    const obj = (extra: object) => ({ name: 'acme', timezone: 'UTC', objects: [{ object: 'p', id: 'id', events: [{ eventType: 'ACCOUNT_CREATED', ts: 't', ...extra }] }] });
    expect(problems(obj({ when: { a: { gt: 0.1234567890123456 } } }))).toContain('objects[0 "p"].events[0].when.a');
    expect(problems(obj({ when: { a: { gt: 0.1234567890123456 } } }))).toContain('a number YAML can hold exactly');
    expect(problems(obj({ when: { a: { gt: '1,5' } } }))).toContain('when.a.gt: a decimal number such as 0 or "12.50"');
    expect(problems({ ...obj({}), objects: [{ ...obj({}).objects[0], skip: [{ when: { a: 1 } }] }] })).toContain('skip[0].name');
  });
});

describe('declared event types', () => {
  const src = (eventTypes: object, rule: object): SourceConfigInput =>
    ({ name: 'acme', timezone: 'UTC', eventTypes, objects: [{ object: 'payment', id: 'id', currency: 'USD', money: { amount: { unit: 'major' } }, events: [{ ts: 't', ...rule }] }] }) as unknown as SourceConfigInput;

  it('accepts a declared type beside the canonical ones and enforces its sign convention per event', async () => {
    const s = src({ PAYMENT_VOIDED: { sign: 'negative', description: 'a payment voided before settlement' } }, { eventType: 'PAYMENT_VOIDED', amount: 'amount', sign: -1 });
    const r = await run(s, { 'payment.csv': 'id,amount,t\np1,5.00,2024-01-03 01:00:00\np2,-2.00,2024-01-03 01:00:00\n' });
    expect(r.events.map((e) => `${e.eventType}:${e.amount.toFixed()}`)).toEqual(['PAYMENT_VOIDED:-5.000000000']);
    expect(r.quarantine.map((q) => `${q.reason}:${q.field}`)).toEqual(['BAD_AMOUNT:amount']);
    expect(r.quarantine[0]!.message).toContain('event type PAYMENT_VOIDED is declared negative, but rule PAYMENT_VOIDED gives 2.000000000');
  });

  it('fails at load on a type that is neither canonical nor declared, a redeclared canonical one, and an amount on a zero type', () => {
    expect(problems(src({}, { eventType: 'PAYMENT_VOIDED' }))).toContain('acme.yaml: objects[0 "payment"].events[0].eventType: one of the canonical event types (ACCOUNT_CREATED');
    expect(problems(src({}, { eventType: 'PAYMENT_VOIDED' }))).toContain('"PAYMENT_VOIDED" is neither');
    expect(problems(src({ REFUND_PROCESSED: { sign: 'negative', description: 'x' } }, { eventType: 'REFUND_PROCESSED' }))).toContain('eventTypes.REFUND_PROCESSED: REFUND_PROCESSED is a canonical event type');
    expect(problems(src({ CARD_CHECKED: { sign: 'zero', description: 'x' } }, { eventType: 'CARD_CHECKED', amount: 'amount' }))).toContain('events[0].amount: CARD_CHECKED is declared with sign zero');
    expect(problems(src({ X_Y: { sign: 'sideways', description: 'x' } }, { eventType: 'X_Y' }))).toContain('eventTypes.X_Y.sign: the sign convention: positive, negative, zero, any');
  });
});

const SUB_HISTORY: SourceConfigInput = {
  name: 'acme',
  timezone: 'UTC',
  objects: [
    {
      object: 'subscription_history',
      id: 'id',
      version: 'updated_at',
      seqn: { column: 'updated_at', kind: 'timestamp' },
      history: true,
      columns: ['id', 'updated_at', 'state', 'activated_at', 'canceled_at', 'current_period_started_at'],
      events: [
        { eventType: 'SUBSCRIPTION_CREATED', ts: 'activated_at' },
        // a new billing period is a renewal; the first period (started at activation) is not
        { eventType: 'SUBSCRIPTION_RENEWED', when: { state: 'active', current_period_started_at: { present: true, not: { column: 'activated_at' } } }, ts: 'current_period_started_at', changeMarker: 'current_period_started_at' },
        { eventType: 'SUBSCRIPTION_CANCELLED', when: { state: ['canceled', 'expired'] }, ts: 'canceled_at' },
      ],
    },
  ],
};

// versions out of order; s1 repeats period 2 in two versions (a metadata change), then is canceled
const SUB_CSV = `id,updated_at,state,activated_at,canceled_at,current_period_started_at
s1,2024-01-03 01:30:00,active,2023-11-01 00:00:00,,2024-01-01 00:00:00
s1,2023-11-01 00:00:00,active,2023-11-01 00:00:00,,2023-11-01 00:00:00
s1,2023-12-01 00:00:05,active,2023-11-01 00:00:00,,2023-12-01 00:00:00
s1,2023-12-15 10:00:00,active,2023-11-01 00:00:00,,2023-12-01 00:00:00
s1,2024-01-03 02:00:00,canceled,2023-11-01 00:00:00,2024-01-03 02:00:00,2024-01-01 00:00:00
s2,2024-01-03 01:00:00,active,2024-01-03 01:00:00,,2024-01-03 01:00:00
s2,2024-01-03 01:00:00,active,2024-01-03 01:00:00,,2024-01-03 01:00:00
`;

describe('history objects and change markers', () => {
  it('emits each event from the earliest version where it appears, once; repeated versions are counted as skipped', async () => {
    const r = await run(SUB_HISTORY, { 'subscription_history.csv': SUB_CSV });
    const sig = r.events.map((e) => `${e.sourceRecordId}:${e.eventType}:${e.sourceTsRaw}:${e.sourceVersion}`).sort();
    expect(sig).toEqual([
      's1:SUBSCRIPTION_CANCELLED:2024-01-03 02:00:00:2024-01-03 02:00:00',
      's1:SUBSCRIPTION_CREATED:2023-11-01 00:00:00:2023-11-01 00:00:00', // from the earliest version, though read second
      's1:SUBSCRIPTION_RENEWED:2023-12-01 00:00:00:2023-12-01 00:00:05', // not again for the 2023-12-15 version
      's1:SUBSCRIPTION_RENEWED:2024-01-01 00:00:00:2024-01-03 01:30:00',
      's2:SUBSCRIPTION_CREATED:2024-01-03 01:00:00:2024-01-03 01:00:00',
    ]);
    expect(new Set(r.events.map((e) => e.eventId)).size).toBe(5);
    expect(r.stats.skipped).toEqual({ 'subscription_history.(repeated version)': 2 }); // s1@12-15, s2's duplicate row
    expect(r.stats.mapped + r.stats.quarantined + skippedTotal(r.stats)).toBe(7);
    expect(r.stats.events).toBe(5);
  });

  it('gives the same identity for the same marker value whatever the version, and a new one when it changes', async () => {
    const a = await run(SUB_HISTORY, { 'subscription_history.csv': SUB_CSV });
    const later = SUB_CSV.split('\n').slice(0, 1).concat('s1,2024-01-20 00:00:00,active,2023-11-01 00:00:00,,2023-12-01 00:00:00', '').join('\n');
    const b = await run(SUB_HISTORY, { 'subscription_history.csv': later });
    const renewedDec = (x: typeof a) => x.events.find((e) => e.eventType === 'SUBSCRIPTION_RENEWED' && e.sourceTsRaw.startsWith('2023-12-01'))!.eventId;
    expect(renewedDec(b)).toBe(renewedDec(a));
    const renewals = a.events.filter((e) => e.eventType === 'SUBSCRIPTION_RENEWED').map((e) => e.eventId);
    expect(new Set(renewals).size).toBe(2);
  });

  it('source-check reports the same accounting per file', async () => {
    const d = dir();
    const f = path.join(d, 'subscription_history.csv');
    writeFileSync(f, SUB_CSV);
    const [p] = await previewFiles(parseSourceConfig(SUB_HISTORY, 'inline'), [f]);
    expect(p).toMatchObject({ records: 7, mapped: 5, skippedRecords: { 'subscription_history.(repeated version)': 2 } });
    expect(p!.events.map((e) => `${e.event_type}:${e.rows}`)).toEqual(['SUBSCRIPTION_CANCELLED:1', 'SUBSCRIPTION_CREATED:2', 'SUBSCRIPTION_RENEWED:2']);
  });

  it('fails at load on a field that is not a declared column, a history object without a version order, perVersion with changeMarker', () => {
    const o = SUB_HISTORY.objects[0]!;
    const msg = problems({ ...SUB_HISTORY, objects: [{ ...o, events: [{ eventType: 'SUBSCRIPTION_CANCELLED', when: { status: 'canceled' }, ts: ['canceled_at', 'cancelled_at'] }] }] });
    expect(msg).toContain('acme.yaml: objects[0 "subscription_history"].events[0].ts[1]: "cancelled_at" is not a column of subscription_history');
    expect(msg).toContain('events[0].when.status: "status" is not a column');
    expect(problems({ ...SUB_HISTORY, objects: [{ ...o, seqn: 'position' }] })).toContain('seqn: a history object needs seqn {column: <version column>');
    expect(problems({ ...SUB_HISTORY, objects: [{ ...o, events: [{ eventType: 'SUBSCRIPTION_CREATED', ts: 'activated_at', perVersion: true, changeMarker: 'state' }] }] })).toContain('either perVersion');
  });
});

describe('sources beside the built-ins', () => {
  const ACME = { name: 'acme', timezone: 'UTC', objects: [{ object: 'payment', id: 'id', currency: 'USD', money: { amount: { unit: 'major' } }, events: [{ eventType: 'PAYMENT_PROCESSED', ts: 't', amount: 'amount' }] }] };
  const cfg = (d: string, o: object) => {
    const f = path.join(d, 'billing-mart.yaml');
    writeFileSync(f, YAML.stringify(o));
    return loadConfig({ configFile: f, env: {} });
  };
  const names = (c: { sources: readonly { name: string }[] }) => c.sources.map((s) => s.name);

  it('adds defined sources to the built-ins; builtins selects; a definition with a built-in name replaces it', () => {
    const d = dir();
    expect(names(cfg(d, { sources: [ACME] }))).toEqual(['zuora', 'stripe', 'chargebee', 'recurly', 'acme']);
    expect(names(cfg(d, { builtins: ['stripe'], sources: [ACME] }))).toEqual(['stripe', 'acme']);
    expect(names(cfg(d, { builtins: 'none', sources: [ACME] }))).toEqual(['acme']);
    const over = cfg(d, { sources: [{ ...ACME, name: 'stripe' }] });
    expect(names(over)).toEqual(['zuora', 'chargebee', 'recurly', 'stripe']);
    expect(over.sources.find((s) => s.name === 'stripe')!.objects.map((o) => o.object)).toEqual(['payment']);
  });

  it('reads a source kept in a file of its own, or every file of a sources folder, relative to the config file', async () => {
    const d = dir();
    mkdirSync(path.join(d, 'sources'));
    writeFileSync(path.join(d, 'sources', 'acme.yaml'), YAML.stringify(ACME));
    writeFileSync(path.join(d, 'sources', 'beta.yml'), YAML.stringify({ ...ACME, name: 'beta' }));
    writeFileSync(path.join(d, 'sources', 'notes.txt'), 'not a definition');
    expect(names(cfg(d, { builtins: 'none', sources: [{ include: 'sources/acme.yaml' }] }))).toEqual(['acme']);
    expect(names(cfg(d, { builtins: ['zuora'], sources: [{ include: './sources' }] }))).toEqual(['zuora', 'acme', 'beta']);
    // source-check --definition follows the includes of a config file too
    writeFileSync(path.join(d, 'with-include.yaml'), YAML.stringify({ sources: [{ include: 'sources' }] }));
    expect((await loadSourceFile(path.join(d, 'with-include.yaml'))).map((s) => s.name)).toEqual(['acme', 'beta']);
  });

  it('fails at load naming the file and key: a missing include, an invalid included source, an unknown built-in, a name defined twice', () => {
    const d = dir();
    mkdirSync(path.join(d, 'sources'));
    writeFileSync(path.join(d, 'sources', 'bad.yaml'), YAML.stringify({ ...ACME, objects: [{ ...ACME.objects[0], events: [{ eventType: 'PAYMENT_DONE', ts: 't' }] }] }));
    const err = (o: object) => {
      try {
        cfg(d, o);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a configuration error');
    };
    const conf = path.join(d, 'billing-mart.yaml');
    expect(err({ sources: [ACME, { include: 'sources/missing.yaml' }] })).toContain(`${conf}: sources[1].include: sources/missing.yaml (${path.join(d, 'sources/missing.yaml')}) does not exist`);
    expect(err({ sources: [{ include: 'sources/bad.yaml' }] })).toContain(`${path.join(d, 'sources', 'bad.yaml')}: objects[0 "payment"].events[0].eventType: one of the canonical event types`);
    expect(err({ builtins: ['stripe', 'paypal'] })).toContain(`${conf}: builtins[1]: "paypal" is not a built-in source (built-ins: zuora, stripe, chargebee, recurly)`);
    expect(err({ sources: [ACME, ACME] })).toContain(`${conf}: sources[1].name: source name "acme" is already used by sources[0]`);
    expect(err({ sources: [{ ...ACME, timezone: 'Mars/Base' }] })).toContain(`${conf}: sources[0].timezone: an IANA time zone`);
  });
});
