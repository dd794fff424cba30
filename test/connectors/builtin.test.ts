/**
 * The built-in Zuora / Stripe / Chargebee / Recurly mappings on the REAL sample exports (test/fixtures/<system>/, see
 * PROVENANCE.md there), read through the public connector API from a landing zone.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSourceConfig } from '../../config/sources.js';
import { skippedTotal } from '../../connectors/index.js';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { byType, connectorConfig, countRecords, FIXTURES, landFixtures, readAll, recordsWithEvents, tempDir, type ReadResult } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function land(source: string): Promise<ReadResult> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  landFixtures(t.dir, source);
  return readAll(connectorConfig(t.dir), source);
}

function recordsPathFor(source: string, file: string): string {
  const cfg = parseSourceConfig(DEFAULT_SOURCES.find((s) => s.name === source), source);
  const obj = cfg.objects.find((o) => file.startsWith(`${o.object}-`) || file.startsWith(`${o.object}.`))!;
  const paths = Array.isArray(obj.recordsPath) ? obj.recordsPath : [obj.recordsPath];
  return source === 'stripe' ? '$' : paths[0]!; // Stripe fixtures are single API objects
}

function expectedRecordCount(source: string): number {
  return readdirSync(path.join(FIXTURES, source))
    .filter((f) => /\.(csv|jsonl|json)$/.test(f))
    .reduce((n, f) => n + countRecords(path.join(FIXTURES, source, f), recordsPathFor(source, f)), 0);
}

describe.each(['zuora', 'stripe', 'chargebee', 'recurly'])('%s built-in mapping on real sample exports', (source) => {
  it('puts every input record in exactly one place: fact rows + quarantine + skipped by rule = input records', async () => {
    const r = await land(source);
    const expected = expectedRecordCount(source);
    expect(expected).toBeGreaterThan(10);
    expect(r.stats.records).toBe(expected);
    expect(recordsWithEvents(r.events) + r.quarantine.length + skippedTotal(r.stats)).toBe(expected);
    // no record both produced events and was quarantined
    const evKeys = new Set(r.events.map((e) => `${e.lineage.sourceFile}#${e.lineage.sourcePosition}`));
    for (const q of r.quarantine) expect(evKeys.has(`${q.sourceFile}#${q.sourcePosition}`)).toBe(false);
    // an event id shared by two events always means the same source record seen twice (deduplicated downstream)
    const byId = new Map<string, string>();
    for (const e of r.events) {
      const who = `${e.eventType}|${e.sourceRecordId}`;
      if (e.sourceObjectType !== 'event') expect(byId.get(e.eventId) ?? who).toBe(who);
      byId.set(e.eventId, who);
    }
    for (const e of r.events) expect(e.billingSource).toBe(source);
  });

  it('is deterministic: reading the same files twice yields the same event ids and amounts', async () => {
    const a = await land(source);
    const b = await land(source);
    const sig = (r: ReadResult) => r.events.map((e) => `${e.eventId}|${e.amount.toFixed()}|${e.eventTs}|${e.seqn}`);
    expect(sig(b)).toEqual(sig(a));
  });
});

describe('zuora', () => {
  it('reads naive warehouse datetimes in America/Los_Angeles and keeps major-unit amounts exact', async () => {
    const r = await land('zuora');
    const inv = r.events.find((e) => e.sourceRecordId === 'dff38ac0a531a01100012160a3061ef6' && e.eventType === 'INVOICE_POSTED')!;
    expect(inv.amount.toFixed()).toBe('70.360000000');
    expect(inv.amount.currency).toBe('USD');
    expect(inv.sourceTsRaw).toBe('2016-01-15 22:30:00.000000');
    expect(new Date(Number(inv.eventTs / 1000n)).toISOString()).toBe('2016-01-16T06:30:00.000Z'); // PST = UTC-8
    expect(inv.eventDate).toBe('2016-01-16');
    expect(inv.sourceLocalDate).toBe('2016-01-15');
    expect(inv.accountId).toBe('dff38ac00240057303623f9ba5542afa');
    // seqn from updated_date (µs), version = the change marker text
    expect(inv.seqn).toBe(BigInt(Date.parse('2016-01-16T06:49:09Z')) * 1000n);
    expect(inv.sourceVersion).toBe('2016-01-15 22:49:09.000000');
  });

  it('maps usage items, JPY amounts, refunds negative and lifecycle events at amount 0 in XXX', async () => {
    const r = await land('zuora');
    const t = byType(r.events);
    expect(t.USAGE_RECORDED).toBe(6);
    expect(t.INVOICE_ITEM_CHARGED ?? 0).toBe(0);
    const usage = r.events.find((e) => e.sourceRecordId === 'dff38ac0abba719061f1e5b1eb7fbf9d')!;
    expect(usage.amount.toString()).toBe('570860 JPY');
    expect(usage.productId).toBe('dff38ac02ade9f01dbc96060cfab6cf9');
    const refund = r.events.find((e) => e.eventType === 'REFUND_PROCESSED')!;
    expect(refund.amount.toFixed()).toBe('-0.300000000');
    expect(refund.amount.currency).toBe('USD'); // tenant default: Zuora refund rows have no currency
    for (const e of r.events.filter((x) => x.eventType === 'REFUND_FAILED' || x.eventType.startsWith('SUBSCRIPTION_'))) expect(e.amount.amount.isZero()).toBe(true);
    expect(r.events.find((e) => e.eventType === 'SUBSCRIPTION_RENEWED')!.amount.currency).toBe('XXX');
  });

  it('reads Data Query JSON lines with offsets (Airbyte record messages)', async () => {
    const r = await land('zuora');
    const acct = r.events.find((e) => e.lineage.sourceFile.endsWith('account-dataquery.jsonl') && e.lineage.sourcePosition === 1)!;
    expect(acct.eventType).toBe('ACCOUNT_CREATED');
    expect(acct.sourceTsRaw).toBe('2018-05-24T13:55:42-07:00');
    expect(new Date(Number(acct.eventTs / 1000n)).toISOString()).toBe('2018-05-24T20:55:42.000Z');
    expect(acct.seqn).toBe(BigInt(Date.parse('2018-06-14T18:40:51Z')) * 1000n);
  });

  it('quarantines with reason, field and location: no currency, unmapped statuses', async () => {
    const r = await land('zuora');
    const reasons = r.quarantine.map((q) => `${path.basename(q.sourceFile)}:${q.sourcePosition}:${q.reason}:${q.field}`).sort();
    expect(reasons).toEqual([
      'refund.csv:5:UNKNOWN_EVENT_TYPE:status',
      'refund.csv:6:UNKNOWN_EVENT_TYPE:status',
      'subscription.csv:2:UNKNOWN_EVENT_TYPE:status',
      'taxation_item.csv:2:UNKNOWN_CURRENCY:transaction_currency',
    ]);
    const tax = r.quarantine.find((q) => q.reason === 'UNKNOWN_CURRENCY')!;
    expect(tax.billingSource).toBe('zuora');
    expect(tax.sourceFile).toBe('zuora/2024-01-03/00/taxation_item.csv');
    expect(JSON.parse(tax.rawRecord).id).toBe('dff38ac095012f19007b8a0942416110');
    expect(tax.ingestRunId).toBe('run-test');
  });

  it('gives every version of a subscription one SUBSCRIPTION_CREATED identity', async () => {
    const r = await land('zuora');
    const created = r.events.filter((e) => e.eventType === 'SUBSCRIPTION_CREATED');
    expect(created).toHaveLength(4);
    expect(created.every((e) => e.amount.toString() === '0 XXX')).toBe(true);
  });
});

describe('stripe', () => {
  it('reads CSV (naive UTC, lower-case currency, minor units) and API JSON (epoch seconds) alike', async () => {
    const r = await land('stripe');
    const refundCsv = r.events.find((e) => e.sourceRecordId === 're_0IMJuLig6peNXzgDSLN6dNzl')!;
    expect(refundCsv.eventType).toBe('REFUND_PROCESSED');
    expect(refundCsv.amount.toString()).toBe('-6750 USD');
    expect(new Date(Number(refundCsv.eventTs / 1000n)).toISOString()).toBe('2021-02-18T21:19:33.000Z');
    const chargeApi = r.events.find((e) => e.sourceRecordId === 'ch_1PgafuB7WZ01zgkWXYmPNZs8')!;
    expect(chargeApi.eventType).toBe('PAYMENT_PROCESSED');
    expect(chargeApi.amount.toString()).toBe('1 USD');
    expect(chargeApi.eventTs).toBe(1234567890n * 1_000_000n);
    expect(chargeApi.lineage.sourcePosition).toBe(0);
  });

  it('maps disputes (opened 0, lost negative), payouts and fees with their signs', async () => {
    const r = await land('stripe');
    const lost = r.events.filter((e) => e.eventType === 'CHARGEBACK_LOST');
    expect(lost.every((e) => e.amount.amount.isNegative())).toBe(true);
    expect(r.events.find((e) => e.sourceRecordId === 'du_0LiAl6ig6peNXzgDEejs24CE' && e.eventType === 'CHARGEBACK_LOST')!.amount.toFixed()).toBe('-4325.320000000');
    const negPayout = r.events.find((e) => e.sourceRecordId === 'po_0IE2QFig6peNXzgDCoJMX6xo')!;
    expect(negPayout.amount.toFixed()).toBe('-8336.510000000');
    const fee = r.events.find((e) => e.sourceRecordId === 'xyz_0IDYgiig6peNXzgDuNvLeoLR')!;
    expect(fee.eventType).toBe('FEE_CHARGED');
    expect(fee.amount.toFixed()).toBe('-591.900000000');
  });

  it('quarantines every shifted row of the real malformed discount_data.csv', async () => {
    const r = await land('stripe');
    const disc = r.quarantine.filter((q) => q.sourceFile.endsWith('discount.csv'));
    expect(disc).toHaveLength(10);
    expect(disc.every((q) => q.reason === 'MALFORMED_RECORD' && q.field === 'coupon_id')).toBe(true);
    expect(disc[0]!.rawValue).toBe('2022-09-19 05:50:07.000000');
    expect(disc.map((q) => q.sourcePosition)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(r.events.some((e) => e.eventType === 'DISCOUNT_APPLIED')).toBe(false);
  });
});

describe('chargebee', () => {
  it('turns the real payment_due → paid update of cbdemo_inv_003 into one posted and one new paid event', async () => {
    const r = await land('chargebee');
    const inv = r.events.filter((e) => e.sourceRecordId === 'cbdemo_inv_003');
    const posted = inv.filter((e) => e.eventType === 'INVOICE_POSTED');
    const paid = inv.filter((e) => e.eventType === 'INVOICE_PAID');
    expect(posted).toHaveLength(2); // seen twice (page + jsonl): the same identity, deduplicated downstream
    expect(posted[0]!.eventId).toBe(posted[1]!.eventId);
    expect(paid).toHaveLength(1);
    expect(paid[0]!.eventId).not.toBe(posted[0]!.eventId);
    expect(paid[0]!.sourceVersion).toBe('1674034862390');
    expect(paid[0]!.seqn).toBe(1674034862390n);
    expect(paid[0]!.amount.toString()).toBe('770 USD');
    expect(posted.map((e) => e.sourceVersion).sort()).toEqual(['1627671482463', '1674034862390']);
  });

  it('reads epoch seconds, cents and JSON inside JSON strings', async () => {
    const r = await land('chargebee');
    const failed = r.events.find((e) => e.sourceRecordId === 'txn_16CQyCTTHdwAAwZq')!;
    expect(failed.eventType).toBe('PAYMENT_FAILED');
    expect(failed.amount.toString()).toBe('0 USD');
    const ok = r.events.find((e) => e.sourceRecordId === 'txn_AzZTZgTTHbgFlKJ')!;
    expect(ok.amount.toString()).toBe('270 USD');
    expect(ok.eventTs).toBe(1674070800n * 1_000_000n);
    expect(ok.invoiceId).toBeNull();
  });

  it('gives a subscription_created event and the subscription record the same identity', async () => {
    const r = await land('chargebee');
    const fromEvents = r.events.filter((e) => e.sourceObjectType === 'event');
    expect(fromEvents).toHaveLength(3);
    expect(fromEvents.every((e) => e.eventType === 'SUBSCRIPTION_CREATED' && e.subscriptionId !== null)).toBe(true);
    const subIds = new Set(r.events.filter((e) => e.sourceObjectType === 'subscription' && e.eventType === 'SUBSCRIPTION_CREATED').map((e) => `${e.subscriptionId}:${e.eventId}`));
    const page = r.events.filter((e) => e.sourceObjectType === 'subscription' && e.lineage.sourceFile.endsWith('subscription-page.json'));
    expect(page.length).toBeGreaterThan(0);
    for (const ev of fromEvents) if ([...subIds].some((k) => k.startsWith(`${ev.subscriptionId}:`))) expect(subIds.has(`${ev.subscriptionId}:${ev.eventId}`)).toBe(true);
  });
});
