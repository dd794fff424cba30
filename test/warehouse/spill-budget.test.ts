/**
 * Issue 11 item 3: the ingest's staging memory is bounded by a budget, not by the size of the day: past
 * `spillRows` rows OR `spillBytes` of staged line text, sorted runs spill to the commit's scratch directory and
 * DuckDB merges them. Wide rows spill on the byte budget long before the row budget; the table is the same.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { tuningProblems } from '../../config/tuning.js';
import { sampleEvent, streamOf } from '../helpers/sample-events.js';
import { readFactText } from './duck-read.js';
import type { BillingEvent } from '../../events/model.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const W = { startMs: Date.parse('2024-01-03T00:00:00Z'), endMs: Date.parse('2024-01-03T04:00:00Z') };
/** 3 000 events of ~2 KB of text each (a long account name): ~6 MB of staged lines in one commit. */
function wideEvents(): BillingEvent[] {
  const wide = 'n'.repeat(2000);
  return Array.from({ length: 3000 }, (_, i) =>
    sampleEvent({ recordId: `w${i}`, seqn: BigInt(i), sourcePosition: i + 1, ts: `2024-01-03T${String(i % 24).padStart(2, '0')}:00:00Z`, dims: { accountName: `${wide}${i}`, accountSegment: null, accountCountry: null, productName: 'P', planName: null, dimStatus: 'OK' } }),
  );
}

async function ingest(opts: { spillRows?: number; spillBytes?: number }) {
  const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-spill-'));
  dirs.push(wh);
  const points: string[] = [];
  const table = await FactTable.open(wh, { ...opts, autoCompactFileCount: 0, faults: (p) => void points.push(p) });
  const events = wideEvents();
  const res = await table.commitIngest({ runId: 'r1', source: 'stripe', windows: [W], inputs: [{ path: 'stripe/2024-01-03/00/x.jsonl', sha256: 'a'.repeat(64), bytes: 1 }], events: streamOf(events), quarantine: [] });
  return { res, spills: points.filter((p) => p === 'ingest:after-spill').length, text: await readFactText(wh) };
}

describe('staging spills on a byte budget as well as a row budget', () => {
  it('wide rows spill at spillBytes (1 MiB) although far below spillRows; the table is the same as unspilled', async () => {
    const budget = await ingest({ spillRows: 1_000_000, spillBytes: 1024 * 1024 });
    const whole = await ingest({ spillRows: 1_000_000, spillBytes: 1024 * 1024 * 1024 });
    expect(budget.spills).toBeGreaterThanOrEqual(5); // ~6 MB of lines in 1 MiB runs
    expect(whole.spills).toBe(0);
    expect(budget.res).toMatchObject({ rowsIn: 3000, rowsWritten: 3000 });
    expect(budget.text).toEqual(whole.text);
  });

  it('spillBytes, memoryLimit, threads, compactMemoryLimit and compactThreads are validated with their key', () => {
    expect(tuningProblems({ spillBytes: 1000 })).toEqual([['spillBytes', '1000 is invalid: expected an integer >= 1048576']]);
    expect(tuningProblems({ memoryLimit: '16MB' })).toEqual([['memoryLimit', '"16MB" is invalid: expected at least 32MB (DuckDB cannot sort or merge in less)']]);
    expect(tuningProblems({ memoryLimit: 'lots' })).toEqual([['memoryLimit', `"lots" is invalid: expected a size such as '192MB'`]]);
    expect(tuningProblems({ threads: 65 })).toEqual([['threads', '65 is invalid: expected at most 64']]);
    expect(tuningProblems({ spillBytes: 64 * 2 ** 20, memoryLimit: '192MB', threads: 2 })).toEqual([]);
    expect(tuningProblems({ memoryLimit: '0.5GiB' })).toEqual([]);
    // compaction's own DuckDB sizing, by the same rules
    expect(tuningProblems({ compactMemoryLimit: '16MB', compactThreads: 0 })).toEqual([
      ['compactThreads', '0 is invalid: expected an integer >= 1'],
      ['compactMemoryLimit', '"16MB" is invalid: expected at least 32MB (DuckDB cannot sort or merge in less)'],
    ]);
    expect(tuningProblems({ compactMemoryLimit: '192MB', compactThreads: 1 })).toEqual([]);
  });
});
