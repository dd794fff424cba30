import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { duckQuery, factGlob } from './duck-read.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// Regression: a self-heal re-ingest reads new input fingerprints whose events are all already in the table.
// Every partition then has zero rows to add, and the writer must add nothing instead of failing.
describe('re-ingest with nothing new', () => {
  it('commits no rows and no files when every event is already stored', async () => {
    const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-wh-reingest-'));
    dirs.push(wh);
    const table = await FactTable.open(wh, { now: () => Date.parse('2024-01-05T00:00:00Z') });
    const events = sampleEvents({ days: ['2024-01-03', '2024-01-04'], count: 50, seed: 3 });
    const load = (sha: string, runId: string) => ({
      runId,
      source: 'stripe',
      windows: [{ startMs: Date.parse('2024-01-03T00:00:00Z'), endMs: Date.parse('2024-01-05T00:00:00Z') }],
      inputs: [{ path: 'stripe/2024-01-03/00/charge.jsonl', sha256: sha, bytes: 10 }],
      events: streamOf(events),
      quarantine: [],
    });
    const first = await table.commitIngest(load('a'.repeat(64), 'run-1'));
    expect(first.rowsWritten).toBe(50);
    const again = await table.commitIngest(load('b'.repeat(64), 'run-2'));
    expect(again.rowsWritten).toBe(0);
    expect(again.duplicatesExisting).toBe(50);
    expect(again.filesAdded).toBe(0);
    const [[n]] = (await duckQuery(`SELECT count(*)::INTEGER FROM read_parquet('${factGlob(wh)}', hive_partitioning = true)`)) as [[number]];
    expect(n).toBe(50);
  });
});
