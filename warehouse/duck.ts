/**
 * DuckDB as the warehouse's reader: read-back, verification, bounded-memory sorts (ORDER BY spills to a temp
 * directory under memory_limit) and exports. Money comes back as DECIMAL unscaled bigints, never floats.
 */
import { DuckDBDecimalValue, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { columnsBlock, type Block, type CellValue, type ColumnSpec } from './columns.js';
import { newProcessDir, removeDeadProcessDirs } from './scratch.js';

export interface DuckOptions {
  /** e.g. '512MB'. */
  memoryLimit?: string;
  /** Spill directory for large sorts. */
  tempDir?: string;
  threads?: number;
}

/**
 * Settings of every instance we start. DuckDB (1.3+) keeps, by default, an external file cache: blocks it read
 * from files (each Parquet file's footer and metadata, ~16 KB a file here) stay in its buffer pool, keyed by path,
 * after the file is gone, until memory_limit forces them out. Every commit reads files no earlier commit read (its
 * index segment, its day files), so a backfill's process grew by ~0.5 MB a run (300 days of small runs: 144 MB
 * at the start, 782 MB after 1 200 runs; docs/bench.md). Our files are read once each, so the cache saves nothing.
 */
export const INSTANCE_SETTINGS = { enable_external_file_cache: 'false' } as const;

/** Runs `fn` on a fresh in-memory DuckDB (closed afterwards), with `opts` (default: 512MB, 2 threads). */
export async function withDuck<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
export async function withDuck<T>(opts: DuckOptions, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
export async function withDuck<T>(a: DuckOptions | ((conn: DuckDBConnection) => Promise<T>), b?: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const opts: DuckOptions = typeof a === 'function' ? {} : a;
  const fn = typeof a === 'function' ? a : b!;
  const instance = await DuckDBInstance.create(':memory:', { ...INSTANCE_SETTINGS });
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

const shared = new Map<string, Promise<DuckDBInstance>>();

/**
 * How the shared instance gives memory back (it lives as long as the process: a backfill's every conversion and
 * publish). DuckDB's allocator keeps what a task freed for the next one unless the task's peak passed
 * `allocator_flush_threshold` (default 128 MiB); between a `--parallel 2` ingest's conversions `duckdb_memory()`
 * showed 1–3 MB in use while the RSS stayed up. Flushed past 16 MiB, with the allocator's background thread on
 * (measured together with one conversion at a time: the 2 M day's peak 668 → 553 MB; docs/bench.md, "Two big
 * prepares at once").
 */
export const SHARED_ALLOCATOR = { allocator_flush_threshold: '16MB', allocator_background_threads: 'true' } as const;

/**
 * Runs `fn` on a new connection to a DuckDB instance shared by this process for the same spill base and
 * limits (starting an instance costs more than a small commit). Use TEMP tables: they are per connection.
 * Spills go to `<spillBase>/<pid>-<random>/`; directories of dead processes are removed when it starts.
 */
export async function withSharedDuck<T>(spillBase: string, opts: Omit<DuckOptions, 'tempDir'>, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const memoryLimit = opts.memoryLimit ?? '512MB';
  const threads = Math.max(1, Math.trunc(opts.threads ?? 2));
  const key = `${spillBase}|${memoryLimit}|${threads}`;
  let p = shared.get(key);
  if (!p) {
    p = (async () => {
      removeDeadProcessDirs(spillBase);
      const tempDir = newProcessDir(spillBase);
      return DuckDBInstance.create(':memory:', { memory_limit: memoryLimit, threads: String(threads), preserve_insertion_order: 'true', temp_directory: tempDir, ...SHARED_ALLOCATOR, ...INSTANCE_SETTINGS });
    })();
    shared.set(key, p);
    p.catch(() => shared.delete(key));
  }
  const conn = await (await p).connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
  }
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * `read_parquet([...])` over an explicit file list (no globbing: only the files we name are read), by column
 * name, so files written before a column was added read it as null; never a column from the path (the blob path
 * holds the Hive folder key, e.g. `event_day=D`, which is not a column of the files).
 */
export function readParquetSql(paths: readonly string[]): string {
  if (paths.length === 0) throw new Error('internal: read_parquet over an empty file list');
  return `read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`;
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

/** Runs a query and returns its rows as objects keyed by column name (DuckDB values: bigints, DECIMAL values, ...). */
export async function rowObjects(conn: DuckDBConnection, sql: string): Promise<Record<string, DuckDBValue>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjects();
}

/** A DuckDB value as text (null stays null). Money read as DECIMAL or CAST(... AS VARCHAR) prints exactly. */
export function text(v: DuckDBValue | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A DuckDB integer as a bigint; anything else is an error. */
export function big(v: DuckDBValue | undefined): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new Error(`expected an integer from DuckDB, got ${String(v)}`);
}

/** Runs a query and returns all rows as plain JS values (bigints for BIGINT/HUGEINT, DECIMAL as DuckDBDecimalValue). */
export async function queryAll(conn: DuckDBConnection, sql: string): Promise<DuckDBValue[][]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows();
}

/** What the manifest records per data file, as DuckDB reads the file back. */
export interface FileStats {
  rows: number;
  minTs: bigint | null;
  maxTs: bigint | null;
  /** Per (billing_source, event_type, currency): rows, net events (REVERSAL rows count -1) and exact unscaled DECIMAL(38,9) sum. */
  totals: { billing_source: string; event_type: string; currency: string; rows: number; netRows: number; sum: bigint }[];
}

/** Row counts, min/max event_ts and exact control totals of fact files, per file, in one scan. */
export async function factFileStats(conn: DuckDBConnection, files: readonly string[]): Promise<Map<string, FileStats>> {
  const out = new Map<string, FileStats>(files.map((f) => [f, { rows: 0, minTs: null, maxTs: null, totals: [] }]));
  if (files.length === 0) return out;
  const rows = await queryAll(
    conn,
    `SELECT filename, billing_source, event_type, currency, count(*)::BIGINT, sum(amount)::DECIMAL(38,9), min(epoch_us(event_ts)), max(epoch_us(event_ts)),
       sum(CASE WHEN correction_kind = 'REVERSAL' THEN -1 ELSE 1 END)::BIGINT
     FROM read_parquet(${'[' + files.map(sqlString).join(', ') + ']'}, filename = true, union_by_name = true, hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
  );
  for (const r of rows) {
    const s = out.get(String(r[0]));
    const sum = r[5];
    if (!s) throw new Error(`internal: DuckDB reported stats for an unknown file ${String(r[0])}`);
    if (!(sum instanceof DuckDBDecimalValue) || sum.scale !== 9) throw new Error('internal: DuckDB sum(amount) is not a DECIMAL(38,9)');
    const n = Number(r[4] as bigint);
    const lo = r[6] as bigint;
    const hi = r[7] as bigint;
    s.rows += n;
    s.totals.push({ billing_source: String(r[1]), event_type: String(r[2]), currency: String(r[3]), rows: n, netRows: Number(r[8] as bigint), sum: sum.value });
    if (s.minTs === null || lo < s.minTs) s.minTs = lo;
    if (s.maxTs === null || hi > s.maxTs) s.maxTs = hi;
  }
  return out;
}

/** Runs a COPY ... TO statement and returns the number of rows it wrote. */
export async function copyCount(conn: DuckDBConnection, sql: string): Promise<number> {
  const rows = await queryAll(conn, sql);
  const n = rows[0]?.[0];
  if (typeof n !== 'bigint' && typeof n !== 'number') throw new Error(`internal: COPY did not report a row count (${sql.slice(0, 80)}…)`);
  return Number(n);
}

/** `SELECT` list of the fact columns as stored (timestamps stay TIMESTAMPTZ: DuckDB writes them back as UTC). */
export function columnList(specs: readonly ColumnSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(', ');
}
