/**
 * The billing tables in the Iceberg view (billing_records, billing_assignments, mrr_state), read by the
 * independent reader icebird over HTTP from 127.0.0.1, for every warehouse version: real bill runs
 * (jobs/billing) and MRR state written by ingest commits (jobs/billing/mrr-store.ts), including the commit that
 * merges the MRR state's files (the keyed table's compaction). For each version and table icebird resolves
 * exactly the files of that version, reads exactly the rows and keys DuckDB reads from them, and the money in
 * those files, read exactly by DuckDB (icebird decodes decimals through floats), equals the warehouse's own
 * `export --table T --as-of` of that version. Partitioning and types come from warehouse/schema.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MrrObservation } from '../../events/mrr.js';
import { Money } from '../../events/money.js';
import { runBilling } from '../../jobs/billing/bill.js';
import { planMrr } from '../../jobs/billing/mrr-store.js';
import { FactTable } from '../../warehouse/index.js';
import { ICEBERG_TABLES } from '../../warehouse/iceberg/schema.js';
import { MERGE_AT } from '../../warehouse/tables.js';
import { replay, type TableState } from '../../warehouse/state.js';
import { TABLES } from '../../warehouse/schema.js';
import { sampleEvents } from '../helpers/sample-events.js';
import { serveDirectory, snaps, type StaticServer } from '../helpers/static-http.js';
import { duckQuery } from './duck-read.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-iceberg-billing-'));
const wh = path.join(root, 'wh');
let server: StaticServer;
let location: string;
let table: FactTable;
const NOW = Date.parse('2024-04-10T12:00:00Z');

/** Per table: the key of a row, its money columns (DECIMAL(38,9)). */
const TABLE_KEYS: Record<string, { key: string[]; money: string[] }> = {
  billing_records: { key: ['record_id'], money: ['amount_sum', 'mrr_delta_sum', 'late_amount_sum'] },
  billing_assignments: { key: ['event_id'], money: ['amount'] },
  mrr_state: { key: ['billing_source', 'subscription_id', 'commit_version', 'version_seq'], money: ['value', 'emitted'] },
};
const BILLING_TABLES = Object.keys(TABLE_KEYS);

