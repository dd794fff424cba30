/** Shared setup of the pull-connector tests: a config pointing a source at the stand-in, the app, DuckDB reads. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../../config/index.js';
import { openApp, type App } from '../../jobs/app.js';
import { ManualClock } from '../../jobs/clock.js';
import { runIngest } from '../../jobs/ingest.js';
import type { RunRecord } from '../../jobs/runstore.js';
import type { Window } from '../../partitions/index.js';
import { duckQuery } from '../warehouse/duck-read.js';
import { afterEach } from 'vitest';
import { VendorStandIn } from './standin.js';

export interface PullEnv {
  dir: string;
  config: Config;
  app: App;
  clock: ManualClock;
  logs: string[];
  env: NodeJS.ProcessEnv;
}

export function writeConfig(dir: string, pull: Record<string, unknown>, extra = ''): string {
  const file = path.join(dir, 'billing-mart.yaml');
  writeFileSync(file, `warehouse: ./wh\nlanding: ./landing\nlookbackHours: 24\npickup: { mode: marker, quietSeconds: 60 }\n${extra}pull: ${JSON.stringify(pull)}\n`);
  return file;
}

export async function pullEnv(dir: string, standin: VendorStandIn, o: { now: string; pull?: Record<string, unknown>; env?: NodeJS.ProcessEnv; extra?: string }): Promise<PullEnv> {
  const pull = o.pull ?? {
    stripe: { vendor: 'stripe', baseUrl: standin.url, pageSize: 25, backoffBaseMs: 1000, backoffMaxMs: 8000, maxRetries: 3 },
    chargebee: { vendor: 'chargebee', site: 'acme-test', baseUrl: standin.url, pageSize: 25, backoffBaseMs: 1000, backoffMaxMs: 8000, maxRetries: 3 },
  };
  const config = loadConfig({ configFile: writeConfig(dir, pull, o.extra) });
  const clock = new ManualClock(o.now, true);
  const logs: string[] = [];
  const env = o.env ?? { STRIPE_API_KEY: standin.keys.stripe, CHARGEBEE_API_KEY: standin.keys.chargebee };
  const app = await openApp(config, { clock, env, logSink: (l) => logs.push(l) });
  return { dir, config, app, clock, logs, env };
}

export function ingest(e: PullEnv, source: string, window: Window, o: { covers?: Window[]; lookbackHours?: number; trigger?: string; attempts?: number } = {}): Promise<RunRecord> {
  return runIngest(e.app.deps, {
    source,
    window,
    ...(o.covers ? { covers: o.covers } : {}),
    ...(o.lookbackHours !== undefined ? { lookbackHours: o.lookbackHours } : {}),
    trigger: o.trigger ?? 'manual',
    retry: { maxAttempts: o.attempts ?? 1, baseMs: 1000, maxMs: 1000 },
  });
}

export interface TableState {
  eventIds: string[];
  /** `object:id` of quarantined records, one per quarantine row */
  quarantined: string[];
}

export async function tableState(e: PullEnv, source: string): Promise<TableState> {
  const wh = e.config.warehouse;
  const fact = path.join(wh, 'fact_billing_event', 'event_day=*', '*.parquet');
  const quar = path.join(wh, 'quarantine', '*', '*.parquet');
  const rows = async (sql: string) =>
    duckQuery(sql).catch((err: Error) => {
      if (/No files found/.test(err.message)) return [];
      throw err;
    });
  // source events only: the MRR_CHANGED rows ingest derives from subscription versions (mrr_delta) are not records
  const ids = (await rows(`SELECT event_id FROM read_parquet('${fact}', hive_partitioning = true) WHERE billing_source = '${source}' AND source_object_type <> 'mrr_delta'`)).map((r) => String(r[0]));
  const q = (await rows(`SELECT raw_record FROM read_parquet('${quar}', hive_partitioning = true) WHERE billing_source = '${source}'`)).map((r) => {
    const rec = JSON.parse(String(r[0])) as { object?: string; id?: string };
    return `${rec.object === 'line_item' ? 'invoice_line_item' : rec.object}:${rec.id}`;
  });
  return { eventIds: ids, quarantined: q };
}

export const hoursMs = (h: number) => h * 3_600_000;
export const sec = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The vendor stand-in of a test file: `start` one in a test; it is closed after each test. */
export function standInPerTest(): { start(stores: Parameters<typeof VendorStandIn.start>[0]): Promise<VendorStandIn> } {
  let current: VendorStandIn | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    async start(stores) {
      current = await VendorStandIn.start(stores);
      return current;
    },
  };
}
