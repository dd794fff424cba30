import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable, isCompact } from '../../warehouse/index.js';
import { planSlices, presortedOrder } from '../../warehouse/compact.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { duckQuery, factGlob, readFactText } from './duck-read.js';
import type { BillingEvent } from '../../events/model.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-wh-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let clock = Date.parse('2024-01-05T00:00:00Z');
const now = () => clock;

function load(events: BillingEvent[], n: number) {
  return {
    runId: `run-${n}`,
    source: 'stripe',
    windows: [{ startMs: Date.parse('2024-01-03T00:00:00Z') + n * 14_400_000, endMs: Date.parse('2024-01-03T04:00:00Z') + n * 14_400_000 }],
    inputs: [{ path: `stripe/f${n}.csv`, sha256: String(n).padStart(64, '0'), bytes: 1 }],
    events: streamOf(events),
    quarantine: [],
  };
}

let batchNo = 0;
async function loadBatches(table: FactTable, batches: number, per: number) {
  for (let k = 0; k < batches; k++) {
    const i = batchNo++;
    clock += 60_000;
    await table.commitIngest(load(sampleEvents({ days: ['2024-01-03', '2024-01-04'], count: per, seed: 100 + i, prefix: `b${i}-` }), i));
  }
}

describe('compaction', () => {
  it('rewrites small files into sorted target-size files with the same rows and totals, and is then a no-op', async () => {
    const wh = tmp();
    const table = await FactTable.open(wh, { now, targetFileBytes: 20_000, rowGroupRows: 100, autoCompactFileCount: 0 });
    await loadBatches(table, 5, 200);
    const rowsBefore = await readFactText(wh);
    const manifestBefore = await table.manifest('2024-01-03');
    expect(manifestBefore!.files).toHaveLength(5);

    clock += 60_000;
    const res = await table.compact(['2024-01-03', '2024-01-04']);
    expect(res.compacted.map((c) => c.day)).toEqual(['2024-01-03', '2024-01-04']);
    expect(await readFactText(wh)).toEqual(rowsBefore);
    const m = await table.manifest('2024-01-03');
    expect(m!.totals).toEqual(manifestBefore!.totals);
    expect(m!.files.length).toBeGreaterThan(1); // 500 rows at ~20 kB per file: slices of (source, event_type), big ones cut by event_ts
    // directory listing shows only the new live files
    expect(readdirSync(path.join(wh, 'fact_billing_event', 'event_day=2024-01-03')).filter((n) => n.endsWith('.parquet')).sort()).toEqual(m!.files.map((f) => f.name).sort());
    // global order across the files of the day: file i's last key <= file i+1's first key
    const files = await table.files('2024-01-03');
    const keys = [];
    for (const f of files) keys.push(await duckQuery(`SELECT billing_source || '|' || event_type || '|' || lpad(epoch_us(event_ts)::VARCHAR, 20, '0') FROM read_parquet('${f}')`));
    const flat = keys.flat().map((r) => String(r[0]));
    expect(flat).toEqual([...flat].sort());

    const again = await table.compact();
    expect(again.commitId).toBeNull();
    expect(again.unchanged).toEqual(['2024-01-03', '2024-01-04']);
    expect((await table.history()).length).toBe(6);
  });

  it('a day with one sorted file is compact; several ingest files are not', () => {
    const f = (sorted: boolean, group: string | null, bytes = 100) => ({ name: 'x', blob: 'x', rows: 1, bytes, minTs: null, maxTs: null, totals: [], sorted, group });
    const p = (files: ReturnType<typeof f>[]) => ({ table: 't', dir: 'd', files, manifestBlob: '', successBlob: null, dataVersion: 1 });
    expect(isCompact(p([f(true, null)]), 1000)).toBe(true);
    expect(isCompact(p([f(true, null), f(true, null)]), 1000)).toBe(false);
    expect(isCompact(p([f(true, 'g'), f(true, 'g')]), 1000)).toBe(true);
    expect(isCompact(p([f(true, 'g'), f(true, 'g'), f(true, null)]), 1000)).toBe(false);
    expect(isCompact(p([f(false, null)]), 1000)).toBe(false);
    expect(isCompact(p([f(true, null, 5000)]), 1000)).toBe(false);
  });

  it('ingest compacts a day automatically past the file-count threshold', async () => {
    const wh = tmp();
    const table = await FactTable.open(wh, { now, autoCompactFileCount: 2 });
    await loadBatches(table, 3, 50);
    const m = await table.manifest('2024-01-03');
    expect(m!.files).toHaveLength(1);
    expect(m!.rows).toBe(75);
    expect(m!.files[0]!.name).toMatch(/^compact-/);
    expect((await table.history()).map((h) => h.operation)).toEqual(['ingest', 'ingest', 'ingest', 'compact']);
  });
});

