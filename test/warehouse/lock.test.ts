import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RetriableError } from '../../events/errors.js';
import { LOCK_PATH, WriterLock } from '../../warehouse/lock.js';
import { FactTable, LocalStorage } from '../../warehouse/index.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { readFactText } from './duck-read.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-lock-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeClock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

function holder(pid: number) {
  return JSON.stringify({ pid, host: os.hostname(), token: 'other', acquiredAt: '2024-01-01T00:00:00.000Z', purpose: 'ingest stripe' });
}

describe('writer lock', () => {
  it('waits for a live holder and gives up with a retriable error naming the holder and the lock file', async () => {
    const wh = tmp();
    mkdirSync(path.join(wh, '_store'), { recursive: true });
    writeFileSync(path.join(wh, LOCK_PATH), holder(4242));
    const c = fakeClock();
    const p = WriterLock.acquire(new LocalStorage(wh), 'test', { timeoutMs: 5_000, pollMs: 1_000, ...c, isAlive: () => true });
    await expect(p).rejects.toBeInstanceOf(RetriableError);
    await expect(p).rejects.toThrow(/locked by pid 4242 .*ingest stripe.*waited 5 s.*remove .*_store\/lock/);
  });

  it('breaks the lock of a holder that died on this host and takes it', async () => {
    const wh = tmp();
    mkdirSync(path.join(wh, '_store'), { recursive: true });
    writeFileSync(path.join(wh, LOCK_PATH), holder(4242));
    const lock = await WriterLock.acquire(new LocalStorage(wh), 'test', { timeoutMs: 5_000, pollMs: 1_000, ...fakeClock(), isAlive: (pid) => pid !== 4242 });
    expect(JSON.parse(readFileSync(path.join(wh, LOCK_PATH), 'utf8')).pid).toBe(process.pid);
    await lock.release();
    expect(() => readFileSync(path.join(wh, LOCK_PATH))).toThrow(/ENOENT/);
  });
});

describe('optimistic check behind the lock', () => {
  it('publishes nothing when another writer took the version number first', async () => {
    const wh = tmp();
    const events = sampleEvents({ days: ['2024-01-03'], count: 20 });
    const ok = await FactTable.open(wh);
    await ok.commitIngest({ runId: 'r1', source: 'stripe', windows: [], inputs: [{ path: 'a', sha256: 'a', bytes: 1 }], events: streamOf(events), quarantine: [] });
    const before = await readFactText(wh);
    const racing = await FactTable.open(wh, {
      faults: (point) => {
        if (point === 'ingest:after-version-dir') writeFileSync(path.join(wh, '_store', 'log', '0000000002.json'), '{}');
      },
    });
    const more = sampleEvents({ days: ['2024-01-03'], count: 20, prefix: 'x' });
    await expect(racing.commitIngest({ runId: 'r2', source: 'stripe', windows: [], inputs: [{ path: 'b', sha256: 'b', bytes: 1 }], events: streamOf(more), quarantine: [] })).rejects.toThrow(
      /another writer committed version 2 .* nothing was published, run again/,
    );
    expect(await readFactText(wh)).toEqual(before);
  });

  it('reports a corrupt commit log entry with its path and what to do', async () => {
    const wh = tmp();
    const t = await FactTable.open(wh);
    await t.writeDimensionSnapshot('dim_product', '2024-01-03', [{ product_id: 'p1' }]);
    writeFileSync(path.join(wh, '_store', 'log', '0000000001.json'), '{"version": 1,');
    await expect(t.history()).rejects.toThrow(/commit log entry .*0000000001\.json is not valid JSON .*restore that file from backup/);
  });
});
