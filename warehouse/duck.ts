/**
 * DuckDB as the warehouse's reader: read-back, verification, bounded-memory sorts (ORDER BY spills to a temp
 * directory under memory_limit) and exports. Money comes back as DECIMAL unscaled bigints, never floats.
 */
import { DuckDBDecimalValue, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { columnsBlock, type Block, type CellValue, type ColumnSpec } from './columns.js';

export interface DuckOptions {
  /** e.g. '512MB'. */
  memoryLimit?: string;
  /** Spill directory for large sorts. */
  tempDir?: string;
  threads?: number;
}

export async function withDuck<T>(opts: DuckOptions, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`SET memory_limit = ${sqlString(opts.memoryLimit ?? '512MB')}`);
    await conn.run(`SET threads = ${Math.max(1, Math.trunc(opts.threads ?? 2))}`);
    await conn.run('SET preserve_insertion_order = true');
    if (opts.tempDir) await conn.run(`SET temp_directory = ${sqlString(opts.tempDir)}`);
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `read_parquet([...])` over an explicit file list (no globbing: only the files we name are read). */
export function readParquetSql(paths: readonly string[]): string {
  if (paths.length === 0) throw new Error('internal: read_parquet over an empty file list');
  return `read_parquet([${paths.map(sqlString).join(', ')}])`;
}

/** Select list that returns every column in the shape of CellValue (timestamps as µs, dates as text). */
export function cellSelectList(specs: readonly ColumnSpec[]): string {
  return specs
    .map((s) => {
      const q = `"${s.name}"`;
      if (s.kind === 'timestamp_us_utc') return `epoch_us(${q}) AS ${q}`;
      if (s.kind === 'date') return `CAST(${q} AS VARCHAR) AS ${q}`;
      return q;
    })
    .join(', ');
}

function badCell(spec: ColumnSpec, v: unknown, want: string): Error {
  return new Error(`column ${spec.name}: expected ${want}, DuckDB returned ${v === null ? 'null' : typeof v}`);
}

/** Converts one DuckDB column (values) to CellValues; checks every value's type. */
function toCells(values: readonly DuckDBValue[], spec: ColumnSpec): CellValue[] {
  const out = new Array<CellValue>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      out[i] = null;
      continue;
    }
    switch (spec.kind) {
      case 'decimal38_9':
        if (!(v instanceof DuckDBDecimalValue) || v.scale !== 9) throw badCell(spec, v, 'DECIMAL(38,9)');
        out[i] = v.value;
        break;
      case 'int64':
      case 'timestamp_us_utc':
        if (typeof v !== 'bigint') throw badCell(spec, v, 'BIGINT');
        out[i] = v;
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw badCell(spec, v, 'BOOLEAN');
        out[i] = v;
        break;
      default:
        if (typeof v !== 'string') throw badCell(spec, v, 'text');
        out[i] = v;
    }
  }
  return out;
}

/**
 * Streams a query whose select list is cellSelectList(specs) as column blocks of exactly `blockRows` rows
 * (the last may be smaller). DuckDB produces rows lazily, so memory stays bounded.
 */
export async function* streamBlocks(conn: DuckDBConnection, sql: string, specs: readonly ColumnSpec[], blockRows: number): AsyncGenerator<Block> {
  const result = await conn.stream(sql);
  let pending: CellValue[][] = specs.map(() => []);
  let count = 0;
  const take = (n: number): Block => {
    const cols: Record<string, CellValue[]> = {};
    specs.forEach((s, i) => {
      cols[s.name] = pending[i]!.slice(0, n);
      pending[i] = pending[i]!.slice(n);
    });
    count -= n;
    return columnsBlock(cols, n);
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const columns = chunk.getColumns();
    specs.forEach((s, i) => {
      const cells = toCells(columns[i]!, s);
      const p = pending[i]!;
      for (const c of cells) p.push(c);
    });
    count += chunk.rowCount;
    while (count >= blockRows) yield take(blockRows);
  }
  if (count > 0) yield take(count);
}

/** Runs a query and returns all rows as plain JS values (bigints for BIGINT/HUGEINT, DECIMAL as DuckDBDecimalValue). */
export async function queryAll(conn: DuckDBConnection, sql: string): Promise<DuckDBValue[][]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows();
}
