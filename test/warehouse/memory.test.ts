/**
 * Bounded memory (a regression guard, never a timing): a child process with a small V8 heap
 * (--max-old-space-size=64) streams a large day through ingest (spilling runs), re-loads it (every id is
 * then already in the partition), loads a second set and compacts the day. Holding the day's rows as JS
 * objects would exceed the heap and kill the child; the counts must come out exact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { ensureBuilt, runChild } from './child.js';
import { duckQuery } from './duck-read.js';

const EVENTS = Number(process.env.BM_WAREHOUSE_MEMORY_EVENTS ?? 60_000);
const DAY = '2024-03-05';
let wh: string;
beforeAll(async () => {
  await ensureBuilt();
  wh = mkdtempSync(path.join(os.tmpdir(), 'bm-wh-mem-'));
});
afterAll(() => rmSync(wh, { recursive: true, force: true }));

describe('warehouse memory', () => {
  it(`ingests, re-ingests and compacts a day of ${EVENTS} events with a 64 MB heap, exactly`, async () => {
    const r = await runChild(['bulk', wh, String(EVENTS), DAY], { NODE_OPTIONS: '--max-old-space-size=64' });
    expect(r.stderr).not.toMatch(/heap out of memory/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ingest: Record<string, number>; again: Record<string, number>; compact: { compacted: { rows: number; filesBefore: number; filesAfter: number }[] }; maxRssKiB: number };
    const dups = Math.ceil(EVENTS / 10);
    expect(out.ingest).toMatchObject({ rowsIn: EVENTS + dups, rowsWritten: EVENTS, duplicatesInBatch: dups, duplicatesExisting: 0 });
    expect(out.again).toMatchObject({ rowsIn: EVENTS + dups, rowsWritten: 0, duplicatesInBatch: dups, duplicatesExisting: EVENTS });
    expect(out.compact.compacted).toEqual([expect.objectContaining({ rows: 2 * EVENTS, filesBefore: 2, filesAfter: 1 })]);
    const table = await FactTable.open(wh);
    const m = await table.manifest(DAY);
    expect(m!.rows).toBe(2 * EVENTS);
    const files = await table.files(DAY);
    const [[rows, ids, minSeqn]] = (await duckQuery(`SELECT count(*), count(DISTINCT event_id), min(seqn) FROM read_parquet('${files[0]}')`)) as [[bigint, bigint, bigint]];
    expect([Number(rows), Number(ids), Number(minSeqn)]).toEqual([2 * EVENTS, 2 * EVENTS, 0]);
    // each in-batch duplicate (same id, seqn i - 1) lost to the row with seqn i
    const [[losers]] = (await duckQuery(`SELECT count(*) FROM read_parquet('${files[0]}') WHERE source_record_id LIKE 'a%' AND seqn <> CAST(substr(source_record_id, 2) AS BIGINT)`)) as [[bigint]];
    expect(Number(losers)).toBe(0);
    process.stderr.write(`warehouse memory: ${EVENTS} events/load, peak RSS ${Math.round(out.maxRssKiB / 1024)} MiB (heap cap 64 MB)\n`);
  }, 300_000);
});
