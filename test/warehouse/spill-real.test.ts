/**
 * The spilled path on real records: the public exports of every built-in source (test/fixtures, with their
 * licenses), mapped by the built-in mappings, delivered twice in one batch (the same export dropped again under
 * another name, and in another order), staged and committed with a spill budget of a few rows must give exactly
 * the table the same batch gives staged whole: the same rows (every column), the same in-batch duplicates,
 * conflicts and quarantine. The fixtures are far below the default `spillRows`, so without this test the spilled
 * merge (warehouse/run-merge.ts) is proven on generated events only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../connectors/index.js';
import type { BillingEvent } from '../../events/model.js';
import { FactTable } from '../../warehouse/index.js';
import { stageEventsAt } from '../../warehouse/staging.js';
import { connectorConfig, landFixtures, NOW, WINDOW } from '../connectors/helpers.js';
import { rng, streamOf } from '../helpers/sample-events.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-spill-real-'));
  dirs.push(d);
  return d;
}

/** The source's fixtures read by its built-in mapping: the events and the read's quarantine. */
async function realBatch(source: string) {
  const landing = path.join(tmp(), 'landing');
  landFixtures(landing, source);
  const batch = await openSource(connectorConfig(landing), source).read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'run-1' });
  const events: BillingEvent[] = [];
  for await (const e of batch.events) events.push(e);
  return { events, inputs: batch.inputs, quarantine: batch.quarantine };
}

/** The batch delivered twice: the copy from another file name (the same export dropped again), the whole shuffled. */
function redelivered(source: string, events: readonly BillingEvent[], seed: number): BillingEvent[] {
  const again = events.map((e) => ({ ...e, lineage: { ...e.lineage, sourceFile: `${source}/2024-01-03/04/again-${path.basename(e.lineage.sourceFile)}` } }));
  const out = [...events, ...again];
  const r = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function factRows(wh: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const glob = path.join(wh, 'fact_billing_event', '*', '*.parquet');
    const rows = (await conn.runAndReadAll(`SELECT * EXCLUDE (event_date) FROM read_parquet('${glob}', hive_partitioning = false) ORDER BY event_id`)).getRows();
    return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

async function commit(source: string, b: Awaited<ReturnType<typeof realBatch>>, events: BillingEvent[], spillRows: number) {
  const wh = tmp();
  let spills = 0;
  const table = await FactTable.open(wh, { spillRows, autoCompactFileCount: 0, faults: (p) => void (p === 'ingest:after-spill' && spills++) });
  const res = await table.commitIngest({ runId: 'run-1', source, windows: [WINDOW], inputs: b.inputs, events: streamOf(events), quarantine: b.quarantine });
  return { res, spills, rows: await factRows(wh) };
}

describe.each(['stripe', 'chargebee', 'zuora', 'recurly'])('%s real exports through a spilled batch', (source) => {
  it('stage: a spill budget of a few rows gives the staged day files of the batch staged whole, byte for byte', async () => {
    const b = await realBatch(source);
    expect(b.events.length).toBeGreaterThan(10);
    const events = redelivered(source, b.events, 7);
    const stage = async (spillRows: number) => {
      const s = await stageEventsAt(tmp(), { source, runId: 'run-1', events: streamOf(events) }, { spillRows, spillBytes: 1 << 30 });
      const days = [...s.files].sort(([a], [c]) => (a < c ? -1 : 1)).map(([day, files]) => `${day}\n${files.map((f) => readFileSync(f, 'latin1')).join('')}`);
      return { s, days };
    };
    const whole = await stage(1_000_000);
    expect(whole.s.spilled).toBe(false);
    for (const spillRows of [3, 11]) {
      const spilled = await stage(spillRows);
      expect(spilled.s.spilled).toBe(true);
      expect(spilled.days).toEqual(whole.days);
      expect(spilled.s.duplicatesInBatch).toBe(whole.s.duplicatesInBatch);
      expect(spilled.s.conflicts).toEqual(whole.s.conflicts);
      expect(spilled.s.rejected).toEqual(whole.s.rejected);
    }
    // every re-delivered copy is an in-batch duplicate (and the batch's own duplicates stay)
    expect(whole.s.duplicatesInBatch).toBeGreaterThanOrEqual(b.events.length);
  });

  it('warehouse: the committed table (every column) and the counts are those of the batch committed unspilled', async () => {
    const b = await realBatch(source);
    const events = redelivered(source, b.events, 11);
    const whole = await commit(source, b, events, 1_000_000);
    const spilled = await commit(source, b, events, 5);
    expect(whole.spills).toBe(0);
    expect(spilled.spills).toBeGreaterThan(2);
    expect(spilled.rows).toEqual(whole.rows);
    expect(whole.rows.length).toBe(whole.res.rowsWritten);
    expect(whole.rows.length).toBeGreaterThan(0);
    const counts = (r: typeof whole.res) => ({ rowsIn: r.rowsIn, rowsWritten: r.rowsWritten, duplicatesInBatch: r.duplicatesInBatch, conflicts: r.conflicts, quarantined: r.quarantined, partitions: r.partitions });
    expect(counts(spilled.res)).toEqual(counts(whole.res));
  });
});
