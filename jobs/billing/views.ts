/**
 * DuckDB views of one table version for the bill job and the billing check: `fact`, `records` and
 * `assignments` over exactly the files the warehouse state lists (warehouse API, never its paths). Money leaves
 * DuckDB only as CAST(... AS VARCHAR) text, instants only as epoch_us() BIGINT — never as JS numbers.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { FatalError } from '../../events/errors.js';
import { big, rowObjects as rows, sqlString, text, withDuck } from '../../warehouse/duck.js';
import { BILLING_ASSIGNMENTS_TABLE, BILLING_RECORDS_TABLE, FACT_TABLE, type FactTable } from '../../warehouse/index.js';

export { big, rows, sqlString, text };

/** The fact files of one table version: stored objects (what a run manifest records) and local paths. */
export interface FactSnapshot {
  version: number;
  files: { dir: string; blob: string; path: string }[];
}

export async function factSnapshot(table: FactTable): Promise<FactSnapshot> {
  const { version, files } = await table.tableFiles(FACT_TABLE);
  return { version, files: files.map((f) => ({ dir: f.dir, blob: f.blob, path: f.path })) };
}

const FACT_COLUMNS = `event_id VARCHAR, event_ts TIMESTAMPTZ, billing_source VARCHAR, account_id VARCHAR, subscription_id VARCHAR,
  currency VARCHAR, amount DECIMAL(38,9), mrr_delta DECIMAL(38,9), filename VARCHAR`;

const list = (paths: readonly string[]) => `[${paths.map(sqlString).join(', ')}]`;

/** Creates view `fact` over exactly the snapshot's files; `filename` is the stored object (relative to the warehouse). */
export async function createFactView(c: DuckDBConnection, table: FactTable, snap: FactSnapshot): Promise<void> {
  if (snap.files.length === 0) {
    await c.run(`CREATE OR REPLACE TABLE fact (${FACT_COLUMNS})`);
    return;
  }
  await c.run(`CREATE OR REPLACE TABLE fact_files AS SELECT * FROM (VALUES ${snap.files.map((f) => `(${sqlString(f.path)}, ${sqlString(f.blob)})`).join(', ')}) t(path, blob)`);
  try {
    await c.run(
      `CREATE OR REPLACE VIEW fact AS
       SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(event_ts AS TIMESTAMPTZ) AS event_ts, CAST(billing_source AS VARCHAR) AS billing_source,
              CAST(account_id AS VARCHAR) AS account_id, CAST(subscription_id AS VARCHAR) AS subscription_id, CAST(currency AS VARCHAR) AS currency,
              CAST(amount AS DECIMAL(38,9)) AS amount, CAST(mrr_delta AS DECIMAL(38,9)) AS mrr_delta, ff.blob AS filename
       FROM read_parquet(${list(snap.files.map((f) => f.path))}, filename = true, union_by_name = true) p JOIN fact_files ff ON ff.path = p.filename`,
    );
  } catch (e) {
    throw new FatalError(`cannot read the fact table of ${table.root} (version ${snap.version}): ${(e as Error).message}`, { cause: e });
  }
}

const RECORD_COLUMNS = `record_id VARCHAR, run_id VARCHAR, cycle_id VARCHAR, cycle VARCHAR, per VARCHAR, billing_source VARCHAR,
  party_id VARCHAR, period_start DATE, period_end DATE, currency VARCHAR, event_count BIGINT, amount_sum DECIMAL(38,9),
  mrr_delta_sum DECIMAL(38,9), late_event_count BIGINT, late_amount_sum DECIMAL(38,9)`;
const ASSIGNMENT_COLUMNS = `event_id VARCHAR, record_id VARCHAR, run_id VARCHAR, cycle_id VARCHAR, event_date DATE, late BOOLEAN,
  original_cycle_id VARCHAR, currency VARCHAR, amount DECIMAL(38,9)`;

/** Creates views `records` and `assignments` over the billing tables at the table's current version; returns their row counts (from the manifests). */
export async function createBillingViews(c: DuckDBConnection, table: FactTable): Promise<{ records: number; assignments: number }> {
  const counts = { records: 0, assignments: 0 };
  for (const [view, name, cols] of [
    ['records', BILLING_RECORDS_TABLE, RECORD_COLUMNS],
    ['assignments', BILLING_ASSIGNMENTS_TABLE, ASSIGNMENT_COLUMNS],
  ] as const) {
    const { files } = await table.tableFiles(name);
    counts[view] = files.reduce((n, f) => n + f.rows, 0);
    if (files.length === 0) await c.run(`CREATE OR REPLACE TABLE ${view} (${cols})`);
    else await c.run(`CREATE OR REPLACE VIEW ${view} AS SELECT * FROM read_parquet(${list(files.map((f) => f.path))}, union_by_name = true)`);
  }
  return counts;
}

/** Runs `fn` on a private in-memory DuckDB (the warehouse's module). */
export function withBillingDuck<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  return withDuck({}, fn);
}
