/**
 * A config-only source end to end: Recurly-like exports onboarded with YAML alone (test/fixtures/recurly/recurly.yaml),
 * loaded through the normal configuration file, read from a landing zone (CSV and gzip), mapped and quarantined.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { RECURLY, RECURLY_YAML } from '../../config/builtin/recurly.js';
import { loadSourceFile, openSource } from '../../connectors/index.js';
import { byType, countRecords, FIXTURES, landFixtures, NOW, recordsWithEvents, tempDir, WINDOW } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
const YAML_FILE = path.join(FIXTURES, 'recurly', 'recurly.yaml');

describe('config-only Recurly source', () => {
  it('the embedded demo definition is exactly the YAML a user writes', () => {
    expect(RECURLY_YAML).toBe(readFileSync(YAML_FILE, 'utf8'));
    expect(RECURLY).toEqual(YAML.parse(readFileSync(YAML_FILE, 'utf8')));
  });

  it('loads from a YAML file and maps CSV + gzip exports end to end', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const [src] = await loadSourceFile(YAML_FILE);
    expect(src!.name).toBe('recurly');
    // a user config file: the recurly YAML under `sources:`
    const cfgFile = path.join(t.dir, 'billing-mart.yaml');
    writeFileSync(cfgFile, YAML.stringify({ landing: './landing', warehouse: './wh', pickup: { mode: 'marker', quietSeconds: 60 }, sources: [YAML.parse(readFileSync(YAML_FILE, 'utf8'))] }));
    const config = loadConfig({ configFile: cfgFile, env: {} });
    landFixtures(config.landing, 'recurly', { gzip: ['subscriptions.csv'] });

    const source = openSource(config, 'recurly');
    const batch = await source.read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'r1' });
    expect(batch.inputs.map((i) => i.path).sort()).toEqual([
      'recurly/2024-01-03/00/invoices.csv',
      'recurly/2024-01-03/00/subscriptions.csv.gz',
      'recurly/2024-01-03/00/transactions.csv',
    ]);
    const events = [];
    for await (const e of batch.events) events.push(e);

    const input = ['invoices.csv', 'transactions.csv', 'subscriptions.csv'].reduce((n, f) => n + countRecords(path.join(FIXTURES, 'recurly', f)), 0);
    expect(input).toBe(15);
    expect(batch.stats.records).toBe(input);
    expect(recordsWithEvents(events) + batch.quarantine.length).toBe(input);

    expect(byType(events)).toEqual({
      INVOICE_POSTED: 3,
      INVOICE_PAID: 1,
      INVOICE_VOIDED: 1,
      PAYMENT_PROCESSED: 1,
      PAYMENT_FAILED: 1,
      REFUND_PROCESSED: 1,
      SUBSCRIPTION_CREATED: 3,
      SUBSCRIPTION_CANCELLED: 1,
      SUBSCRIPTION_PAUSED: 1,
    });
    const q = batch.quarantine.map((x) => `${path.basename(x.sourceFile)}:${x.sourcePosition}:${x.reason}:${x.field}`).sort();
    expect(q).toEqual([
      'invoices.csv:5:UNKNOWN_CURRENCY:currency',
      'invoices.csv:6:UNKNOWN_EVENT_TYPE:state',
      'subscriptions.csv.gz:5:BAD_TIMESTAMP:activated_at',
      'transactions.csv:5:AMOUNT_OUT_OF_RANGE:amount',
      'transactions.csv:6:MISSING_ID:uuid',
      'transactions.csv:7:BAD_TIMESTAMP:date',
    ]);

    // naive site-zone times → UTC; "99.0" decimals exact; lower-case currency accepted; refunds negative
    const open = events.find((e) => e.sourceRecordId === '1002')!;
    expect(open.amount.toString()).toBe('12.5 USD');
    expect(open.eventDate).toBe('2024-01-04'); // 23:30 PST = 07:30 UTC next day
    expect(open.sourceLocalDate).toBe('2024-01-03');
    expect(events.find((e) => e.eventType === 'REFUND_PROCESSED')!.amount.toFixed()).toBe('-20.250000000');
    const voided = events.filter((e) => e.sourceRecordId === '1003');
    expect(voided.map((e) => e.amount.toFixed()).sort()).toEqual(['-40.000000000', '40.000000000']);
    // us-date with AM/PM, and a wall time that does not exist (DST gap) is flagged, not dropped
    const cancelled = events.find((e) => e.eventType === 'SUBSCRIPTION_CANCELLED')!;
    expect(cancelled.sourceTsRaw).toBe('01/03/2024 11:59:59 PM');
    expect(new Date(Number(cancelled.eventTs / 1000n)).toISOString()).toBe('2024-01-04T07:59:59.000Z');
    const gap = events.find((e) => e.sourceRecordId === '7b3a0e4c1d5f6a8b0c3d4e5f6a7b8c9d' && e.eventType === 'SUBSCRIPTION_CREATED')!;
    expect(gap.tsNonexistent).toBe(true);
    expect(gap.amount.toString()).toBe('0 XXX');
    // version = state: a state change would be a new version of the same record
    expect(events.find((e) => e.sourceRecordId === '1001')!.sourceVersion).toBe('paid');
  });
});
