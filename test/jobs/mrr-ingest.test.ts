/**
 * MRR from real sources, end to end: the Chargebee mapping states each subscription version's `mrr` (real API
 * records, test/fixtures/chargebee), ingest turns the observations into mrr_delta rows through events/mrr.ts, and
 * versions that arrive out of order converge to the same per-month sums as an in-order load (read with DuckDB).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { openSource } from '../../connectors/index.js';
import { parseWindow } from '../../partitions/index.js';
import { openApp } from '../../jobs/app.js';
import { ManualClock } from '../../jobs/clock.js';
import { runIngest } from '../../jobs/ingest.js';
import { memoryLogger } from '../../jobs/log.js';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { tempDirsPerTest } from './helpers.js';

const dir = tempDirsPerTest();
const FIX = path.resolve(import.meta.dirname, '../fixtures/chargebee');
const page = JSON.parse(readFileSync(path.join(FIX, 'subscription-page.json'), 'utf8')) as { list: { subscription: Record<string, unknown> }[] };
const active = page.list.map((x) => x.subscription).find((s) => s.id === 'cbdemo_active_sub')!;

function land(landing: string, day: string, hh: string, subs: Record<string, unknown>[]) {
  const folder = path.join(landing, 'chargebee', day, hh);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, `subscription-${subs.map((s) => s.resource_version).join('_')}.json`), JSON.stringify({ list: subs.map((s) => ({ subscription: s })) }));
  writeFileSync(path.join(folder, '_SUCCESS'), '');
}

describe('Chargebee subscription mrr → MRR observations', () => {
  it('reads each real subscription record as one observation: its mrr in cents, at its resource_version', async () => {
    const landing = path.join(dir(), 'landing');
    mkdirSync(path.join(landing, 'chargebee', '2024-01-03', '00'), { recursive: true });
    writeFileSync(path.join(landing, 'chargebee', '2024-01-03', '00', 'subscription.json'), readFileSync(path.join(FIX, 'subscription-page.json')));
    writeFileSync(path.join(landing, 'chargebee', '2024-01-03', '00', '_SUCCESS'), '');
    const src = openSource({ landing, pickup: { mode: 'marker', quietSeconds: 60 }, sources: DEFAULT_SOURCES }, 'chargebee');
    const batch = await src.read(parseWindow('2024-01-03T00:00Z/2024-01-03T04:00Z'), { lookbackHours: 0, nowMs: Date.parse('2024-01-03T06:00:00Z'), runId: 'r' });
    for await (const _ of batch.events) void _;
    expect(batch.quarantine).toEqual([]);
    expect(batch.mrr.map((o) => [o.subscriptionId, o.accountId, o.version, o.mrr.toString(), new Date(Number(o.effectiveTs / 1000n)).toISOString()])).toEqual([
      ['cbdemo_cancelled_sub', 'cbdemo_carol', '1627671478828', '0 USD', '2021-07-30T18:57:58.000Z'],
      ['cbdemo_active_sub', 'cbdemo_richard', '1627671488424', '791.67 USD', '2021-07-30T18:58:08.000Z'],
      ['cbdemo_non_renewing_sub', 'cbdemo_tyler', '1628731678421', '0 USD', '2021-08-12T01:27:58.000Z'],
      ['cbdemo_trial_sub', 'cbdemo_tyler', '1628731685771', '200 USD', '2021-08-12T01:28:05.000Z'],
      ['cbdemo_future_sub', 'cbdemo_simon', '1643336890150', '800 USD', '2022-01-28T02:28:10.000Z'],
    ]);
  });
});

describe('mrr_delta through ingest', () => {
  // the real active subscription, then two later versions of it: a quantity change and a cancellation next month
  const v1 = active;
  const v2 = { ...active, plan_quantity: 2, mrr: 158334, updated_at: Number(active.updated_at) + 86_400, resource_version: Number(active.resource_version) + 86_400_000 };
  const v3 = { ...active, status: 'cancelled', mrr: 0, updated_at: Number(active.updated_at) + 40 * 86_400, resource_version: Number(active.resource_version) + 40 * 86_400_000 };

  async function load(order: Record<string, unknown>[][]) {
    const root = dir();
    const landing = path.join(root, 'landing');
    const configFile = path.join(root, 'billing-mart.yaml');
    writeFileSync(configFile, JSON.stringify({ landing, warehouse: path.join(root, 'wh'), builtins: ['chargebee'] }));
    const clock = new ManualClock('2024-01-10T00:00:00Z');
    const app = await openApp(loadConfig({ configFile, env: {} }), { clock, log: memoryLogger(clock) });
    const runs = [];
    for (const [i, subs] of order.entries()) {
      const hh = String(i * 4).padStart(2, '0');
      land(landing, '2024-01-03', hh, subs);
      const w = parseWindow(`2024-01-03T${hh}:00Z/2024-01-03T${String(i * 4 + 4).padStart(2, '0')}:00Z`);
      runs.push(await runIngest(app.deps, { source: 'chargebee', window: w, trigger: 'manual', lookbackHours: 0 }));
    }
    // re-running a window reads nothing new and adds no row
    runs.push(await runIngest(app.deps, { source: 'chargebee', window: parseWindow('2024-01-03T00:00Z/2024-01-03T04:00Z'), trigger: 'manual', lookbackHours: 24 }));
    expect(runs.map((r) => r.status)).toEqual(runs.map(() => 'succeeded'));
    return { app, runs, fact: path.join(root, 'wh', 'fact_billing_event', 'event_day=*', '*.parquet') };
  }

  async function duck(sql: string): Promise<string[][]> {
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    try {
      return (await conn.runAndReadAll(sql)).getRows().map((r) => r.map((v) => String(v)));
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  }

  it('late versions converge: per-month sums equal an in-order load, the subscription ends at 0, re-runs add nothing', async () => {
    const inOrder = await load([[v1], [v2], [v3]]);
    const late = await load([[v1, v3], [v2]]); // v2 arrives after v3
    const perMonth = (fact: string) =>
      duck(`SELECT strftime(event_date, '%Y-%m') AS m, CAST(sum(mrr_delta) AS VARCHAR) FROM read_parquet('${fact}', hive_partitioning = true) WHERE event_type = 'MRR_CHANGED' AND subscription_id = 'cbdemo_active_sub' GROUP BY 1 ORDER BY 1`);
    expect(await perMonth(inOrder.fact)).toEqual([
      ['2021-07', '1583.340000000'], // new at 791.67, then quantity 2 the next day
      ['2021-09', '-1583.340000000'], // cancelled
    ]);
    expect(await perMonth(late.fact)).toEqual(await perMonth(inOrder.fact));
    const rows = (fact: string) =>
      duck(`SELECT source_record_id, source_version, CAST(mrr_delta AS VARCHAR), CAST(amount AS VARCHAR), strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%d') FROM read_parquet('${fact}', hive_partitioning = true) WHERE event_type = 'MRR_CHANGED' ORDER BY seqn, source_version`);
    const r1 = `cbdemo_active_sub@${v1.resource_version}`;
    const r2 = `cbdemo_active_sub@${v2.resource_version}`;
    const r3 = `cbdemo_active_sub@${v3.resource_version}`;
    expect(await rows(inOrder.fact)).toEqual([
      [r1, '0', '791.670000000', '0.000000000', '2021-07-30'],
      [r2, '0', '791.670000000', '0.000000000', '2021-07-31'],
      [r3, '0', '-1583.340000000', '0.000000000', '2021-09-08'],
    ]);
    // out of order: v3 first took its delta against v1 (−791.67); v2's late arrival adds its own delta and a
    // correction dated at v3 — rows are never edited
    expect(await rows(late.fact)).toEqual([
      [r1, '0', '791.670000000', '0.000000000', '2021-07-30'],
      [r2, '0', '791.670000000', '0.000000000', '2021-07-31'],
      [r3, '0', '-791.670000000', '0.000000000', '2021-09-08'],
      [r3, '1', '-791.670000000', '0.000000000', '2021-09-08'],
    ]);
    expect(late.runs.at(-1)!.rowsWritten).toBe(0);
  });
});
