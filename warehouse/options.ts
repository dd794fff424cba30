import { ConfigError } from '../events/errors.js';
import type { IcebergOptions } from './iceberg/publish.js';

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
   */
  spillRows: number;
  /** DuckDB memory limit for sorts and merges (e.g. '512MB'). */
  memoryLimit: string;
  threads: number;
}

export interface WarehouseOptions extends Partial<TuningOptions> {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long a writer waits for the lock before giving up (RetriableError). */
  lockTimeoutMs?: number;
  lockPollMs?: number;
  /** Published version directories kept for readers still scanning an older version. */
  keepVersionDirs?: number;
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
  memoryLimit: '512MB',
  threads: 2,
};

/** Every problem of the given tuning options (`key = value is invalid: expected …`), in one pass. */
export function tuningProblems(t: Partial<TuningOptions>): string[] {
  const out: string[] = [];
  const bad = (k: string, v: unknown, want: string) => out.push(`${k} = ${JSON.stringify(v)} is invalid: expected ${want}`);
  const int = (k: keyof TuningOptions, min: number) => {
    const v = t[k];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min)) bad(k, v, `an integer >= ${min}`);
  };
  int('targetFileBytes', 1024);
  int('autoCompactFileCount', 0);
  int('rowGroupRows', 1);
  int('spillRows', 1);
  int('threads', 1);
  if (t.memoryLimit !== undefined && (typeof t.memoryLimit !== 'string' || !/^\d+(\.\d+)?\s*[KMGT]i?B$/i.test(t.memoryLimit))) bad('memoryLimit', t.memoryLimit, "a size such as '512MB'");
  return out;
}

export function tuning(o: WarehouseOptions): TuningOptions {
  const t: TuningOptions = {
    targetFileBytes: o.targetFileBytes ?? DEFAULT_TUNING.targetFileBytes,
    autoCompactFileCount: o.autoCompactFileCount ?? DEFAULT_TUNING.autoCompactFileCount,
    rowGroupRows: o.rowGroupRows ?? DEFAULT_TUNING.rowGroupRows,
    spillRows: o.spillRows ?? DEFAULT_TUNING.spillRows,
    memoryLimit: o.memoryLimit ?? DEFAULT_TUNING.memoryLimit,
    threads: o.threads ?? DEFAULT_TUNING.threads,
  };
  const problems = tuningProblems(t);
  if (problems.length) throw new ConfigError('invalid warehouse option', problems);
  return t;
}
