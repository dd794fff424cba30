/**
 * The Recurly built-in is configuration only: its definition is the YAML a user would write
 * (test/fixtures/recurly/recurly.yaml), loadable from a file of its own, and it loads Fivetran's Recurly connector
 * tables end to end from a landing zone (CSV and gzip). The events themselves are pinned in golden.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { RECURLY, RECURLY_YAML } from '../../config/builtin/recurly.js';
import { loadSourceFile, openSource, skippedTotal } from '../../connectors/index.js';
import { byType, countRecords, FIXTURES, landFixtures, NOW, recordsWithEvents, tempDir, WINDOW } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
const YAML_FILE = path.join(FIXTURES, 'recurly', 'recurly.yaml');
const TABLES = ['account_history', 'credit_payment_history', 'invoice_history', 'line_item_history', 'plan_history', 'subscription_change_history', 'subscription_history', 'transaction'];

describe('Recurly built-in: Fivetran connector tables, configuration only', () => {
  it('the embedded definition is exactly the YAML a user writes, with one object per Fivetran table', async () => {
    expect(RECURLY_YAML).toBe(readFileSync(YAML_FILE, 'utf8'));
    expect(RECURLY).toEqual(YAML.parse(readFileSync(YAML_FILE, 'utf8')));
    const [src] = await loadSourceFile(YAML_FILE);
    expect(src!.objects.map((o) => o.object).sort()).toEqual(TABLES);
    expect(src!.timezone).toBe('UTC');
    expect(src!.objects.filter((o) => o.history).map((o) => o.object).sort()).toEqual(TABLES.filter((t) => t.endsWith('_history')));
  });

  it('loads the tables from a landing zone (one gzipped) through a user config that defines it in a file of its own', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    writeFileSync(path.join(t.dir, 'recurly-eu.yaml'), RECURLY_YAML.replace('name: recurly', 'name: recurly_eu'));
    const cfgFile = path.join(t.dir, 'billing-mart.yaml');
    writeFileSync(cfgFile, YAML.stringify({ landing: './landing', warehouse: './wh', pickup: { mode: 'marker', quietSeconds: 60 }, builtins: 'none', sources: [{ include: 'recurly-eu.yaml' }] }));
    const config = loadConfig({ configFile: cfgFile, env: {} });
    expect(config.sources.map((s) => s.name)).toEqual(['recurly_eu']);
    landFixtures(path.join(config.landing), 'recurly', { gzip: ['subscription_history.csv'] });
    // the fixture folder is named after the built-in; the landing folder after the source
    const { renameSync } = await import('node:fs');
    renameSync(path.join(config.landing, 'recurly'), path.join(config.landing, 'recurly_eu'));

    const batch = await openSource(config, 'recurly_eu').read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'r1' });
    expect(batch.inputs.map((i) => path.basename(i.path)).sort()).toEqual(TABLES.map((x) => (x === 'subscription_history' ? `${x}.csv.gz` : `${x}.csv`)).sort());
    const events = [];
    for await (const e of batch.events) events.push(e);
    expect(batch.unrecognised).toEqual([]);
    const input = TABLES.reduce((n, f) => n + countRecords(path.join(FIXTURES, 'recurly', `${f}.csv`)), 0);
    expect(batch.stats.records).toBe(input);
    expect(recordsWithEvents(events)).toBe(batch.stats.mapped);
    expect(batch.stats.mapped + batch.quarantine.length + skippedTotal(batch.stats)).toBe(input);
    expect(byType(events)).toEqual({
      ACCOUNT_CREATED: 4,
      CREDIT_BALANCE_DECREASED: 3,
      CREDIT_PAYMENT_VOIDED: 5,
      INVOICE_ITEM_ADJUSTED: 1,
      INVOICE_ITEM_CHARGED: 4,
      INVOICE_PAID: 5,
      INVOICE_POSTED: 5,
      PAYMENT_APPLIED: 2,
      PAYMENT_PROCESSED: 2,
      PAYMENT_VOIDED: 1,
      SUBSCRIPTION_AMENDED: 5,
      SUBSCRIPTION_CANCELLED: 2,
      SUBSCRIPTION_CREATED: 4,
      SUBSCRIPTION_RENEWED: 3,
    });
    expect(events.every((e) => e.billingSource === 'recurly_eu')).toBe(true);
  });

  it('quarantines, with reason and field, what a broken export gives it', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const config = { landing: t.dir, pickup: { mode: 'marker' as const, quietSeconds: 60 }, sources: [RECURLY] };
    const d = path.join(t.dir, 'recurly', '2024-01-03', '00');
    landFixtures(t.dir, 'recurly', { only: ['transaction.csv'] });
    const lines = readFileSync(path.join(FIXTURES, 'recurly', 'transaction.csv'), 'utf8').split('\n');
    const bad = [
      lines[0],
      lines[4]!.replace(',purchase,recurring,USD,5.0,', ',purchase,recurring,USD,5.001,'), // more decimals than a Recurly amount has
      lines[4]!.replace(',purchase,recurring,USD,5.0,success,', ',purchase,recurring,USD,5.0,processing,'), // not final yet
      lines[4]!.replace('2015-02-11 08:19:59,,2015-02-11', '2015-02-30 08:19:59,,2015-02-11'),
    ].join('\n');
    writeFileSync(path.join(d, 'transaction.csv'), bad + '\n');
    const batch = await openSource(config, 'recurly').read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'r1' });
    for await (const _ of batch.events) void _;
    expect(batch.quarantine.map((q) => `${q.sourcePosition}:${q.reason}:${q.field}`)).toEqual(['2:AMOUNT_OUT_OF_RANGE:amount', '3:UNKNOWN_EVENT_TYPE:type,status', '4:BAD_TIMESTAMP:created_at']);
  });
});
