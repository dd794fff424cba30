/**
 * Wires the real parts into JobDeps from the configuration: the warehouse (FactTable), the connectors, the
 * OLTP snapshot, the run store and locks under config.state, and a logger (config.log.format) writing to stderr.
 */
import path from 'node:path';
import type { Config } from '../config/index.js';
import { openSource } from '../connectors/index.js';
import { openPuller, recountControl } from '../connectors/api/index.js';
import { ConfigError } from '../events/errors.js';
import { FactTable } from '../warehouse/index.js';
import { oltpPort, warehousePort } from './adapters.js';
import { mrrPort } from './billing/mrr-store.js';
import { systemClock, type Clock } from './clock.js';
import { dimsLoader, type JobDeps } from './deps.js';
import { LockManager } from '../warehouse/lock.js';
import { createLogger, type Logger } from './log.js';
import type { SourcePort } from './ports.js';
import { RunStore } from './runstore.js';
import { PreparePool, poolSize } from './prepare-pool.js';

export interface App {
  deps: JobDeps;
  table: FactTable;
  config: Config;
}

export interface AppOptions {
  clock?: Clock;
  /** Where log lines go (default stderr). */
  logSink?: (line: string) => void;
  log?: Logger;
  /** Where API keys of pull sources are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function sourceNames(config: Config): string[] {
  return config.sources.map((s) => s.name);
}

/** The process umask that gives written files `mode` (e.g. "0640" → files 0640, directories 0750). */
export function umaskFor(mode: string): number {
  const m = parseInt(mode, 8);
  // directories keep the search (x) bit wherever the mode grants reading
  return ~m & 0o777 & ~((m & 0o444) >> 2);
}

export async function openApp(config: Config, o: AppOptions = {}): Promise<App> {
  // Written files (quarantine, run records, Parquet) may carry raw records: not world-readable by default.
  process.umask(umaskFor(config.fileMode));
  const clock = o.clock ?? systemClock;
  const log = o.log ?? createLogger({ format: config.log.format, clock, sink: o.logSink ?? ((l) => process.stderr.write(l + '\n')) });
  const table = await FactTable.open(config.warehouse, {
    ...(config.tuning as Record<string, never> | undefined),
    targetFileBytes: config.compaction.targetFileBytes,
    autoCompactFileCount: config.compaction.autoCompactFileCount,
    now: () => clock.now(),
  });
  const unknownPull = Object.keys(config.pull).filter((n) => !config.sources.some((s) => s.name === n));
  if (unknownPull.length) {
    throw new ConfigError('invalid pull configuration', unknownPull.map((n) => `pull.${n}: no source named "${n}" (sources: ${sourceNames(config).join(', ')})`));
  }
  const warehouse = warehousePort(table);
  const ports = new Map<string, SourcePort>();
  const connectorConfig = { landing: config.landing, pickup: config.pickup, sources: config.sources, maxRecordBytes: config.maxRecordBytes };
  // the jobs' state area: a prefix of the warehouse's storage (default <warehouse>/_state), or its own store outside it
  const state = table.stateArea(config.state);
  const deps: JobDeps = {
    clock,
    log,
    runs: new RunStore({ area: state.sub('runs'), clock }),
    state,
    locks: new LockManager({ dir: path.join(config.state, 'locks'), clock }),
    warehouse,
    sourceNames: sourceNames(config),
    source(name) {
      let p = ports.get(name);
      if (!p) {
        const pullConfig = config.pull[name];
        const sourceConfig = config.sources.find((x) => x.name === name);
        const puller = pullConfig && sourceConfig ? openPuller({ landing: config.landing, source: sourceConfig, pull: pullConfig, env: o.env ?? process.env }) : null;
        // an API source's recount is its `recount` control provider (completeness.control: {kind: recount})
        const s = openSource(connectorConfig, name, puller ? { recount: recountControl(puller, clock) } : {});
        p = {
          name: s.name,
          statesMrr: s.statesMrr,
          connector: connectorConfig,
          read: (w, ro) => s.read(w, ro),
          completeness: { proof: s.proof.kind, origin: s.proof.origin, arrival: s.config.completeness.arrival },
          controlTotals: (day) => s.controlTotals(day),
          deliveries: (day) => s.deliveries(day),
        };
        if (puller) {
          p.pull = (ws, ro) => puller.pull(ws, { ...ro, clock });
          p.recount = (day) => puller.recount(day, { nowMs: clock.now(), clock });
        }
        ports.set(name, p);
      }
      return p;
    },
    oltp: oltpPort(config.oltp, config.landing),
    mrr: mrrPort(warehouse, () => table.assertBillingLayout()),
    dims: dimsLoader(warehouse),
    prepares: (parallel) => new PreparePool(poolSize(parallel)),
    settings: {
      lookbackHours: config.lookbackHours,
      retry: { maxAttempts: config.schedule.maxAttempts, baseMs: config.schedule.backoffBaseSeconds * 1000, maxMs: config.schedule.backoffMaxSeconds * 1000 },
      graceHours: config.completeness.graceHours,
      missingSnapshot: config.enrichment.missingSnapshot,
    },
  };
  return { deps, table, config };
}
