/**
 * The cost of a commit does not grow with the table's age (issue 11, "State in constant reads"; GUIDE: "cost per
 * commit must not grow with the table's age"). Never a timing: the test counts the work a commit does through
 * the storage seam (links and symlinks made, entries removed, directories renamed, bytes written and read) and
 * compares the same commit made on a young table and on one with many more partitions and versions.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { QuarantineEntry } from '../../events/model.js';
import { FactTable } from '../../warehouse/index.js';
import { LocalStorage } from '../../warehouse/storage.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { duckQuery, readFactText } from './duck-read.js';
import { MERGE_AT } from '../../warehouse/tables.js';
import { bucketCopies } from '../../warehouse/buckets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Work {
  symlinks: number;
  links: number;
  removes: number;
  renames: number;
  bytesWritten: number;
  bytesRead: number;
}

/** The local disk, counting what a commit asks of it. */
class CountingStorage extends LocalStorage {
  work: Work = { symlinks: 0, links: 0, removes: 0, renames: 0, bytesWritten: 0, bytesRead: 0 };
  override async ensureSymlink(rel: string, target: string): Promise<void> {
    this.work.symlinks++;
    return super.ensureSymlink(rel, target);
  }
  override async link(from: string, to: string): Promise<void> {
    this.work.links++;
    return super.link(from, to);
  }
  override async removeTree(rel: string): Promise<void> {
    // what a removal costs: one per entry under it (a symlink or a file is one); the commit's own scratch aside
    if (!/^_store\/(tmp|prep)(\/|$)/.test(rel)) this.work.removes += countEntries(this.abs(rel));
    return super.removeTree(rel);
  }
  override async rename(from: string, to: string): Promise<void> {
    this.work.renames++;
    return super.rename(from, to);
  }
  override async writeDurable(rel: string, data: string | Uint8Array): Promise<void> {
    this.work.bytesWritten += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    return super.writeDurable(rel, data);
  }
  override async createExclusive(rel: string, data: string): Promise<boolean> {
    this.work.bytesWritten += Buffer.byteLength(data);
    return super.createExclusive(rel, data);
  }
  override async read(rel: string): Promise<Uint8Array | null> {
    const b = await super.read(rel);
    this.work.bytesRead += b?.byteLength ?? 0;
    return b;
  }
}

function countEntries(abs: string): number {
  let n = 0;
  const walk = (p: string, top: boolean) => {
    let names: string[];
    try {
      names = readdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') n++;
      else if (code !== 'ENOENT' && !top) n++;
      return;
    }
    for (const name of names) walk(path.join(p, name), false);
    n++;
  };
  walk(abs, true);
  return n;
}

/** The commits' clock: each test commit on its own UTC day unless a test says otherwise. */
let clockMs = Date.parse('2026-01-01T12:00:00Z');

async function openCounting(): Promise<{ wh: string; table: FactTable; storage: CountingStorage }> {
  const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-cost-'));
  dirs.push(wh);
  const storage = new CountingStorage(wh);
  // a checkpoint and the Iceberg snapshot list are bounded by their own settings (every N commits, K snapshots);
  // here they are kept out of the way so the figures compare the commit itself
  const table = await FactTable.open(wh, { autoCompactFileCount: 0, checkpointInterval: 100_000, iceberg: { keepSnapshots: 2 }, now: () => clockMs }, storage);
  return { wh, table, storage };
}

async function measured(storage: CountingStorage, commit: () => Promise<unknown>): Promise<Work> {
  const before = { ...storage.work };
  await commit();
  const w = storage.work;
  return { symlinks: w.symlinks - before.symlinks, links: w.links - before.links, removes: w.removes - before.removes, renames: w.renames - before.renames, bytesWritten: w.bytesWritten - before.bytesWritten, bytesRead: w.bytesRead - before.bytesRead };
}

