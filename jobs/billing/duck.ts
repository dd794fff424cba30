/**
 * DuckDB at the edge: views over the fact table and the billing record sets. Money leaves DuckDB only as
 * CAST(... AS VARCHAR) text, instants only as epoch_us() BIGINT — never as JS numbers.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { FatalError } from '../../events/errors.js';
import { isErrno } from './fs.js';

export const FACT_DIR = 'fact_billing_event';

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function sqlList(files: string[]): string {
  return `[${files.map(sqlString).join(', ')}]`;
}

/** Runs `fn` with a fresh in-memory DuckDB connection and closes it afterwards. */
export async function withDuck<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

export async function rows(c: DuckDBConnection, sql: string): Promise<Record<string, DuckDBValue>[]> {
  return (await c.runAndReadAll(sql)).getRowObjects();
}

/** A consistent view of the published fact table: the real directory behind the symlink, and its files. */
export interface FactSnapshot {
  /** Real path of <warehouse>/fact_billing_event at listing time (the warehouse publishes versions by symlink swap). */
  root: string | null;
  /** Data files relative to the warehouse, `fact_billing_event/event_date=YYYY-MM-DD/<name>.parquet`, sorted. */
  files: string[];
}

/**
 * Lists the published data files of the fact table. The path is resolved once, so a commit that swaps the
 * `current` version while billing reads does not mix two versions. Hidden and `_`-prefixed names are skipped.
 */
export async function listFactFiles(warehouseDir: string): Promise<FactSnapshot> {
  let root: string;
  try {
    root = await fs.realpath(path.join(warehouseDir, FACT_DIR));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { root: null, files: [] };
    throw e;
  }
  const files: string[] = [];
  for (const p of (await fs.readdir(root)).filter((n) => /^event_date=\d{4}-\d{2}-\d{2}$/.test(n)).sort()) {
    const names = await fs.readdir(path.join(root, p));
    for (const n of names.sort()) if (n.endsWith('.parquet') && !n.startsWith('.') && !n.startsWith('_')) files.push(`${FACT_DIR}/${p}/${n}`);
  }
  return { root, files };
}

const FACT_COLUMNS = `event_id VARCHAR, event_ts TIMESTAMPTZ, billing_source VARCHAR, account_id VARCHAR, subscription_id VARCHAR,
  currency VARCHAR, amount DECIMAL(38,9), mrr_delta DECIMAL(38,9), filename VARCHAR`;

/** Creates view `fact` over exactly the snapshot's files; `filename` is the path relative to the warehouse. */
export async function createFactView(c: DuckDBConnection, warehouseDir: string, snap: FactSnapshot): Promise<void> {
  if (snap.files.length === 0 || snap.root === null) {
    await c.run(`CREATE OR REPLACE TABLE fact (${FACT_COLUMNS})`);
    return;
  }
  const root = snap.root;
  const abs = snap.files.map((f) => path.join(root, f.slice(FACT_DIR.length + 1)));
  try {
    await c.run(
      `CREATE OR REPLACE VIEW fact AS
       SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(event_ts AS TIMESTAMPTZ) AS event_ts, CAST(billing_source AS VARCHAR) AS billing_source,
              CAST(account_id AS VARCHAR) AS account_id, CAST(subscription_id AS VARCHAR) AS subscription_id, CAST(currency AS VARCHAR) AS currency,
              CAST(amount AS DECIMAL(38,9)) AS amount, CAST(mrr_delta AS DECIMAL(38,9)) AS mrr_delta,
              replace(filename, ${sqlString(root + path.sep)}, ${sqlString(FACT_DIR + '/')}) AS filename
       FROM read_parquet(${sqlList(abs)}, hive_partitioning = true, filename = true, union_by_name = true)`,
    );
  } catch (e) {
    throw new FatalError(
      `cannot read the fact table under ${path.join(warehouseDir, FACT_DIR)}: ${(e as Error).message}. Billing needs columns event_id, event_ts, billing_source, account_id, subscription_id, currency, amount, mrr_delta`,
      { cause: e },
    );
  }
}

const RECORD_COLUMNS = `record_id VARCHAR, run_id VARCHAR, cycle_id VARCHAR, cycle VARCHAR, per VARCHAR, billing_source VARCHAR,
  party_id VARCHAR, period_start DATE, period_end DATE, currency VARCHAR, event_count BIGINT, amount_sum DECIMAL(38,9),
  mrr_delta_sum DECIMAL(38,9), late_event_count BIGINT, late_amount_sum DECIMAL(38,9)`;
const ASSIGNMENT_COLUMNS = `event_id VARCHAR, record_id VARCHAR, run_id VARCHAR, cycle_id VARCHAR, event_date DATE, late BOOLEAN,
  original_cycle_id VARCHAR, currency VARCHAR, amount DECIMAL(38,9)`;

/** Creates views `records` and `assignments` over the given run directories (absolute paths). */
export async function createBillingViews(c: DuckDBConnection, runDirs: string[]): Promise<void> {
  if (runDirs.length === 0) {
    await c.run(`CREATE OR REPLACE TABLE records (${RECORD_COLUMNS})`);
    await c.run(`CREATE OR REPLACE TABLE assignments (${ASSIGNMENT_COLUMNS})`);
    return;
  }
  const rec = runDirs.map((d) => path.join(d, 'records.parquet'));
  const asg = runDirs.map((d) => path.join(d, 'assignments.parquet'));
  await c.run(`CREATE OR REPLACE VIEW records AS SELECT * FROM read_parquet(${sqlList(rec)}, union_by_name = true)`);
  await c.run(`CREATE OR REPLACE VIEW assignments AS SELECT * FROM read_parquet(${sqlList(asg)}, union_by_name = true)`);
}

export function text(v: DuckDBValue): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function big(v: DuckDBValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new Error(`expected an integer from DuckDB, got ${String(v)}`);
}
