/**
 * The warehouse over a store without a file system (the in-memory object store): every byte goes through
 * ObjectStorage, so the same loads give the same table as on the local disk — byte-identical exports, the same
 * history and manifests — with no Hive view (no links, no symlinks), and a commit interrupted after its
 * commit point is published by the next writer.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { warehousePort } from '../../jobs/adapters.js';
import { FactTable } from '../../warehouse/index.js';
import type { WarehouseOptions } from '../../warehouse/options.js';
import { MemoryStorage } from '../helpers/memory-storage.js';
import { sampleEvents, sampleQuarantine, streamOf } from '../helpers/sample-events.js';
import { duckQuery } from './duck-read.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-object-store-'));
const stores: MemoryStorage[] = [];
afterAll(() => {
  stores.forEach((s) => s.dispose());
  rmSync(root, { recursive: true, force: true });
});

function clock() {
  let t = Date.parse('2024-02-02T00:00:00Z');
  return () => (t += 60_000);
}

const load = (table: FactTable, prefix: string, seed: number, days: string[], count: number, quarantine = 0) =>
  table.commitIngest({
    runId: `run-${prefix}`,
    source: 'stripe',
    windows: [{ startMs: Date.parse(`${days[0]}T00:00:00Z`), endMs: Date.parse(`${days[0]}T04:00:00Z`) }],
    inputs: [{ path: `stripe/${prefix}.csv`, sha256: String(seed).repeat(64).slice(0, 64), bytes: 1 }],
    events: streamOf(sampleEvents({ days, count, seed, prefix, runId: `run-${prefix}` })),
    quarantine: Array.from({ length: quarantine }, (_, i) => sampleQuarantine({ sourcePosition: i + 1 })),
  });

/** The same sequence of commits, on any store; returns what a user sees. */
async function scenario(table: FactTable, out: string) {
  await load(table, 'a', 1, ['2024-01-30', '2024-01-31'], 400, 2);
  await load(table, 'b', 2, ['2024-01-31', '2024-02-01'], 300);
  await table.writeDimensionSnapshot('dim_account', '2024-01-31', [{ account_id: 'acct_1', name: 'Acme' }]);
  await table.compact();
  await table.writeSuccess('2024-01-31', { checked: true });
  const exp = await table.export({ from: '2024-01-30', to: '2024-02-01', format: 'csv', out });
  const history = (await table.history()).map((h) => ({ ...h, commitId: '' }));
  const manifests = await Promise.all((await table.days()).map(async (d) => ((await table.manifest(d)) as { totals: unknown; rows: number }).totals));
  return { sha: createHash('sha256').update(readFileSync(out)).digest('hex'), rows: exp.rows, history, manifests };
}