beforeAll(async () => {
  server = await serveDirectory(root);
  location = `${server.url}/wh`;
  let t = Date.parse('2024-03-02T00:00:00Z');
  table = await FactTable.open(wh, { now: () => (t += 60_000), iceberg: { location }, autoCompactFileCount: 0, rowGroupRows: 64 });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const tableUrl = (tbl: string) => `${location}/iceberg/${tbl}`;
const localOf = (uri: string) => path.join(root, uri.slice(server.url.length + 1));
const list = (paths: string[]) => `[${paths.map((p) => `'${p}'`).join(', ')}]`;
const filesOf = (s: TableState, tbl: string) => [...s.partitions.values()].filter((p) => p.table === tbl).flatMap((p) => p.files.map((f) => ({ dir: p.dir, blob: f.blob })));

function observation(source: string, sub: string, seq: number, mrr: string, day: string, currency = 'USD'): MrrObservation {
  return {
    billingSource: source,
    subscriptionId: sub,
    accountId: `acct_${sub}`,
    versionSeq: BigInt(seq),
    version: String(seq),
    effectiveTs: BigInt(Date.parse(`${day}T08:00:00Z`)) * 1000n + BigInt(seq),
    mrr: Money.major(mrr, currency),
    location: { file: `${source}/${day}/00/subscriptions.json`, line: seq },
  };
}

let loads = 0;
/** One ingest commit: sample facts plus the MRR state of `observations` (planned against the committed state, as ingest does). */
async function load(source: string, days: string[], count: number, observations: MrrObservation[]): Promise<number> {
  const runId = `load-${++loads}`;
  const plan = await planMrr(table, source, observations, runId);
  const facts = count ? sampleEvents({ source, days, count, seed: loads, prefix: `r${loads}-`, runId }) : [];
  const res = await table.commitIngest({
    runId,
    source,
    windows: [],
    inputs: [{ path: `${source}/${days[0]}/00/load-${loads}.csv`, sha256: String(loads).padStart(64, '0'), bytes: 1 }],
    events: [...facts, ...plan.events],
    quarantine: [],
    tables: plan.tables,
  });
  return res.version;
}

describe('the billing tables in the Iceberg view', () => {
  const versions: { version: number; what: string }[] = [];

  beforeAll(async () => {
    const v = (version: number | undefined, what: string) => versions.push({ version: version!, what });
    v(await load('stripe', ['2024-01-10', '2024-01-20'], 40, [observation('stripe', 's1', 1, '100.10', '2024-01-10'), observation('stripe', 's2', 1, '0.000000001', '2024-01-11')]), 'ingest with MRR state (stripe)');
    v(await load('zuora', ['2024-01-15', '2024-02-03'], 30, [observation('zuora', 'z1', 1, '12345678901234567890.123456789', '2024-01-15', 'EUR')]), 'ingest with MRR state (zuora, a second partition)');
    v((await runBilling({ table, cycle: 'monthly', through: '2024-01-31', now: NOW, runId: 'bill-jan' })).version, 'bill run 1 (January)');
    v(await load('stripe', ['2024-02-10', '2024-01-25'], 30, [observation('stripe', 's1', 2, '80.05', '2024-02-10')]), 'ingest: a new MRR version, a late January event');
    v((await runBilling({ table, now: NOW, through: '2024-02-29', runId: 'bill-feb' })).version, 'bill run 2 (February, with the late event)');
    // enough MRR-only commits on stripe that the partition passes MERGE_AT files and is merged into one
    for (let i = 0; i < MERGE_AT; i++) v(await load('stripe', ['2024-03-01'], 0, [observation('stripe', `s${3 + i}`, 1, `${i + 1}.5`, '2024-03-01')]), `MRR state append ${i + 1}`);
  });

  it('every declared table is in the view, with its partitioning and types from warehouse/schema.ts', async () => {
    expect(ICEBERG_TABLES.map((d) => d.table)).toEqual([...TABLES.keys()]);
    const last = versions.at(-1)!.version;
    for (const tbl of BILLING_TABLES) {
      expect(readFileSync(path.join(wh, 'iceberg', tbl, 'metadata', 'version-hint.text'), 'utf8')).toBe(String(last));
      const meta = await icebergMetadata({ tableUrl: tableUrl(tbl) });
      expect(meta['format-version']).toBe(2);
      expect(snaps(meta).map((s) => s['snapshot-id'])).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      const fields = meta.schemas[0]!.fields;
      const def = TABLES.get(tbl)!;
      // the files' columns in order (field id = position), each with its type and nullability
      const types: Record<string, string> = { utf8: 'string', int64: 'long', bool: 'boolean', timestamp_us_utc: 'timestamptz', date: 'date', decimal38_9: 'decimal(38, 9)' };
      expect(fields.slice(0, def.columns.length).map((f) => [f.id, f.name, f.type, f.required])).toEqual(def.columns.map((c, i) => [i + 1, c.name, types[c.kind], !c.nullable]));
      const spec = meta['partition-specs'][0]!;
      const source = fields.find((f) => f.name === def.partitionKey)!;
      expect(spec.fields).toEqual([{ name: def.partitionKey, transform: 'identity', 'source-id': source.id, 'field-id': 1000 }]);
      const mapping = JSON.parse(meta.properties!['schema.name-mapping.default']!) as { 'field-id': number; names: string[] }[];
      expect(mapping.map((m) => m.names[0])).toEqual(def.columns.map((c) => c.name));
    }
    // billing's partition key `run` is the folder's name, not a column of the files: a long column filled from the partition
    const records = (await icebergMetadata({ tableUrl: tableUrl('billing_records') })).schemas[0]!.fields;
    expect(records.at(-1)).toMatchObject({ id: 10_000, name: 'run', type: 'long', required: true });
    // the MRR state is partitioned by its own column billing_source (folder source=<billing_source>)
    const mrr = (await icebergMetadata({ tableUrl: tableUrl('mrr_state') })).schemas[0]!.fields;
    expect(mrr.map((f) => f.name)).toEqual(TABLES.get('mrr_state')!.columns.map((c) => c.name));
  });

  it('for every version, icebird resolves exactly the files, rows and keys DuckDB reads, and the money is exact', async () => {
    const log = await table.core.readLog();
    const history = await table.history();
    let merged = false;
    for (const { version, what } of versions) {
      const state = replay(log.slice(0, version));
      for (const tbl of BILLING_TABLES) {
        const at = `${tbl} at v${version} (${what})`;
        const files = filesOf(state, tbl);
        const metadata = await icebergMetadata({ tableUrl: tableUrl(tbl), metadataFileName: `v${version}.metadata.json` });
        expect(metadata['current-snapshot-id'], at).toBe(version);
        const entries = (await icebergManifests(metadata)).flatMap((m) => m.entries.filter((e) => e.status !== 2));
        const live = entries.map((e) => e.data_file.file_path).sort();
        expect(live, `${at}: files`).toEqual(files.map((f) => `${location}/${f.blob}`).sort());
        // each file's identity partition value is its folder's: run=00000002 → 2, source=stripe → 'stripe'
        for (const e of entries) {
          const f = files.find((x) => `${location}/${x.blob}` === e.data_file.file_path)!;
          const folder = f.dir.slice(f.dir.indexOf('=') + 1);
          const value = (e.data_file.partition as Record<string, unknown>)[TABLES.get(tbl)!.partitionKey];
          expect(tbl === 'mrr_state' ? value : Number(value), `${at}: partition of ${f.blob}`).toBe(tbl === 'mrr_state' ? folder : Number(folder));
        }
        if (tbl === 'mrr_state' && files.some((f) => f.blob.endsWith('-merged.parquet'))) merged = true;

        const { key, money } = TABLE_KEYS[tbl]!;
        const keyOf = (r: Record<string, unknown>) => key.map((k) => String(r[k])).join('|');
        const ice = (files.length ? await icebergRead({ tableUrl: tableUrl(tbl), metadataFileName: `v${version}.metadata.json` }) : []) as Record<string, unknown>[];
        const keySql = `concat_ws('|', ${key.map((k) => `"${k}"`).join(', ')})`;
        const duck = files.length ? await duckQuery(`SELECT ${keySql}, ${money.map((m) => `"${m}"::DOUBLE`).join(', ')} FROM read_parquet(${list(files.map((f) => path.join(wh, f.blob)))}) ORDER BY 1`) : [];
        expect(ice.length, `${at}: rows`).toBe(duck.length);
        const sorted = [...ice].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
        expect(sorted.map(keyOf), `${at}: keys`).toEqual(duck.map((r) => r[0]));
        // column mapping only: icebird's decimals are floats, equal to DuckDB's double of the same value
        sorted.forEach((r, i) => money.forEach((m, j) => expect(Math.abs(Number(r[m]) - Number(duck[i]![j + 1])), `${at}: ${m}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(Number(r[m]))))));

        // money, exactly: DuckDB over the files icebird resolved (with the keyed table's newest-snapshot rule an
        // engine applies) equals the warehouse's own export of the table as of that version
        const def = TABLES.get(tbl)!;
        const latest = def.latestBy ? ` QUALIFY commit_version = max(commit_version) OVER (PARTITION BY ${def.latestBy.map((k) => `"${k}"`).join(', ')})` : '';
        const exact = live.length ? await duckQuery(`SELECT ${keySql}, ${money.map((m) => `"${m}"::VARCHAR`).join(', ')} FROM (SELECT * FROM read_parquet(${list(live.map(localOf))})${latest}) ORDER BY 1`) : [];
        const out = path.join(root, `export-${tbl}-v${version}.csv`);
        const committedAt = Date.parse(history.find((h) => h.version === version)!.committedAt);
        const exp = await table.export({ table: tbl, format: 'csv', asOfMs: committedAt, out });
        expect(exp.version, at).toBe(version);
        const [header, ...lines] = readFileSync(out, 'utf8').trimEnd().split('\n').filter((l) => l !== '');
        const cols = header!.split(',');
        // the exported columns are plain text here (ids, decimals; no quoted commas)
        const exported = lines.map((l) => l.split(',')).map((f) => [key.map((k) => f[cols.indexOf(k)]).join('|'), ...money.map((m) => f[cols.indexOf(m)])]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
        expect(exact, `${at}: exact money`).toEqual(exported);
        expect(exact.length, at).toBe(exp.rows);
      }
    }
    expect(merged).toBe(true);
  });

  it('a bill run adds one manifest per table and reuses the earlier runs\' manifests; its snapshot names the run', async () => {
    const bills = (await table.history()).filter((h) => h.operation === 'bill');
    expect(bills.map((b) => b.runId)).toEqual(['bill-jan', 'bill-feb']);
    const [jan, feb] = bills;
    const names = async (tbl: string, v: number) => (await icebergManifests(await icebergMetadata({ tableUrl: tableUrl(tbl), metadataFileName: `v${v}.metadata.json` }))).map((m) => m.url.slice(m.url.lastIndexOf('/') + 1));
    for (const tbl of ['billing_records', 'billing_assignments']) {
      expect(await names(tbl, jan!.version), tbl).toEqual([`m-00000001-v${jan!.version}.avro`]);
      expect(await names(tbl, feb!.version), tbl).toEqual([`m-00000001-v${jan!.version}.avro`, `m-00000002-v${feb!.version}.avro`]);
      const s = snaps(await icebergMetadata({ tableUrl: tableUrl(tbl) })).find((x) => x['snapshot-id'] === feb!.version)!;
      expect(s.summary['billing-mart.run-id']).toBe('bill-feb');
      expect(s.summary.operation).toBe('append');
    }
    // the MRR state: one manifest per source partition; a stripe commit leaves zuora's as it was
    const last = versions.at(-1)!.version;
    expect(await names('mrr_state', last)).toEqual([`m-stripe-v${last}.avro`, 'm-zuora-v2.avro']);
    // the commit that merged stripe's files into one: MERGE_AT files deleted, the merged one added
    const merges = snaps(await icebergMetadata({ tableUrl: tableUrl('mrr_state') })).filter((x) => Number(x.summary['deleted-data-files']) > 0);
    expect(merges.map((m) => [m.summary.operation, m.summary['deleted-data-files'], m.summary['added-data-files']])).toEqual([['overwrite', String(MERGE_AT), '1']]);
  });
});
