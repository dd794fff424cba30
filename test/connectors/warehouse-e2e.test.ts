/**
 * Real sample exports → connectors → the Parquet fact table and quarantine, checked with DuckDB as a BI user would:
 * every input record is in exactly one place, money is exact, re-running is idempotent.
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { openSource } from '../../connectors/index.js';
import { FactTable } from '../../warehouse/index.js';
import { connectorConfig, landFixtures, NOW, tempDir, WINDOW } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function duck(sql: string): Promise<unknown[][]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    return (await conn.runAndReadAll(sql)).getRows().map((r) => r.map((v) => (v === null ? null : typeof v === 'object' || typeof v === 'bigint' ? String(v) : v)));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

async function ingest(table: FactTable, landing: string, source: string, runId: string) {
  const src = openSource(connectorConfig(landing), source);
  const batch = await src.read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId, committed: await table.committedInputs(source) });
  const seen: { eventId: string; record: string }[] = [];
  async function* tee() {
    for await (const e of batch.events) {
      seen.push({ eventId: e.eventId, record: `${e.lineage.sourceFile}#${e.lineage.sourcePosition}` });
      yield e;
    }
  }
  const res = await table.commitIngest({ runId, source, windows: [WINDOW], inputs: batch.inputs, events: tee(), quarantine: batch.quarantine });
  return { res, batch, seen };
}

describe.each(['zuora', 'stripe', 'chargebee'])('%s exports through the warehouse', (source) => {
  it('every input record is in the fact table (its events, deduplicated by event_id) or in quarantine; re-running adds nothing', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const landing = path.join(t.dir, 'landing');
    const wh = path.join(t.dir, 'wh');
    landFixtures(landing, source);
    const table = await FactTable.open(wh);
    const { batch, seen } = await ingest(table, landing, source, 'run-1');
    const fact = path.join(wh, 'fact_billing_event', '*', '*.parquet');
    const quar = path.join(wh, 'quarantine', '*', '*.parquet');
    const ids = new Set((await duck(`SELECT event_id FROM read_parquet('${fact}', hive_partitioning = true)`)).map((r) => String(r[0])));
    expect(ids.size).toBe(new Set(seen.map((s) => s.eventId)).size); // one row per distinct event_id
    for (const s of seen) expect(ids.has(s.eventId)).toBe(true); // every mapped record's events are stored
    const quarantined = batch.quarantine.length
      ? Number(((await duck(`SELECT count(*) FROM read_parquet('${quar}', hive_partitioning = true) WHERE billing_source = '${source}'`)) as [[number]])[0][0])
      : 0;
    expect(quarantined).toBe(batch.quarantine.length);
    expect(new Set(seen.map((s) => s.record)).size + quarantined).toBe(batch.stats.records);
    const before = await duck(`SELECT count(*), sum(amount)::VARCHAR FROM read_parquet('${fact}', hive_partitioning = true)`);

    const again = await ingest(table, landing, source, 'run-2');
    expect(again.batch.inputs).toEqual([]);
    expect(await duck(`SELECT count(*), sum(amount)::VARCHAR FROM read_parquet('${fact}', hive_partitioning = true)`)).toEqual(before);
  });
});

describe('chargebee update pair in the fact table', () => {
  it('cbdemo_inv_003 is one INVOICE_POSTED and one INVOICE_PAID row, amounts exact', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const landing = path.join(t.dir, 'landing');
    const wh = path.join(t.dir, 'wh');
    landFixtures(landing, 'chargebee');
    const table = await FactTable.open(wh);
    await ingest(table, landing, 'chargebee', 'run-1');
    const rows = await duck(
      `SELECT event_type, amount::VARCHAR, currency FROM read_parquet('${path.join(wh, 'fact_billing_event', '*', '*.parquet')}', hive_partitioning = true)
       WHERE source_record_id = 'cbdemo_inv_003' ORDER BY event_type`,
    );
    expect(rows).toEqual([
      ['INVOICE_PAID', '770.000000000', 'USD'],
      ['INVOICE_POSTED', '800.000000000', 'USD'],
    ]);
  });
});