describe('the warehouse on an object store (in memory)', () => {
  it('gives the same table as the local disk: byte-identical export, same history and control totals', async () => {
    const opts = (): WarehouseOptions => ({ now: clock(), autoCompactFileCount: 0, lockPollMs: 5 });
    const local = await FactTable.open(path.join(root, 'local'), opts());
    const mem = new MemoryStorage(new Map(), 'wh');
    stores.push(mem);
    const remote = await FactTable.open(path.join(root, 'never-used'), { ...opts(), iceberg: { location: 'memory://wh' } }, mem);
    const a = await scenario(local, path.join(root, 'local.csv'));
    const b = await scenario(remote, path.join(root, 'remote.csv'));
    expect(a.rows).toBeGreaterThan(500);
    expect(b).toEqual(a);
    // nothing on the local disk but DuckDB's scratch; no Hive view in the bucket
    expect(readdirSync(root).sort()).toEqual(['local', 'local.csv', 'remote.csv']);
    const tops = new Set([...mem.bucket.keys()].map((k) => k.split('/')[0]));
    expect([...tops].sort()).toEqual(['_store', 'iceberg']);
    expect(await mem.readText('_store/current')).toBe(String(a.history.length));
    expect(await mem.list('_store')).toEqual(['blobs', 'current', 'locks', 'log']);
    // the Iceberg view is in the bucket too, at the last version
    expect(await mem.readText('iceberg/fact_billing_event/metadata/version-hint.text')).toBe(String(a.history.length));
    // files(day) hands DuckDB local copies of exactly the stored objects
    const files = await remote.files('2024-01-31');
    const n = await duckQuery(`SELECT count(*)::INTEGER FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`);
    const m = await remote.manifest('2024-01-31');
    expect(n[0]![0]).toBe(m!.rows);
  });

  it('a commit interrupted after its commit point is published by the next writer on the same store', async () => {
    const bucket = new Map<string, Uint8Array>();
    const s1 = new MemoryStorage(bucket, 'crash');
    stores.push(s1);
    const first = await FactTable.open('unused', { now: clock(), autoCompactFileCount: 0, iceberg: { location: 'memory://crash' } }, s1);
    await load(first, 'a', 1, ['2024-01-30'], 50);
    const dying = await FactTable.open('unused', {
      now: clock(),
      autoCompactFileCount: 0,
      iceberg: { location: 'memory://crash' },
      faults: (p) => {
        if (p === 'ingest:after-log') throw new Error('killed');
      },
    }, s1);
    await expect(load(dying, 'b', 2, ['2024-01-30'], 50)).rejects.toThrow('killed');
    expect(await s1.readText('_store/current')).toBe('1');
    const s2 = new MemoryStorage(bucket, 'crash');
    stores.push(s2);
    const next = await FactTable.open('unused', { now: clock(), autoCompactFileCount: 0, iceberg: { location: 'memory://crash' } }, s2);
    const again = await load(next, 'b', 2, ['2024-01-30'], 50);
    expect(again.skipped).toBe(true);
    expect(await s2.readText('_store/current')).toBe('2');
    expect(await s2.readText('iceberg/fact_billing_event/metadata/version-hint.text')).toBe('2');
    expect((await next.manifest('2024-01-30'))!.rows).toBe(100);
  });

  it('the jobs read dimension snapshots and markers through the warehouse API, on any store (no paths, no globs)', async () => {
    const mem = new MemoryStorage(new Map(), 'dims');
    stores.push(mem);
    const got: unknown[] = [];
    for (const table of [await FactTable.open(path.join(root, 'dims-local'), { now: clock() }), await FactTable.open('unused', { now: clock(), iceberg: { location: 'memory://dims' } }, mem)]) {
      await table.writeDimensionSnapshot('dim_account', '2024-01-30', [{ account_id: 'acct_1', name: 'Acme', segment: null }]);
      await table.writeDimensionSnapshot('dim_account', '2024-01-31', [{ account_id: 'acct_1', name: 'Acme GmbH', segment: 'SMB' }, { account_id: 'acct_2', name: "O'Neil", segment: null }]);
      await load(table, 'a', 1, ['2024-01-31'], 20);
      await table.writeSuccess('2024-01-31', { checked: true });
      const port = warehousePort(table);
      const ff = await table.factFiles();
      const rows = await duckQuery(`SELECT count(*)::INTEGER FROM read_parquet([${ff.files.map((f) => `'${f.path}'`).join(', ')}])`);
      got.push({ dims: await port.dimensionSnapshots('dim_account'), products: await port.dimensionSnapshots('dim_product'), marked: [...(await port.markedDays())], version: ff.version, days: ff.files.map((f) => f.day), rows });
    }
    expect(got[0]).toEqual({
      dims: [
        { snapshotDate: '2024-01-30', rows: [{ account_id: 'acct_1', name: 'Acme', segment: null }] },
        { snapshotDate: '2024-01-31', rows: [{ account_id: 'acct_1', name: 'Acme GmbH', segment: 'SMB' }, { account_id: 'acct_2', name: "O'Neil", segment: null }] },
      ],
      products: [],
      marked: ['2024-01-31'],
      version: 4,
      days: ['2024-01-31'],
      rows: [[20]],
    });
    expect(got[1]).toEqual(got[0]);
  });
});
