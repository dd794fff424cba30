/**
 * DuckDB's external file cache is off in every instance we start (warehouse/duck.ts INSTANCE_SETTINGS): with it on
 * (DuckDB's default), the blocks read from each Parquet file stayed in the process's shared instance, keyed by
 * path, after the file was deleted, so a long backfill's process grew with every commit's new files (~0.5 MB a run;
 * docs/bench.md). This asserts what the instance holds, not the RSS: after reading many distinct files (and deleting
 * them, as a commit's scratch is deleted) nothing of them is cached.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryAll, sqlString, withDuck, withSharedDuck } from '../../warehouse/duck.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Writes, reads back and deletes `n` distinct Parquet files; returns what DuckDB's external file cache then holds. */
async function readManyFiles(conn: DuckDBConnection, dir: string, n: number): Promise<{ rows: bigint; cached: number }> {
  let rows = 0n;
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `f${i}.parquet`);
    await conn.run(`COPY (SELECT range AS a, md5((range + ${i})::VARCHAR) AS b FROM range(2000)) TO ${sqlString(f)} (FORMAT PARQUET)`);
    const [[c]] = (await queryAll(conn, `SELECT count(*)::BIGINT FROM read_parquet(${sqlString(f)}) WHERE b IS NOT NULL`)) as [[bigint]];
    rows += c;
    rmSync(f);
  }
  const [[cached]] = (await queryAll(conn, 'SELECT count(*)::BIGINT FROM duckdb_external_file_cache()')) as [[bigint]];
  return { rows, cached: Number(cached) };
}

describe('DuckDB instances keep nothing of the files they read', () => {
  it('the shared instance (a backfill process lives on it): 40 files read and deleted, 0 blocks cached', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-filecache-'));
    dirs.push(dir);
    const r = await withSharedDuck(path.join(dir, 'spill'), { memoryLimit: '256MB', threads: 1 }, (conn) => readManyFiles(conn, dir, 40));
    expect(r.rows).toBe(80_000n);
    expect(r.cached).toBe(0);
    const [[setting]] = (await withSharedDuck(path.join(dir, 'spill'), { memoryLimit: '256MB', threads: 1 }, (conn) => queryAll(conn, "SELECT current_setting('enable_external_file_cache')"))) as [[boolean]];
    expect(setting).toBe(false);
  });

  it('a per-call instance too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-filecache-'));
    dirs.push(dir);
    const r = await withDuck((conn) => readManyFiles(conn, dir, 10));
    expect(r.rows).toBe(20_000n);
    expect(r.cached).toBe(0);
  });
});
