/**
 * Re-enrichment: one commit that rewrites the denormalised dimension columns (account_name, account_segment,
 * account_country, product_name, plan_name, dim_status) of a range of days from the stored dimension snapshots,
 * for rows loaded before a snapshot existed (every row MISSING_ACCOUNT / MISSING_BOTH) or against an outdated
 * one. The rule is the ingest's: each day uses the newest snapshot dated on or before it (the oldest when the day
 * predates them all), or the snapshot the caller names. Done inside DuckDB like compaction; no other column
 * changes: the new files' rows and exact totals must equal the manifest's before anything is published. The old
 * files stay under _store/blobs, so `export --as-of` before the commit still reads the old attributes.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ConfigError, FatalError } from '../events/errors.js';
import { DUCK_SPILL_DIR, type Tx, type TxOutcome, type WarehouseCore } from './core.js';
import { copyCount, readParquetSql, sqlString, withSharedDuck } from './duck.js';
import type { TuningOptions } from './options.js';
import { dayOfPartitionDir, DIMENSION_DIR_KEY, FACT_COLUMNS, FACT_DIR_KEY, FACT_ORDER_SQL, FACT_TABLE, partitionDir } from './schema.js';
import { duckFileEntry } from './stage.js';
import { diffTotals, mergeTotals, partitionPath, partitionsOf, type PartitionChange, type PartitionState, type TableState } from './state.js';

export interface ReenrichResult {
  commitId: string | null;
  version: number;
  days: { day: string; snapshot: { account: string | null; product: string | null }; rows: number; dimStatusBefore: Record<string, number>; dimStatusAfter: Record<string, number> }[];
  /** Days of the range with no fact partition. */
  empty: string[];
}

/** The snapshot a day uses: the newest dated on or before it, else the oldest; or the one asked for. */
function snapshotFor(snaps: PartitionState[], day: string, pinned?: string): PartitionState | null {
  if (snaps.length === 0) return null;
  const dateOf = (p: PartitionState) => dayOfPartitionDir(p.dir);
  if (pinned) return snaps.find((p) => dateOf(p) === pinned) ?? null;
  let best: PartitionState | null = null;
  for (const p of snaps) if (dateOf(p) <= day) best = p;
  return best ?? snaps[0]!;
}

