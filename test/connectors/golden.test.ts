/**
 * Golden tests of every built-in mapping on REAL public records (test/fixtures/<source>/, see PROVENANCE.md there):
 * Zuora (Fivetran tables, Data Query JSON), Stripe (Fivetran tables and API objects), Chargebee (API records),
 * Recurly (Fivetran connector tables). The expected events, with their literal event_ids, the quarantine and the
 * skipped records are in test/fixtures/golden/<source>.json; every field of every event is compared.
 *
 * After an intended mapping change, rewrite them with `BM_UPDATE_GOLDEN=1 npx vitest run test/connectors/golden.test.ts`
 * and review the diff: it is the change's effect on real data.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BillingEvent } from '../../events/model.js';
import { skippedTotal } from '../../connectors/index.js';
import { connectorConfig, FIXTURES, landFixtures, readAll, tempDir, type ReadResult } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const iso = (us: bigint) => new Date(Number(us / 1000n)).toISOString().replace('.000Z', 'Z') + (us % 1000n ? `+${us % 1000n}us` : '');

function eventRow(e: BillingEvent) {
  return {
    event_id: e.eventId,
    event_type: e.eventType,
    object: e.sourceObjectType,
    record_id: e.sourceRecordId,
    version: e.sourceVersion,
    seqn: e.seqn.toString(),
    event_ts: iso(e.eventTs),
    event_date: e.eventDate,
    precision: e.tsPrecision,
    flags: [e.tsTruncated && 'truncated', e.tsAmbiguous && 'ambiguous', e.tsNonexistent && 'nonexistent'].filter(Boolean).join(',') || null,
    source_ts: e.sourceTsRaw,
    source_tz: e.sourceTimezone,
    source_local_date: e.sourceLocalDate,
    amount: e.amount.toFixed(),
    currency: e.amount.currency,
    account: e.accountId,
    subscription: e.subscriptionId,
    invoice: e.invoiceId,
    product: e.productId,
    at: `${path.basename(e.lineage.sourceFile)}:${e.lineage.sourcePosition}`,
  };
}

function golden(r: ReadResult) {
  const events = r.events.map(eventRow).sort((a, b) => a.at.localeCompare(b.at, 'en', { numeric: true }) || a.event_id.localeCompare(b.event_id));
  const quarantine = r.quarantine.map((q) => `${path.basename(q.sourceFile)}:${q.sourcePosition} ${q.reason} ${q.field ?? '-'}`).sort();
  return { records: r.stats.records, mapped: r.stats.mapped, quarantined: r.stats.quarantined, skipped: r.stats.skipped, events, quarantine };
}

async function land(source: string): Promise<ReadResult> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  landFixtures(t.dir, source);
  return readAll(connectorConfig(t.dir), source);
}

describe.each(['zuora', 'stripe', 'chargebee', 'recurly'])('%s: golden events on real exports', (source) => {
  it('maps every record exactly as recorded in test/fixtures/golden (literal event_ids, amounts, instants)', async () => {
    const r = await land(source);
    const got = golden(r);
    expect(got.mapped + got.quarantined + skippedTotal(r.stats)).toBe(got.records);
    const file = path.join(FIXTURES, 'golden', `${source}.json`);
    if (process.env.BM_UPDATE_GOLDEN === '1') {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(got, null, 1) + '\n');
    }
    expect(existsSync(file), `${file} is missing: run with BM_UPDATE_GOLDEN=1 and review it`).toBe(true);
    expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });
});

describe('recurly (Fivetran connector tables): what the golden file pins, spelled out', () => {
  it('skips card verifications by rule, maps a voided purchase to a processed payment and its declared void', async () => {
    const r = await land('recurly');
    expect(r.stats.skipped).toEqual({ 'transaction.card_verification': 3, 'plan_history.plan_catalog': 2, 'account_history.(repeated version)': 1 });
    expect(r.quarantine).toEqual([]);
    const voided = r.events.filter((e) => e.sourceRecordId === '660f729d818a9cbf075a293c613ec979').map((e) => `${e.eventType} ${e.amount.toFixed()} ${iso(e.eventTs)}`);
    expect(voided.sort()).toEqual(['PAYMENT_PROCESSED 100.000000000 2019-03-18T11:14:35Z', 'PAYMENT_VOIDED -100.000000000 2019-03-18T11:15:35Z']);
  });

  it('reads naive datetimes as UTC and decimal major units exactly; one renewal per new billing period', async () => {
    const r = await land('recurly');
    const inv = r.events.find((e) => e.sourceRecordId === 'eafb2d1555e2841c963c0a17bf020970' && e.eventType === 'INVOICE_POSTED')!;
    expect(inv.amount.toString()).toBe('99 USD');
    expect(iso(inv.eventTs)).toBe('2015-04-11T08:21:00Z');
    expect(inv.sourceTimezone).toBe('UTC');
    const renewals = r.events.filter((e) => e.eventType === 'SUBSCRIPTION_RENEWED').map((e) => `${e.sourceRecordId} ${e.sourceTsRaw}`).sort();
    expect(renewals).toEqual(['2900cfb1daef789cc21ea100ff6af6e9 2022-07-11 08:20:38', '2900cfb1daef789cc21ea100ff6af6e9 2022-08-11 08:20:38', 'bcd3f1f36bd98895b5336e067049364b 2022-07-20 09:31:52']);
    // the two versions of account 51bccf87… give one ACCOUNT_CREATED, from the earlier version
    const acct = r.events.filter((e) => e.eventType === 'ACCOUNT_CREATED' && e.sourceRecordId === '51bccf87e2571558b3da93688e17469f');
    expect(acct.map((e) => e.sourceVersion)).toEqual(['2022-07-11 08:23:42']);
  });
});
