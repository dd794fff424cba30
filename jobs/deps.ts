/** Everything a job needs, passed in (clock, logger, stores, ports): no module reads time or config by itself. */
import type { Clock } from './clock.js';
import { DimensionLookup } from './enrich.js';
import type { LockManager } from '../warehouse/lock.js';
import type { Logger } from './log.js';
import type { MrrPort, OltpPort, SourcePort, WarehousePort } from './ports.js';
import type { RetryPolicy } from './retry.js';
import type { RunStore } from './runstore.js';
import type { StateArea } from '../warehouse/state-area.js';
import type { PrepareExecutor } from './prepare-pool.js';

export interface JobSettings {
  lookbackHours: number;
  retry: RetryPolicy;
  graceHours: number;
  /** Ingest before any dimension snapshot exists: warn once per process (default) or refuse. */
  missingSnapshot?: 'warn' | 'refuse';
}

export interface JobDeps {
  clock: Clock;
  log: Logger;
  runs: RunStore;
  /** The jobs' state area (run store, completeness history, scheduler state), written through the warehouse's storage. */
  state: StateArea;
  locks: LockManager;
  warehouse: WarehousePort;
  /** Billing source names, in config order. */
  sourceNames: string[];
  source(name: string): SourcePort;
  oltp: OltpPort;
  /** MRR observations → mrr_delta events (per-source durable state). */
  mrr: MrrPort;
  dims: DimsLoader;
  settings: JobSettings;
  /**
   * Runs prepares on other cores (a worker-thread pool for `parallel` units at once); a backfill opens one for its
   * runs and closes it at the end. Absent: every prepare runs in this thread.
   */
  prepares?: (parallel: number) => PrepareExecutor;
}

export interface DimsLoader {
  get(): Promise<DimensionLookup>;
  invalidate(): void;
}

/** Loads dimension snapshots once and reuses them until invalidated (the OLTP job invalidates after a load). */
export function dimsLoader(warehouse: WarehousePort): DimsLoader {
  let cached: Promise<DimensionLookup> | undefined;
  return {
    get() {
      cached ??= Promise.all([warehouse.dimensionSnapshots('dim_account'), warehouse.dimensionSnapshots('dim_product')]).then(
        ([a, p]) => new DimensionLookup(a, p),
        (e: unknown) => {
          cached = undefined;
          throw e;
        },
      );
      return cached;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
