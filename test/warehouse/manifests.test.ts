/** manifests(days): what `status` reads for a range of days — the same documents as manifest(day), from one read of the state. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dayRange } from '../../partitions/index.js';
import { FactTable } from '../../warehouse/index.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('manifests of a range of days', () => {
  it('equal the per-day manifests (null for a day without data) and read the commit log once, whatever the number of days', async () => {
    const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-man-'));
    dirs.push(wh);
    const table = await FactTable.open(wh, { autoCompactFileCount: 0 });
    const days = ['2024-01-02', '2024-01-03', '2024-01-05'];
    for (const [i, day] of days.entries()) {
      const W = { startMs: Date.parse(`${day}T00:00:00Z`), endMs: Date.parse(`${day}T04:00:00Z`) };
      await table.commitIngest({ runId: `r${i}`, source: 'stripe', windows: [W], inputs: [{ path: `stripe/${day}/00/x.csv`, sha256: 'c'.repeat(64), bytes: 1 }], events: streamOf(sampleEvents({ days: [day], count: 30, seed: i, prefix: day })), quarantine: [] });
    }
    const range = dayRange('2024-01-01', '2024-01-06');
    const spy = vi.spyOn(table.core, 'current');
    const log = vi.spyOn(table.core, 'readLog');
    const got = await table.manifests(range);
    // one read of the table state (the cached checkpoint state, caught up), never a replay of the whole log
    expect(spy).toHaveBeenCalledTimes(1);
    expect(log).not.toHaveBeenCalled();
    spy.mockRestore();
    log.mockRestore();
    for (const d of range) expect(got.get(d)).toEqual(await table.manifest(d));
    expect(range.filter((d) => got.get(d) !== null)).toEqual(days);
  });
});
