/** Writers for OLTP metadata: the file snapshot (CSV) and SQL to load into PostgreSQL. */
import { csvRow } from '../events/csv.js';
import { ACCOUNT_COLUMNS, PRODUCT_COLUMNS, type AccountRow, type ProductRow } from '../connectors/oltp/types.js';

/** One CSV line (the one field rule, events/csv.ts). */
export function csvLine(values: readonly (string | null)[]): string {
  return csvRow(values) + '\n';
}

export function accountsCsv(rows: readonly AccountRow[]): string {
  return csvLine(ACCOUNT_COLUMNS) + rows.map((r) => csvLine(ACCOUNT_COLUMNS.map((c) => r[c]))).join('');
}

export function productsCsv(rows: readonly ProductRow[]): string {
  return csvLine(PRODUCT_COLUMNS) + rows.map((r) => csvLine(PRODUCT_COLUMNS.map((c) => r[c]))).join('');
}

function sqlLit(v: string | null): string {
  return v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`;
}

export const OLTP_DDL = `CREATE TABLE IF NOT EXISTS accounts (
  account_id     text PRIMARY KEY,
  billing_source text NOT NULL,
  account_name   text NOT NULL,
  segment        text,
  country        text,
  currency       char(3),
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
  product_id     text PRIMARY KEY,
  billing_source text NOT NULL,
  product_name   text NOT NULL,
  plan_id        text NOT NULL,
  plan_name      text NOT NULL,
  list_price     numeric(38,9),
  currency       char(3),
  billing_period text,
  updated_at     timestamptz NOT NULL
);
`;

/** A self-contained SQL script: DDL, then idempotent upserts in batches of 500 rows. */
export function* oltpSql(accounts: Iterable<AccountRow>, products: Iterable<ProductRow>): Generator<string> {
  yield SQL_HEADER;
  yield* inserts('accounts', ACCOUNT_COLUMNS, 'account_id', accounts);
  yield* inserts('products', PRODUCT_COLUMNS, 'product_id', products);
  yield 'COMMIT;\n';
}

/** One idempotent multi-row upsert statement. */
export function upsertStatement<R extends Record<string, string | null>>(table: string, cols: readonly string[], key: string, rows: readonly R[]): string {
  const set = cols.filter((c) => c !== key).map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  const values = rows.map((r) => `(${cols.map((c) => sqlLit(r[c] ?? null)).join(', ')})`);
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES\n${values.join(',\n')}\nON CONFLICT (${key}) DO UPDATE SET ${set};\n`;
}

export const SQL_HEADER = '-- billing-mart generated OLTP metadata\nBEGIN;\n' + OLTP_DDL;

function* inserts<R extends Record<string, string | null>>(table: string, cols: readonly string[], key: string, rows: Iterable<R>): Generator<string> {
  let batch: R[] = [];
  for (const r of rows) {
    batch.push(r);
    if (batch.length >= 500) {
      yield upsertStatement(table, cols, key, batch);
      batch = [];
    }
  }
  if (batch.length) yield upsertStatement(table, cols, key, batch);
}
