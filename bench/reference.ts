/** The DuckDB reference run (I/O part): list the landing files of the range, run the COPY, count what it wrote. */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { dayRange } from '../partitions/index.js';
import { fileMatches, REFERENCE_OBJECTS, referenceCopySql, sqlString, type RefObject } from './reference-sql.js';

export interface ReferenceResult {
  seconds: number;
  rows: number;
  /** Rows whose timestamp could not be parsed (event_date NULL). */
  rowsWithoutTs: number;
  files: number;
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The files of each object under <landing>/<source>/<day>/<HH>/ for the days of the range (what a backfill reads). */
export function referenceInputs(landing: string, from: string, to: string, objects: readonly RefObject[] = REFERENCE_OBJECTS): { object: RefObject; files: string[] }[] {
  const out = objects.map((object) => ({ object, files: [] as string[] }));
  for (const source of new Set(objects.map((o) => o.source))) {
    for (const day of dayRange(from, to)) {
      const dayDir = path.join(landing, source, day);
      for (const hh of listOrEmpty(dayDir)) {
        if (!/^\d{2}$/.test(hh)) continue;
        for (const name of listOrEmpty(path.join(dayDir, hh))) {
          const part = out.find((p) => p.object.source === source && fileMatches(p.object, name));
          if (part) part.files.push(path.join(dayDir, hh, name));
        }
      }
    }
  }
  return out;
}

export async function runReference(o: { landing: string; from: string; to: string; outDir: string; threads: number; memoryLimit: string }): Promise<ReferenceResult> {
  rmSync(o.outDir, { recursive: true, force: true });
  mkdirSync(path.dirname(o.outDir), { recursive: true });
  const parts = referenceInputs(o.landing, o.from, o.to);
  const sql = referenceCopySql(parts, o.outDir);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`SET threads = ${Math.max(1, Math.trunc(o.threads))}`);
    await conn.run(`SET memory_limit = ${sqlString(o.memoryLimit)}`);
    await conn.run(`SET TimeZone = 'UTC'`);
    await conn.run('SET preserve_insertion_order = false');
    const t0 = performance.now();
    await conn.run(sql);
    const seconds = (performance.now() - t0) / 1000;
    const reader = await conn.runAndReadAll(
      `SELECT count(*)::BIGINT, count(*) FILTER (WHERE event_date IS NULL)::BIGINT FROM read_parquet(${sqlString(path.join(o.outDir, '**', '*.parquet'))}, hive_partitioning = true)`,
    );
    const [rows, noTs] = reader.getRows()[0]!;
    return { seconds, rows: Number(rows), rowsWithoutTs: Number(noTs), files: parts.reduce((n, p) => n + p.files.length, 0) };
  } catch (e) {
    throw new Error(`the DuckDB reference failed on the landing zone ${o.landing}: ${(e as Error).message}`, { cause: e });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