describe('time travel export', () => {
  it('reproduces the table as of a moment: byte-identical CSV, and later loads do not change an as-of export', async () => {
    const wh = tmp();
    const out = tmp();
    const table = await FactTable.open(wh, { now, autoCompactFileCount: 0 });
    await loadBatches(table, 2, 100);
    const jan1 = clock;
    const a = await table.export({ from: '2024-01-03', to: '2024-01-04', format: 'csv', out: path.join(out, 'a.csv') });
    expect(a).toMatchObject({ version: 2, rows: 200 });
    clock += 3_600_000;
    await loadBatches(table, 1, 100); // overwrites nothing, adds rows
    await table.compact();
    const b = await table.export({ from: '2024-01-03', to: '2024-01-04', asOfMs: jan1, format: 'csv', out: path.join(out, 'b.csv') });
    expect(b.version).toBe(2);
    expect(readFileSync(path.join(out, 'b.csv'))).toEqual(readFileSync(path.join(out, 'a.csv')));
    expect(b.sha256).toBe(a.sha256);
    const c = await table.export({ from: '2024-01-03', to: '2024-01-04', format: 'csv', out: path.join(out, 'c.csv') });
    expect(c.rows).toBe(300);
    expect(c.version).toBe(4);
    const lines = readFileSync(path.join(out, 'a.csv'), 'utf8').trimEnd().split('\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['event_id', 'seqn', 'billing_source']);
    expect(lines).toHaveLength(201);
    // money in the CSV is exact text with 9 places, timestamps ISO UTC with microseconds
    expect(lines[1]).toMatch(/,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z,2024-01-0[34],/);
    expect(lines.slice(1).every((l) => /,-?\d+\.\d{9},(USD|EUR|JPY|KWD),/.test(l))).toBe(true);
  });

  it('exports Parquet that DuckDB reads with the same rows as the table, and an empty range as a schema-only file', async () => {
    const wh = tmp();
    const out = tmp();
    const table = await FactTable.open(wh, { now });
    await loadBatches(table, 1, 120);
    const r = await table.export({ from: '2024-01-01', to: '2024-01-31', format: 'parquet', out: path.join(out, 'x.parquet') });
    expect(r.rows).toBe(120);
    const [[n, sum]] = (await duckQuery(`SELECT count(*), sum(amount)::VARCHAR FROM read_parquet('${path.join(out, 'x.parquet')}')`)) as [[bigint, string]];
    const [[n2, sum2]] = (await duckQuery(`SELECT count(*), sum(amount)::VARCHAR FROM read_parquet('${factGlob(wh)}')`)) as [[bigint, string]];
    expect([n, sum]).toEqual([n2, sum2]);
    const e = await table.export({ from: '2023-01-01', to: '2023-01-02', format: 'parquet', out: path.join(out, 'e.parquet') });
    expect(e.rows).toBe(0);
    const [[cnt]] = (await duckQuery(`SELECT count(*) FROM read_parquet('${path.join(out, 'e.parquet')}')`)) as [[bigint]];
    expect(cnt).toBe(0n);
  });

  it('rejects a reversed range naming it', async () => {
    const table = await FactTable.open(tmp());
    await expect(table.export({ from: '2024-01-05', to: '2024-01-01', format: 'csv', out: path.join(tmp(), 'x.csv') })).rejects.toThrow(/2024-01-05\.\.2024-01-01 ends before it starts/);
  });
});

describe('_SUCCESS and dimension snapshots', () => {
  it('marks a day, survives compaction, and disappears when the day gets new data', async () => {
    const wh = tmp();
    const table = await FactTable.open(wh, { now, autoCompactFileCount: 0 });
    await loadBatches(table, 2, 50);
    await table.writeSuccess('2024-01-03', { checker: 'test', rows: 50 });
    expect(await table.readSuccess('2024-01-03')).toMatchObject({ checker: 'test', day: '2024-01-03' });
    expect(readdirSync(path.join(wh, 'fact_billing_event', 'event_day=2024-01-03'))).toContain('_SUCCESS');
    await table.compact(['2024-01-03']);
    expect(await table.readSuccess('2024-01-03')).not.toBeNull();
    await loadBatches(table, 1, 50);
    expect(await table.readSuccess('2024-01-03')).toBeNull();
    expect(readdirSync(path.join(wh, 'fact_billing_event', 'event_day=2024-01-03'))).not.toContain('_SUCCESS');
    await table.writeSuccess('2024-01-04', {});
    await table.clearSuccess('2024-01-04');
    expect(await table.readSuccess('2024-01-04')).toBeNull();
  });

  it('writes dim_account snapshots by snapshot_date, replacing a re-written date', async () => {
    const wh = tmp();
    const table = await FactTable.open(wh, { now });
    await table.writeDimensionSnapshot('dim_account', '2024-01-03', [
      { account_id: 'a1', name: 'Acme', segment: 'SMB' },
      { account_id: 'a2', name: null, segment: 'ENT' },
    ]);
    await table.writeDimensionSnapshot('dim_account', '2024-01-03', [{ account_id: 'a1', name: 'Acme Inc', segment: 'SMB' }]);
    await table.writeDimensionSnapshot('dim_account', '2024-01-04', [{ account_id: 'a1', name: 'Acme Inc', segment: 'MID' }]);
    const rows = await duckQuery(`SELECT snapshot_date::VARCHAR, account_id, name, segment FROM read_parquet('${path.join(wh, 'dim_account', '*', '*.parquet')}', hive_partitioning = true) ORDER BY 1, 2`);
    expect(rows).toEqual([
      ['2024-01-03', 'a1', 'Acme Inc', 'SMB'],
      ['2024-01-04', 'a1', 'Acme Inc', 'MID'],
    ]);
    await expect(table.writeDimensionSnapshot('accounts', '2024-01-03', [])).rejects.toThrow(/dimension name "accounts" is invalid/);
    await expect(table.writeDimensionSnapshot('dim_x', '2024-01-03', [{ a: 'x' }, { a: 3 as unknown as string }])).rejects.toThrow(/row 1 field "a" is number/);
  });
});

describe('compaction without a sort when the files are already in order', () => {
  const f = (sources: string[], sorted = true) => ({ name: sources.join('+'), blob: 'x', rows: 1, bytes: 1, minTs: null, maxTs: null, totals: sources.map((s) => ({ billing_source: s, event_type: 'CHARGE', currency: 'USD', rows: 1, amount_sum: '1.000000000' })), sorted, group: null });
  it('presortedOrder: sorted files of disjoint billing_source ranges, in source order; anything else is sorted by DuckDB', () => {
    expect(presortedOrder([f(['zuora']), f(['chargebee']), f(['stripe'])])?.map((x) => x.name)).toEqual(['chargebee', 'stripe', 'zuora']);
    expect(presortedOrder([f(['stripe']), f(['chargebee', 'recurly'])])?.map((x) => x.name)).toEqual(['chargebee+recurly', 'stripe']);
    expect(presortedOrder([f(['stripe']), f(['stripe'])])).toBeNull(); // one source in two files: interleaved keys
    expect(presortedOrder([f(['chargebee', 'zuora']), f(['stripe'])])).toBeNull(); // overlapping ranges
    expect(presortedOrder([f(['stripe'], false), f(['zuora'])])).toBeNull(); // an unsorted file
    expect(presortedOrder([f([])])).toBeNull(); // no totals: cannot tell
  });

  it('a day loaded by several sources compacts into one file in the partition order, same rows and totals', async () => {
    const wh = tmp();
    const table = await FactTable.open(wh, { now, autoCompactFileCount: 0 });
    let n = 50;
    for (const source of ['zuora', 'stripe', 'chargebee']) {
      clock += 60_000;
      await table.commitIngest({ ...load(sampleEvents({ source, days: ['2024-01-03'], count: 120, seed: n }), n++), source });
    }
    // and a day where one source has two files (DuckDB sorts)
    for (const seed of [7, 8]) {
      clock += 60_000;
      await table.commitIngest({ ...load(sampleEvents({ days: ['2024-01-04'], count: 80, seed, prefix: `s${seed}-` }), n++) });
    }
    const before = await readFactText(wh);
    const totals = [(await table.manifest('2024-01-03'))!.totals, (await table.manifest('2024-01-04'))!.totals];
    clock += 60_000;
    const res = await table.compact(['2024-01-03', '2024-01-04']);
    expect(res.compacted.map((c) => [c.day, c.filesBefore, c.filesAfter])).toEqual([['2024-01-03', 3, 1], ['2024-01-04', 2, 1]]);
    expect(await readFactText(wh)).toEqual(before);
    expect([(await table.manifest('2024-01-03'))!.totals, (await table.manifest('2024-01-04'))!.totals]).toEqual(totals);
    for (const day of ['2024-01-03', '2024-01-04']) await expectPartitionOrder(table, day);
  });

  it('planSlices: files of whole (source, event_type) groups in byte order, a group larger than a file cut at its event_ts bounds', () => {
    const asked: [string, number][] = [];
    const split = (g: { source: string; type: string }, parts: number) => {
      asked.push([`${g.source}/${g.type}`, parts]);
      return [300n, 100n, 300n, 200n].slice(0, parts + 1); // unsorted, with a tie: sorted and deduplicated
    };
    const plan = planSlices(
      [
        { source: 'zuora', type: 'INVOICE', rows: 40 },
        { source: 'stripe', type: 'PAYMENT', rows: 350 },
        { source: 'chargebee', type: 'REFUND', rows: 30 },
        { source: 'chargebee', type: 'INVOICE', rows: 50 },
      ],
      100,
      split,
    );
    expect(asked).toEqual([['stripe/PAYMENT', 4]]);
    expect(plan.map((f) => f.map((s) => `${s.source}/${s.type}[${s.fromUs ?? ''},${s.toUs ?? ''})`))).toEqual([
      ['chargebee/INVOICE[,)', 'chargebee/REFUND[,)'],
      ['stripe/PAYMENT[,100)'],
      ['stripe/PAYMENT[100,200)'],
      ['stripe/PAYMENT[200,300)'],
      ['stripe/PAYMENT[300,)'], // ~88 rows: zuora's 40 would pass the 100
      ['zuora/INVOICE[,)'],
    ]);
  });

  it('a presorted day larger than the target file size streams into several files, in the partition order across them', async () => {
    const wh = tmp();
    const table = await FactTable.open(wh, { now, autoCompactFileCount: 0, targetFileBytes: 40_000 });
    let n = 70;
    for (const source of ['zuora', 'stripe', 'chargebee']) {
      clock += 60_000;
      await table.commitIngest({ ...load(sampleEvents({ source, days: ['2024-01-03'], count: 1500, seed: n }), n++), source });
    }
    const before = await readFactText(wh);
    const totals = (await table.manifest('2024-01-03'))!.totals;
    clock += 60_000;
    const res = await table.compact(['2024-01-03']);
    expect(res.compacted[0]!.filesBefore).toBe(3);
    expect(res.compacted[0]!.filesAfter).toBeGreaterThan(1);
    expect(await readFactText(wh)).toEqual(before);
    expect((await table.manifest('2024-01-03'))!.totals).toEqual(totals);
    await expectPartitionOrder(table, '2024-01-03');
  });
});

/** The rows of the day's files, file after file in manifest order, are the rows in the partition order. */
async function expectPartitionOrder(table: FactTable, day: string): Promise<void> {
  const files = await table.files(day);
  const list = files.map((f) => `'${f}'`).join(', ');
  const inFiles: unknown[][] = [];
  for (const f of files) inFiles.push(...(await duckQuery(`SELECT event_id FROM read_parquet('${f}', file_row_number = true) ORDER BY file_row_number`)));
  const sorted = await duckQuery(`SELECT event_id FROM read_parquet([${list}]) ORDER BY billing_source, event_type, event_ts, seqn, event_id`);
  expect(inFiles.length).toBeGreaterThan(100);
  expect(inFiles).toEqual(sorted);
}
