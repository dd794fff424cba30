/** Test-side readers: everything is checked through DuckDB over the Hive layout, as a BI user would read it. */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import path from 'node:path';

export async function duckQuery(sql: string): Promise<unknown[][]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const r = await conn.runAndReadAll(sql);
    return r.getRows().map((row) => row.map((v) => (v === null ? null : typeof v === 'object' ? String(v) : v)));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

export const factGlob = (wh: string) => path.join(wh, 'fact_billing_event', 'event_day=*', '*.parquet');

/** Every fact row as text, in a canonical order: what a reader of the Hive layout sees. */
export async function readFactText(wh: string): Promise<string[]> {
  if (!existsSync(path.join(wh, 'fact_billing_event'))) return [];
  const rows = await duckQuery(
    `SELECT concat_ws('|', event_id, seqn, billing_source, event_type, epoch_us(event_ts), event_date, amount::VARCHAR, currency, coalesce(mrr_delta::VARCHAR, 'NULL'), source_file, source_position, ingest_run_id)
     FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) ORDER BY 1`,
  ).catch((e: Error) => {
    if (/No files found/.test(e.message)) return [];
    throw e;
  });
  return rows.map((r) => String(r[0]));
}