async function columnsOf(conn: DuckDBConnection, files: string[]): Promise<Set<string>> {
  const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${readParquetSql(files)}`);
  return new Set(r.getRowObjects().map((x) => String(x.column_name)));
}

/** A dimension snapshot as a subquery with the wanted columns (NULL when the snapshot lacks one), one row per key (the last wins, as at ingest). */
async function dimSql(conn: DuckDBConnection, files: string[] | null, key: string, cols: string[]): Promise<string> {
  if (!files || files.length === 0) return `(SELECT NULL::VARCHAR AS billing_source, NULL::VARCHAR AS ${key}, ${cols.map((c) => `NULL::VARCHAR AS ${c}`).join(', ')} WHERE false)`;
  const have = await columnsOf(conn, files);
  const pick = (c: string) => (have.has(c) ? `CAST("${c}" AS VARCHAR) AS ${c}` : `NULL::VARCHAR AS ${c}`);
  return `(SELECT ${pick('billing_source')}, ${pick(key)}, ${cols.map(pick).join(', ')} FROM read_parquet([${files.map(sqlString).join(', ')}], file_row_number = true, filename = true, hive_partitioning = false)
     QUALIFY row_number() OVER (PARTITION BY billing_source, ${key} ORDER BY filename DESC, file_row_number DESC) = 1)`;
}

const DIM_STATUS_SQL = `CASE
  WHEN f.account_id IS NULL AND f.product_id IS NULL THEN 'NO_KEY'
  WHEN f.account_id IS NOT NULL AND a.account_id IS NULL AND f.product_id IS NOT NULL AND p.product_id IS NULL THEN 'MISSING_BOTH'
  WHEN f.account_id IS NOT NULL AND a.account_id IS NULL THEN 'MISSING_ACCOUNT'
  WHEN f.product_id IS NOT NULL AND p.product_id IS NULL THEN 'MISSING_PRODUCT'
  ELSE 'OK' END`;

const REPLACED: Record<string, string> = {
  account_name: 'a.account_name',
  account_segment: 'a.segment',
  account_country: 'a.country',
  product_name: 'p.product_name',
  plan_name: 'p.plan_name',
  dim_status: DIM_STATUS_SQL,
};

async function dimCounts(conn: DuckDBConnection, files: string[]): Promise<Record<string, number>> {
  const r = await conn.runAndReadAll(`SELECT dim_status, count(*) AS n FROM ${readParquetSql(files)} GROUP BY ALL ORDER BY 1`);
  return Object.fromEntries(r.getRowObjects().map((x) => [String(x.dim_status), Number(x.n)]));
}

export async function reenrichInTx(
  core: WarehouseCore,
  tx: Tx,
  days: readonly string[],
  t: TuningOptions,
  o: { snapshot?: string } = {},
): Promise<{ outcome: TxOutcome | null; result: ReenrichResult }> {
  const result: ReenrichResult = { commitId: null, version: tx.state.version, days: [], empty: [] };
  const state: TableState = tx.state;
  const accounts = partitionsOf(state, 'dim_account');
  const products = partitionsOf(state, 'dim_product');
  if (accounts.length === 0 && products.length === 0) {
    throw new ConfigError('there is no dimension snapshot to re-enrich from: load one first (billing-mart ingest --source oltp), then re-run re-enrich');
  }
  if (o.snapshot && !accounts.concat(products).some((p) => dayOfPartitionDir(p.dir) === o.snapshot)) {
    const have = [...new Set(accounts.concat(products).map((p) => dayOfPartitionDir(p.dir)))].join(', ');
    throw new ConfigError(`--snapshot ${o.snapshot}: no dimension snapshot of that date (stored: ${have})`);
  }
  const changes: PartitionChange[] = [];
  const local = (blob: string) => core.storage.localFile(blob);
  await withSharedDuck(await core.storage.scratchDir(DUCK_SPILL_DIR), { memoryLimit: t.memoryLimit, threads: t.threads }, async (conn) => {
    for (const day of [...new Set(days)].sort()) {
      const dir = partitionDir(FACT_DIR_KEY, day);
      const path = partitionPath(FACT_TABLE, dir);
      const p = state.partitions.get(path);
      if (!p || p.files.length === 0) {
        result.empty.push(day);
        continue;
      }
      const acc = snapshotFor(accounts, day, o.snapshot);
      const prod = snapshotFor(products, day, o.snapshot);
      const oldFiles = await Promise.all(p.files.map((f) => local(f.blob)));
      const accSql = await dimSql(conn, acc ? await Promise.all(acc.files.map((f) => local(f.blob))) : null, 'account_id', ['account_name', 'segment', 'country']);
      const prodSql = await dimSql(conn, prod ? await Promise.all(prod.files.map((f) => local(f.blob))) : null, 'product_id', ['product_name', 'plan_name']);
      const select = FACT_COLUMNS.map((c) => (REPLACED[c.name] ? `${REPLACED[c.name]} AS "${c.name}"` : `f."${c.name}"`)).join(', ');
      const name = `reenrich-${tx.commitId}-0000.parquet`;
      const blob = `${tx.blobDir}/${FACT_TABLE}/${dir}/${name}`;
      const out = `${await core.storage.scratchDir(`${tx.tmpDir}/${dir}`)}/${name}`;
      const before = await dimCounts(conn, oldFiles);
      await copyCount(
        conn,
        `COPY (SELECT ${select} FROM ${readParquetSql(oldFiles)} f
           LEFT JOIN ${accSql} a ON a.billing_source = f.billing_source AND a.account_id = f.account_id
           LEFT JOIN ${prodSql} p ON p.billing_source = f.billing_source AND p.product_id = f.product_id
           ORDER BY ${FACT_ORDER_SQL.split(',').map((x) => `f.${x.trim()}`).join(', ')})
         TO ${sqlString(out)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${t.rowGroupRows})`,
      );
      const after = await dimCounts(conn, [out]);
      const file = await duckFileEntry(core, conn, out, blob, name, { sorted: true, group: tx.commitId });
      const expectedRows = p.files.reduce((n, f) => n + f.rows, 0);
      const problem = file.rows !== expectedRows ? `wrote ${file.rows} rows, the manifest has ${expectedRows}` : diffTotals(mergeTotals(p.files), mergeTotals([file]));
      if (problem) throw new FatalError(`re-enrichment of ${day} changed more than the dimension columns (${problem}); nothing was published. Report this as a bug.`);
      const ps = await core.finishPartition(tx, { table: FACT_TABLE, dir, files: [file], successBlob: p.successBlob, dataVersion: p.dataVersion });
      changes.push({ path, state: ps });
      const dateOf = (x: PartitionState | null) => (x ? dayOfPartitionDir(x.dir) : null);
      result.days.push({ day, snapshot: { account: dateOf(acc), product: dateOf(prod) }, rows: file.rows, dimStatusBefore: before, dimStatusAfter: after });
    }
  });
  if (changes.length === 0) return { outcome: null, result };
  result.commitId = tx.commitId;
  result.version = tx.version;
  return { outcome: { operation: 'reenrich', changes, summary: { days: result.days.length, rows: result.days.reduce((n, d) => n + d.rows, 0) } }, result };
}