const day = (i: number) => new Date(Date.parse('2023-01-01T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10);

function quarantined(n: number): QuarantineEntry {
  return { billingSource: 'stripe', sourceFile: `stripe/f${n}.csv`, sourcePosition: 2, field: 'amount', rawValue: 'x', reason: 'BAD_VALUE', message: 'amount "x" is not a number', rawRecord: '{"amount":"x"}', ingestRunId: `run-${n}` };
}

/** One ingest of one fact day (5 events) with one quarantined record. */
const ingestOne = (table: FactTable, n: number, d: string) =>
  table.commitIngest({
    runId: `run-${n}`,
    source: 'stripe',
    windows: [{ startMs: Date.parse(`${d}T00:00:00Z`) + (n % 6) * 14_400_000, endMs: Date.parse(`${d}T04:00:00Z`) + (n % 6) * 14_400_000 }],
    inputs: [{ path: `stripe/f${n}.csv`, sha256: String(n % 10).repeat(64), bytes: 1 }],
    events: streamOf(sampleEvents({ days: [d], count: 5, seed: n, prefix: `p${n}-` })),
    quarantine: [quarantined(n)],
  });

describe('the work of a commit does not grow with the table age', () => {
  it('the same ingest commit links, removes and writes as much on a table of 6 partitions as on one of 66', async () => {
    const { wh, table, storage } = await openCounting();
    // a daily load: each commit on the next day (its quarantine file in that day's partition)
    const ingest = async (t: FactTable, n: number, d: string) => {
      clockMs += 86_400_000;
      return ingestOne(t, n, d);
    };
    // partitions of the past: dimension snapshots (cheap commits, each a new partition of dim_account)
    const snapshot = (i: number) => table.writeDimensionSnapshot('dim_account', day(i), [{ account_id: `a${i}`, name: `n${i}` }]);
    for (let i = 0; i < 5; i++) await snapshot(i);
    await ingest(table, 0, '2024-01-01');
    await ingest(table, 1, '2024-01-02');
    const young = await measured(storage, () => ingest(table, 2, '2024-01-03'));
    for (let i = 5; i < 65; i++) await snapshot(i);
    await ingest(table, 3, '2024-01-04');
    await ingest(table, 4, '2024-01-05');
    const old = await measured(storage, () => ingest(table, 5, '2024-01-06'));
    // a version tree made by reusing the spare directory: only the changed partitions' links are made
    expect(old.symlinks).toBe(young.symlinks);
    expect(young.symlinks).toBeLessThanOrEqual(16);
    expect(old.links).toBe(young.links);
    expect(old.removes).toBe(young.removes);
    expect(old.renames).toBe(young.renames);
    // the same bytes up to the digits of larger version numbers and commit ids
    expect(Math.abs(old.bytesWritten - young.bytesWritten)).toBeLessThan(young.bytesWritten * 0.05);
    expect(Math.abs(old.bytesRead - young.bytesRead)).toBeLessThan(young.bytesRead * 0.05 + 2048);
    // and the published view is whole: every partition of the table is in the current version
    const cur = path.join(wh, 'current');
    expect(readdirSync(path.join(cur, 'dim_account'))).toHaveLength(65);
    expect(readdirSync(path.join(cur, 'fact_billing_event'))).toHaveLength(6);
    expect(readdirSync(path.join(cur, 'quarantine'))).toHaveLength(6);
    expect(await readFactText(wh)).toHaveLength(30);
  }, 120_000);

  it('a quarantine day that receives a file from every commit (a backfill in one day) keeps a bounded number of files, every row kept', async () => {
    const { wh, table, storage } = await openCounting();
    clockMs = Date.parse('2026-03-01T12:00:00Z');
    const links: number[] = [];
    for (let n = 0; n < 40; n++) {
      const w = await measured(storage, () => ingestOne(table, n, day(400 + n)));
      links.push(w.links);
      const files = (await table.tableFiles('quarantine')).files;
      // O(MERGE_AT + log n) files, never one per commit
      expect(files.length).toBeLessThanOrEqual(MERGE_AT + 6);
    }
    // the commits late in the day link no more files than those early in it (the fact day's file, the
    // quarantine day's files, their manifests)
    expect(Math.max(...links.slice(20))).toBeLessThanOrEqual(Math.max(...links.slice(0, 20)));
    expect(Math.max(...links)).toBeLessThanOrEqual(MERGE_AT + 8);
    const q = (await table.tableFiles('quarantine')).files;
    expect(new Set(q.map((f) => f.dir))).toEqual(new Set(['ingest_day=2026-03-01']));
    // every quarantined record is there once, through the published view as a reader globs it
    const rows = await duckQuery(`SELECT ingest_run_id, count(*)::INTEGER FROM read_parquet('${path.join(wh, 'quarantine', '*', '*.parquet')}') GROUP BY 1 ORDER BY 1`);
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => r[1] === 1)).toBe(true);
    expect(q.reduce((n, f) => n + f.rows, 0)).toBe(40);
  }, 180_000);

  it('the state a commit copies, the checkpoint it writes and the committed inputs a day receives are as many on a table of 3 months as on one of 36', async () => {
    const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-cost-'));
    dirs.push(wh);
    const storage = new CountingStorage(wh);
    // a checkpoint after every commit: what each one writes is what the commits since the last one changed
    const table = await FactTable.open(wh, { autoCompactFileCount: 0, checkpointInterval: 1, iceberg: { keepSnapshots: 2 }, now: () => clockMs }, storage);
    const month = (i: number) => `${2021 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
    let n = 0;
    /** One ingest of a day with 5 events from that day's landing folder (a daily load), then its checkpoint. */
    const ingest = (d: string) => {
      clockMs += 86_400_000;
      const k = n++;
      return table.commitIngest({
        runId: `run-${k}`,
        source: 'stripe',
        windows: [{ startMs: Date.parse(`${d}T00:00:00Z`), endMs: Date.parse(`${d}T04:00:00Z`) }],
        inputs: [{ path: `stripe/${d}/00/charge.csv`, sha256: String(k % 10).repeat(64), bytes: 1 }, { path: `stripe/${d}/04/charge.csv`, sha256: String(k % 7).repeat(64), bytes: 1 }],
        events: streamOf(sampleEvents({ days: [d], count: 5, seed: k, prefix: `p${k}-` })),
        quarantine: [],
      });
    };
    // bytes of the checkpoint's state (its parts; the whole document before them) and of its head (one line a part)
    const written = { state: 0, head: 0 };
    const origWrite = storage.writeDurable.bind(storage);
    storage.writeDurable = async (rel, data) => {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      if (/^_store\/checkpoints\/\d{10}\.json$/.test(rel) && (typeof data !== 'string' || !data.startsWith('{"format":1'))) written.head += bytes;
      else if (rel.startsWith('_store/checkpoints/')) written.state += bytes;
      return origWrite(rel, data);
    };
    const cost = async (d: string) => {
      const before = { copies: bucketCopies.entries, ...written };
      await ingest(d);
      return { copied: bucketCopies.entries - before.copies, state: written.state - before.state, head: written.head - before.head, inputs: (await table.committedInputs('stripe', { from: d, to: d })).size };
    };
    // the young table: days 5, 6 of months 0-2; measured: day 7 of month 2
    for (let m = 0; m < 3; m++) for (const d of ['05', '06']) await ingest(`${month(m)}-${d}`);
    const young = await cost(`${month(2)}-07`);
    // the old table: the same days of 33 months more; measured: day 7 of its last month
    for (let m = 3; m < 36; m++) for (const d of ['05', '06']) await ingest(`${month(m)}-${d}`);
    const old = await cost(`${month(35)}-07`);
    // applyCommit copies the month buckets the commit changes (the same on both), never the whole state
    expect(old.copied).toBe(young.copied);
    expect(young.copied).toBeLessThan(20);
    // the checkpoint rewrites the parts of the months the commit changed: the same bytes up to longer version numbers
    expect(young.state).toBeGreaterThan(0);
    expect(Math.abs(old.state - young.state)).toBeLessThan(young.state * 0.1);
    // its head names every part (one line each, ~100 bytes: the months of a table and of a source's loads)
    const parts = (await table.core.current()).partitions.buckets.size + 3 * 36;
    expect(old.head).toBeLessThan(120 * (parts + 3));
    // the committed inputs of the day's landing folders, not the source's 74 days of them
    expect(old.inputs).toBe(2);
    expect(young.inputs).toBe(2);
    expect((await table.committedInputs('stripe')).size).toBe(2 * 74);
    expect((await table.info()).version).toBe(74);
  }, 300_000);
});
