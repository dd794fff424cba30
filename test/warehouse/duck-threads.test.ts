/**
 * Issue 11 item 4: the ingest's shared DuckDB instance runs one thread by default (a second thread on a
 * (source, day) conversion cost 30-45 % more CPU for no shorter wall time: docs/bench.md, session 6). The table a
 * load writes does not depend on the thread count: the same events give the same rows in the same files' order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { DEFAULT_TUNING } from '../../warehouse/options.js';
import { sampleEvent, streamOf } from '../helpers/sample-events.js';
import { duckQuery, factGlob, readFactText } from './duck-read.js';
import type { BillingEvent } from '../../events/model.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const W = { startMs: Date.parse('2024-01-03T00:00:00Z'), endMs: Date.parse('2024-01-04T00:00:00Z') };
/** 6 000 events over the day, a few re-delivered (in-batch duplicates), out of order. */
function events(): BillingEvent[] {
  return Array.from({ length: 6000 }, (_, k) => {
    const i = (k * 7919) % 6000;
    const id = i % 50 === 0 ? i + 1 : i;
    return sampleEvent({ recordId: `t${id}`, seqn: BigInt(id), sourcePosition: k + 1, ts: `2024-01-03T${String(id % 24).padStart(2, '0')}:${String(id % 60).padStart(2, '0')}:00Z` });
  });
}

function tmp(): string {
  const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-threads-'));
  dirs.push(wh);
  return wh;
}

async function load(opts: { threads?: number }) {
  const wh = tmp();
  const table = await FactTable.open(wh, { ...opts, autoCompactFileCount: 0 });
  const res = await table.commitIngest({ runId: 'r1', source: 'stripe', windows: [W], inputs: [{ path: 'stripe/2024-01-03/00/x.jsonl', sha256: 'a'.repeat(64), bytes: 1 }], events: streamOf(events()), quarantine: [] });
  // the rows in file order (the partition order the prepare wrote), not only as a set
  const ordered = await duckQuery(`SELECT event_id FROM read_parquet('${factGlob(wh)}', hive_partitioning = true)`);
  return { tuning: table.tuning, res, text: await readFactText(wh), ordered };
}

describe("the ingest's DuckDB threads", () => {
  it('default to 1, and a configured 2 still applies', async () => {
    expect(DEFAULT_TUNING.threads).toBe(1);
    expect((await FactTable.open(tmp())).tuning.threads).toBe(1);
    expect((await FactTable.open(tmp(), { threads: 2 })).tuning.threads).toBe(2);
  });

  it('do not change the table: one thread and two write the same rows in the same order', async () => {
    const one = await load({ threads: 1 });
    const two = await load({ threads: 2 });
    expect(one.tuning.threads).toBe(1);
    expect(two.tuning.threads).toBe(2);
    expect(one.res).toMatchObject({ rowsIn: 6000, rowsWritten: 5880, duplicatesInBatch: 120 });
    expect(one.text).toEqual(two.text);
    expect(one.ordered).toEqual(two.ordered);
  });
});
