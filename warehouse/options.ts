import { tuningProblems } from '../config/tuning.js';
import { ConfigError } from '../events/errors.js';
import type { IcebergOptions } from './iceberg/publish.js';
import type { LeaseClock } from './lock.js';

/** Tunables of the warehouse, with defaults. Time and sleeping are injected (tests never sleep). */
export interface TuningOptions {
  /** Compaction target file size (default 128 MiB). */
  targetFileBytes: number;
  /** Ingest compacts a day automatically when it holds more files than this (0 = never). */
  autoCompactFileCount: number;
  /** Rows per Parquet row group. */
  rowGroupRows: number;
  /**
   * Rows an ingest keeps in memory before spilling a sorted run to disk. Each costs ~300 B of V8 heap (its
   * dedupe/sort keys) plus its CSV line off-heap: 100 000 keeps a commit of any size within a 128 MB heap.
   * The budget of the process: a backfill's prepares running at once on the worker threads share it (each of n
   * gets 1/n: jobs/prepare-pool.ts budgetShare), so `--parallel 2` holds no more staging than `--parallel 1`.
   */
  spillRows: number;
  /**
   * Bytes of staged line text an ingest keeps before spilling (off the V8 heap, 4 MiB chunks): with `spillRows`,
   * the staging memory is bounded by a budget, never by the size of the day (wide rows spill earlier). Shared
   * by concurrent prepares like `spillRows` (each at least 1 MiB).
   */
  spillBytes: number;
  /**
   * DuckDB's memory limit for sorts and merges (e.g. '192MB'); beyond it DuckDB spills to the warehouse's scratch
   * area (`_scratch/duckdb-spill`). Sized with the rest of the process: Node's heap (~100 MB at `spillRows`),
   * the staged text (`spillBytes`), parquet-wasm and DuckDB fit in 512 MB of RSS (docs/bench.md, memory day).
   */
  memoryLimit: string;
  /**
   * DuckDB's memory limit in compaction (default '192MB'): its sort spills to the scratch area past it, and DuckDB's
   * buffers outside the limit plus Node keep a compaction of a day of any size within 512 MB of RSS (docs/bench.md).
   */
  compactMemoryLimit: string;
  /** DuckDB threads in compaction (default 1: each thread's Parquet buffers sit outside the limit; under 192MB, 2 threads were also slower). */
  compactThreads: number;
  /**
   * DuckDB worker threads of the process's shared instance (the ingest's Parquet conversion and publish, exports;
   * each thread needs buffers of its own inside `memoryLimit`). Default 1: a prepare converts one (source, day) of
   * staged CSV at a time and the other core runs the other prepare; a second DuckDB thread on such a scan cost
   * 30-45 % more CPU for no shorter wall time (docs/bench.md, "Ingest CPU", session 6).
   */
  threads: number;
}

export interface WarehouseOptions extends Partial<TuningOptions> {
  /** Commit timestamps (committedAt, commit ids). */
  now?: () => number;
  /** Wall time of the writer lock's lease, shared by every process writing the warehouse (default: the system clock). */
  lockClock?: LeaseClock;
  /** How long a writer waits for the lock before giving up (RetriableError). */
  lockTimeoutMs?: number;
  lockPollMs?: number;
  /** The writer lock's lease (default 2 min), renewed every third of it while a commit runs; a holder that stops renewing (hung, or on a host that died) loses the lock after it. */
  lockTtlMs?: number;
  /** Published version directories kept for readers still scanning an older version. */
  keepVersionDirs?: number;
  /** Versions between checkpoints of the table state (default 50): opening reads the latest and the entries after it. */
  checkpointInterval?: number;
  /** Test hook: called at named points of a commit. */
  faults?: (point: string) => void | Promise<void>;
  /** The Iceberg view (warehouse/iceberg/): where engines see the warehouse root, snapshots kept per metadata file. */
  iceberg?: IcebergOptions;
}

export const DEFAULT_TUNING: TuningOptions = {
  targetFileBytes: 128 * 1024 * 1024,
  autoCompactFileCount: 24,
  rowGroupRows: 65_536,
  spillRows: 100_000,
  spillBytes: 64 * 1024 * 1024,
  memoryLimit: '512MB',
  compactMemoryLimit: '192MB',
  compactThreads: 1,
  threads: 1,
};

export function tuning(o: WarehouseOptions): TuningOptions {
  const t: TuningOptions = {
    targetFileBytes: o.targetFileBytes ?? DEFAULT_TUNING.targetFileBytes,
    autoCompactFileCount: o.autoCompactFileCount ?? DEFAULT_TUNING.autoCompactFileCount,
    rowGroupRows: o.rowGroupRows ?? DEFAULT_TUNING.rowGroupRows,
    spillRows: o.spillRows ?? DEFAULT_TUNING.spillRows,
    spillBytes: o.spillBytes ?? DEFAULT_TUNING.spillBytes,
    memoryLimit: o.memoryLimit ?? DEFAULT_TUNING.memoryLimit,
    compactMemoryLimit: o.compactMemoryLimit ?? DEFAULT_TUNING.compactMemoryLimit,
    compactThreads: o.compactThreads ?? DEFAULT_TUNING.compactThreads,
    threads: o.threads ?? DEFAULT_TUNING.threads,
  };
  const problems = tuningProblems({ ...t });
  if (problems.length) throw new ConfigError('invalid warehouse option', problems.map(([k, m]) => `${k}: ${m}`));
  return t;
}
