/**
 * The Iceberg view is part of the commit: a writer killed (SIGKILL) between the commit point and the end of
 * the Iceberg write leaves a view that still reads the previous version correctly, and the next writer's
 * recovery publishes the logged version, so icebird then reads every version exactly as DuckDB does.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { replay } from '../../warehouse/state.js';
import { serveDirectory, snaps, type StaticServer } from '../helpers/static-http.js';
import { ensureBuilt, runChild } from './child.js';
import { duckQuery } from './duck-read.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-iceberg-crash-'));
let server: StaticServer;
beforeAll(async () => {
  await ensureBuilt();
  server = await serveDirectory(root);
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const DAYS = '2024-01-31,2024-02-01';
const base = (wh: string) => ['ingest', wh, '1', '300', 'base', 'a'.repeat(64), DAYS];
const second = (wh: string) => ['ingest', wh, '2', '300', 'rec', 'b'.repeat(64), DAYS];

async function ok(args: string[], env: Record<string, string>) {
  const r = await runChild(args, env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** icebird, for every committed version: the live files of the warehouse state and DuckDB's rows from them. */
async function expectViewMatches(wh: string, location: string, lastPublished: number) {
  const table = await FactTable.open(wh, { iceberg: { location } });
  const entries = await table.core.readLog();
  const tableUrl = `${location}/iceberg/fact_billing_event`;
  expect(readFileSync(path.join(wh, 'iceberg', 'fact_billing_event', 'metadata', 'version-hint.text'), 'utf8')).toBe(String(lastPublished));
  for (let v = 1; v <= lastPublished; v++) {
    const state = replay(entries.slice(0, v));
    const blobs = [...state.partitions.values()].filter((p) => p.table === 'fact_billing_event').flatMap((p) => p.files.map((f) => f.blob)).sort();
    const metadata = await icebergMetadata({ tableUrl, metadataFileName: `v${v}.metadata.json` });
    expect(snaps(metadata).at(-1)!.summary['billing-mart.commit-id']).toBe(entries[v - 1]!.commitId);
    const live = (await icebergManifests(metadata)).flatMap((m) => m.entries.filter((e) => e.status !== 2).map((e) => e.data_file.file_path)).sort();
    expect(live).toEqual(blobs.map((b) => `${location}/${b}`));
    const rows = await icebergRead({ tableUrl, metadataFileName: `v${v}.metadata.json` });
    const duck = await duckQuery(`SELECT event_id || '|' || event_date::VARCHAR FROM read_parquet([${blobs.map((b) => `'${path.join(wh, b)}'`).join(', ')}]) ORDER BY 1`);
    expect(rows.map((r) => `${r.event_id as string}|${(r.event_date as Date).toISOString().slice(0, 10)}`).sort()).toEqual(duck.map((r) => r[0]));
  }
}

describe('a writer killed around the Iceberg publication', () => {
  for (const point of ['ingest:after-log', 'iceberg:fact_billing_event:after-manifest-list', 'iceberg:quarantine:after-manifest-list', 'publish:after-views']) {
    it(`killed at ${point}: the view reads a whole version, and recovery publishes version 2`, async () => {
      const name = point.replace(/:/g, '_');
      const wh = path.join(root, name);
      mkdirSync(wh);
      const env = { BM_TEST_ICEBERG_LOCATION: `${server.url}/${name}` };
      await ok(base(wh), env);
      const r = await runChild(second(wh), { ...env, BM_TEST_CRASH_AT: point });
      expect(r.signal).toBe('SIGKILL');
      // the commit is logged; the fact view still names the previous version, or this one once its own publication
      // finished (each Iceberg table moves on its own version-hint.text; the quarantine table is published after it)
      const published = point === 'publish:after-views' || point.startsWith('iceberg:quarantine:') ? 2 : 1;
      await expectViewMatches(wh, env.BM_TEST_ICEBERG_LOCATION, published);
      const before = published === 2 ? readFileSync(path.join(wh, 'iceberg', 'fact_billing_event', 'metadata', 'v2.metadata.json')) : null;
      // the rerun recovers (publishing version 2), then finds its load already committed
      const again = await ok(second(wh), env);
      expect(again.skipped).toBe(true);
      await expectViewMatches(wh, env.BM_TEST_ICEBERG_LOCATION, 2);
      // publishing is deterministic: recovery rewrote the same bytes
      if (before) expect(readFileSync(path.join(wh, 'iceberg', 'fact_billing_event', 'metadata', 'v2.metadata.json')).equals(before)).toBe(true);
      expect(existsSync(path.join(wh, 'iceberg', 'quarantine', 'metadata', 'v2.metadata.json'))).toBe(true);
    });
  }

  it('a compaction killed after its commit point is published by the next writer', async () => {
    const wh = path.join(root, 'compact');
    mkdirSync(wh);
    const env = { BM_TEST_ICEBERG_LOCATION: `${server.url}/compact` };
    await ok(base(wh), env);
    await ok(second(wh), env);
    const r = await runChild(['compact', wh, '4096'], { ...env, BM_TEST_CRASH_AT: 'compact:after-log' });
    expect(r.signal).toBe('SIGKILL');
    await expectViewMatches(wh, env.BM_TEST_ICEBERG_LOCATION, 2);
    await ok(['compact', wh, '4096'], env);
    await expectViewMatches(wh, env.BM_TEST_ICEBERG_LOCATION, 3);
    const meta = await icebergMetadata({ tableUrl: `${env.BM_TEST_ICEBERG_LOCATION}/iceberg/fact_billing_event` });
    expect(snaps(meta).at(-1)!.summary.operation).toBe('replace');
  });
});
