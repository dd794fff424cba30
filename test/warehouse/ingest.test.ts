import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { sampleEvent, sampleEvents, sampleQuarantine, streamOf } from '../helpers/sample-events.js';
import { duckQuery, factGlob, readFactText } from './duck-read.js';
import type { BillingEvent } from '../../events/model.js';
import { unscaledToText } from '../../events/money.js';

const dirs: string[] = [];
function tmpWarehouse(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-wh-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const W = { startMs: Date.parse('2024-01-03T00:00:00Z'), endMs: Date.parse('2024-01-03T04:00:00Z') };

function load(events: BillingEvent[], over: { runId?: string; sha?: string; quarantine?: ReturnType<typeof sampleQuarantine>[] } = {}) {
  return {
    runId: over.runId ?? 'run-1',
    source: 'stripe',
    windows: [W],
    inputs: [{ path: 'stripe/2024-01-03/00/export.csv', sha256: over.sha ?? 'a'.repeat(64), bytes: 100 }],
    events: streamOf(events),
    quarantine: over.quarantine ?? [],
  };
}

function expectedSum(events: BillingEvent[], currency: string): string {
  let s = 0n;
  for (const e of events) if (e.amount.currency === currency) s += e.amount.toUnscaled();
  return unscaledToText(s);
}

describe('ingest → DuckDB over the Hive layout', () => {
  it('writes days of events that DuckDB reads back with the declared types, same rows and exact sums', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh, { now: () => Date.parse('2024-01-04T01:00:00Z') });
    const events = sampleEvents({ days: ['2024-01-02', '2024-01-03', '2024-01-04'], count: 600, seed: 7 });
    const res = await table.commitIngest(load(events));
    expect(res).toMatchObject({ skipped: false, rowsIn: 600, rowsWritten: 600, duplicatesInBatch: 0, duplicatesExisting: 0, filesAdded: 3, version: 1 });
    expect(res.partitions).toEqual(['2024-01-02', '2024-01-03', '2024-01-04']);

    const types = await duckQuery(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${factGlob(wh)}', hive_partitioning = true))`);
    const t = Object.fromEntries(types.map((r) => [r[0], r[1]]));
    expect(t).toMatchObject({
      amount: 'DECIMAL(38,9)', mrr_delta: 'DECIMAL(38,9)', event_ts: 'TIMESTAMP WITH TIME ZONE', event_date: 'DATE', source_local_date: 'DATE',
      seqn: 'BIGINT', source_position: 'BIGINT', ts_truncated: 'BOOLEAN', ts_ambiguous: 'BOOLEAN', ts_nonexistent: 'BOOLEAN', event_id: 'VARCHAR',
    });
    expect(Object.values(t).some((v) => /FLOAT|DOUBLE/.test(String(v)))).toBe(false);

    for (const cur of ['USD', 'EUR', 'JPY', 'KWD']) {
      const [[sum]] = (await duckQuery(`SELECT sum(amount)::VARCHAR FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) WHERE currency = '${cur}'`)) as [[string]];
      expect(sum).toBe(expectedSum(events, cur));
    }
    const want = events.map((e) => e.eventId).sort();
    const got = (await duckQuery(`SELECT event_id FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) ORDER BY 1`)).map((r) => r[0]);
    expect(got).toEqual(want);
    // the hive key and the stored column agree, and every row sits in the partition of its UTC day
    const [[bad]] = (await duckQuery(`SELECT count(*) FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) WHERE event_date <> CAST(event_ts AT TIME ZONE 'UTC' AS DATE)`)) as [[bigint]];
    expect(Number(bad)).toBe(0);
  });

  it('sorts rows inside a day by (billing_source, event_type, event_ts, seqn)', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    const events = sampleEvents({ days: ['2024-01-03'], count: 300, seed: 3 }).reverse();
    await table.commitIngest(load(events));
    const [file] = await table.files('2024-01-03');
    const rows = await duckQuery(`SELECT billing_source, event_type, epoch_us(event_ts), seqn FROM read_parquet('${file}')`);
    const sorted = [...rows].sort((a, b) => (String(a[1]) < String(b[1]) ? -1 : String(a[1]) > String(b[1]) ? 1 : Number(BigInt(a[2] as bigint) - BigInt(b[2] as bigint))));
    expect(rows).toEqual(sorted);
  });

  it('re-running the same load leaves one copy of every event; a new load with overlapping events adds only new ids', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    const events = sampleEvents({ days: ['2024-01-03'], count: 200, seed: 1 });
    await table.commitIngest(load(events));
    const before = await readFactText(wh);
    const again = await table.commitIngest(load(events, { runId: 'run-2' }));
    expect(again.skipped).toBe(true);
    expect(await readFactText(wh)).toEqual(before);

    // different input file (late file) containing 50 old + 25 new events
    const more = [...events.slice(0, 50), ...sampleEvents({ days: ['2024-01-03'], count: 25, seed: 9, prefix: 'late' })];
    const res = await table.commitIngest(load(more, { runId: 'run-3', sha: 'b'.repeat(64) }));
    expect(res).toMatchObject({ skipped: false, rowsIn: 75, duplicatesExisting: 50, rowsWritten: 25 });
    const after = await readFactText(wh);
    expect(after.length).toBe(225);
    expect(new Set(after.map((l) => l.split('|')[0])).size).toBe(225);
    expect((await table.loadedWindows('stripe')).has('2024-01-03T00:00Z/2024-01-03T04:00Z')).toBe(true);
    expect([...(await table.committedInputs('stripe'))].sort()).toEqual([`stripe/2024-01-03/00/export.csv@${'a'.repeat(64)}`, `stripe/2024-01-03/00/export.csv@${'b'.repeat(64)}`]);
  });

  it('keeps the highest seqn of duplicates inside a batch, whatever their order, and counts them', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    const a = sampleEvent({ recordId: 'in_9', seqn: 5n, amount: '5.00' });
    const b = sampleEvent({ recordId: 'in_9', seqn: 9n, amount: '9.00' });
    const c = sampleEvent({ recordId: 'in_9', seqn: 7n, amount: '7.00' });
    const res = await table.commitIngest(load([a, b, c]));
    expect(res).toMatchObject({ rowsIn: 3, rowsWritten: 1, duplicatesInBatch: 2 });
    const rows = await duckQuery(`SELECT seqn, amount::VARCHAR FROM read_parquet('${factGlob(wh)}')`);
    expect(rows).toEqual([[9n, '9.000000000']]);
  });

  it('writes the manifest with live files and exact control totals per (source, type, currency)', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    const events = sampleEvents({ days: ['2024-01-03'], count: 150, seed: 4 });
    await table.commitIngest(load(events));
    const m = await table.manifest('2024-01-03');
    expect(m!.rows).toBe(150);
    expect(m!.files).toHaveLength(1);
    const onDisk = JSON.parse(readFileSync(path.join(wh, 'fact_billing_event', 'event_day=2024-01-03', '_manifest.json'), 'utf8'));
    expect(onDisk).toEqual(m);
    const duck = await duckQuery(`SELECT billing_source, event_type, currency, count(*)::INTEGER, sum(amount)::VARCHAR FROM read_parquet('${factGlob(wh)}') GROUP BY ALL ORDER BY ALL`);
    expect(m!.totals.map((t) => [t.billing_source, t.event_type, t.currency, t.rows, t.amount_sum])).toEqual(duck);
    expect(readdirSync(path.join(wh, 'fact_billing_event', 'event_day=2024-01-03')).sort()).toEqual(['_manifest.json', m!.files[0]!.name]);
    expect(await table.manifest('2024-01-09')).toBeNull();
  });

  it('stores quarantine entries (with their commit) and events the table cannot hold', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh, { now: () => Date.parse('2024-01-04T01:00:00Z') });
    const wrongSource = sampleEvent({ source: 'zuora', recordId: 'z1' });
    const res = await table.commitIngest(load([sampleEvent(), wrongSource], { quarantine: [sampleQuarantine()] }));
    expect(res).toMatchObject({ rowsWritten: 1, quarantined: 2 });
    const q = await duckQuery(`SELECT reason, source_file, source_position, commit_version, ingest_date::VARCHAR, message FROM read_parquet('${path.join(wh, 'quarantine', '*', '*.parquet')}', hive_partitioning = true) ORDER BY reason`);
    expect(q[0]!.slice(0, 5)).toEqual(['BAD_AMOUNT', 'stripe/2024-01-03/04/export.csv', 7n, 1n, '2024-01-04']);
    expect(q[1]![0]).toBe('BAD_VALUE');
    expect(String(q[1]![5])).toMatch(/from source zuora/);
  });

  it('spills sorted runs for a large batch and still writes one sorted, de-duplicated file per day', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh, { spillRows: 100, rowGroupRows: 64 });
    const events = sampleEvents({ days: ['2024-01-03', '2024-01-04'], count: 500, seed: 11 });
    const dup = sampleEvent({ recordId: 'rec3', ts: '2024-01-04T10:00:00Z', seqn: 999n, amount: '1.00', sourcePosition: 9999 });
    const res = await table.commitIngest(load([...events, dup]));
    expect(res).toMatchObject({ rowsIn: 501, rowsWritten: 500, duplicatesInBatch: 1, filesAdded: 2 });
    const rows = await duckQuery(`SELECT seqn FROM read_parquet('${factGlob(wh)}') WHERE event_id = '${dup.eventId}'`);
    expect(rows).toEqual([[999n]]);
    expect((await readFactText(wh)).length).toBe(500);
  });

  it('stores awkward text and extreme money exactly (CSV staging: commas, quotes, newlines, unicode, empty vs null)', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    const text = ['a,b', 'say "hi"', 'line1\nline2\r\n', 'é ü 😀 中文', '', ' padded '];
    const events = text.map((name, i) =>
      sampleEvent({ recordId: `w${i}`, seqn: BigInt(i), sourcePosition: i + 1, amount: ['-0.5', '99999999999999999999999999999.999999999', '-99999999999999999999999999999.999999999', '0.000000001', '-0.000000001', '0'][i], mrrDelta: i % 2 ? null : '-12.345', dims: { accountName: name, accountSegment: null, accountCountry: '', productName: 'P', planName: null, dimStatus: 'OK' } }),
    );
    const res = await table.commitIngest(load(events));
    expect(res).toMatchObject({ rowsWritten: 6, quarantined: 0 });
    const rows = await duckQuery(`SELECT source_record_id, account_name, account_segment IS NULL, account_country, amount::VARCHAR, mrr_delta::VARCHAR FROM read_parquet('${factGlob(wh)}') ORDER BY seqn`);
    expect(rows).toEqual([
      ['w0', 'a,b', true, '', '-0.500000000', '-12.345000000'],
      ['w1', 'say "hi"', true, '', '99999999999999999999999999999.999999999', null],
      ['w2', 'line1\nline2\r\n', true, '', '-99999999999999999999999999999.999999999', '-12.345000000'],
      ['w3', 'é ü 😀 中文', true, '', '0.000000001', null],
      ['w4', '', true, '', '-0.000000001', '-12.345000000'],
      ['w5', ' padded ', true, '', '0.000000000', null],
    ]);
    const m = await table.manifest('2024-01-03');
    expect(m!.totals).toEqual([{ billing_source: 'stripe', event_type: 'INVOICE_PAID', currency: 'USD', rows: 6, amount_sum: '-0.500000000' }]);
  });
});
