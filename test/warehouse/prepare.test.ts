/**
 * A commit is a prepare (read, map, stage sorted runs: no lock) and a publish (dedupe against the table, write,
 * log: under the writer lock). Prepares of different loads overlap each other and other commits.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BillingEvent } from '../../events/model.js';
import { FactTable } from '../../warehouse/index.js';
import { WRITER_LOCK } from '../../warehouse/core.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { readFactText } from './duck-read.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmpWarehouse(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-prep-'));
  dirs.push(d);
  return d;
}
const W = { startMs: Date.parse('2024-01-03T00:00:00Z'), endMs: Date.parse('2024-01-03T04:00:00Z') };
function load(events: AsyncIterable<BillingEvent> | Iterable<BillingEvent>, runId: string, source = 'stripe') {
  return { runId, source, windows: [W], inputs: [{ path: `${source}/2024-01-03/00/${runId}.csv`, sha256: 'b'.repeat(64), bytes: 1 }], events, quarantine: [] };
}

describe('prepare without the lock, publish with it', () => {
  it('stages (and spills) a load while the writer lock is free', async () => {
    const wh = tmpWarehouse();
    const seen: { point: string; locked: boolean }[] = [];
    const faults = async (point: string) => void seen.push({ point, locked: (await table.core.locks.holder(WRITER_LOCK)) !== undefined });
    const table: FactTable = await FactTable.open(wh, { spillRows: 100, faults, autoCompactFileCount: 0 });
    await table.commitIngest(load(streamOf(sampleEvents({ days: ['2024-01-03'], count: 350, seed: 1 })), 'run-1'));
    expect(seen.filter((s) => s.point === 'ingest:after-spill').map((s) => s.locked)).toEqual([false, false, false]);
    // the spilled runs' merge and the conversion to Parquet belong to the prepare too: done before the lock is taken
    const unlocked = ['ingest:after-spill', 'ingest:after-stage', 'ingest:after-convert'];
    expect(seen.filter((s) => unlocked.includes(s.point)).map((s) => [s.point, s.locked])).toEqual([
      ['ingest:after-spill', false], ['ingest:after-spill', false], ['ingest:after-spill', false], ['ingest:after-stage', false], ['ingest:after-convert', false],
    ]);
    expect(seen.filter((s) => s.point.startsWith('ingest:after-') && !unlocked.includes(s.point) && s.point !== 'ingest:after-publish').every((s) => s.locked)).toBe(true);
    expect(readdirSync(path.join(wh, '_store', 'prep'))).toEqual([]); // the prepare's scratch is gone
  });

  it('another load commits while a load is still being read; both end in the table', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh, { autoCompactFileCount: 0, lockTimeoutMs: 2000, lockPollMs: 10 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reading!: () => void;
    const started = new Promise<void>((r) => (reading = r));
    const slow = sampleEvents({ source: 'stripe', days: ['2024-01-03'], count: 200, seed: 2 });
    async function* paused(): AsyncGenerator<BillingEvent> {
      yield* slow.slice(0, 100);
      reading();
      await gate; // the source is still being read
      yield* slow.slice(100);
    }
    const a = table.commitIngest(load(paused(), 'run-a'));
    await started;
    const b = await table.commitIngest(load(streamOf(sampleEvents({ source: 'zuora', days: ['2024-01-03'], count: 50, seed: 3 })), 'run-b', 'zuora'));
    expect(b).toMatchObject({ version: 1, rowsWritten: 50 });
    release();
    expect(await a).toMatchObject({ version: 2, rowsWritten: 200 });
    expect(await readFactText(wh)).toHaveLength(250);
  });
});
