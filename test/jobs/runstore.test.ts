import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../jobs/clock.js';
import { RunStore } from '../../jobs/runstore.js';
import { tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function store(clock: ManualClock, dir?: string, isAlive: (pid: number) => boolean = () => true) {
  if (!dir) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    dir = t.dir;
  }
  return new RunStore({ dir, clock, isAlive });
}

describe('RunStore', () => {
  it('records a run from start to finish and a new store instance (a restart) reads it back', async () => {
    const clock = new ManualClock('2024-01-03T08:00:05Z');
    const s = store(clock);
    let r = await s.start({ job: 'ingest', source: 'zuora', window: '2024-01-03T04:00Z/2024-01-03T08:00Z', trigger: 'schedule' });
    expect(r.status).toBe('running');
    expect(r.runId).toMatch(/^20240103T080005Z-ingest-zuora-[0-9a-f]{8}$/);
    r = await s.update(r, { attempts: 1 });
    await clock.advance(12_000);
    await s.finish(r, 'succeeded', { rowsIn: 10, rowsWritten: 8, duplicates: 1, quarantined: { BAD_AMOUNT: 1 }, files: ['zuora/2024-01-03/04/invoice.csv'], commitId: 'c1', version: 3 });

    const again = new RunStore({ dir: s.dir, clock });
    const runs = await again.list({ source: 'zuora' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', startedAt: '2024-01-03T08:00:05Z', endedAt: '2024-01-03T08:00:17Z', rowsWritten: 8, quarantined: { BAD_AMOUNT: 1 }, commitId: 'c1', attempts: 1 });
    expect(await again.get(r.runId)).toMatchObject({ version: 3 });
    expect(await again.list({ source: 'stripe' })).toEqual([]);
  });

  it('filters by job, window, status and start time, oldest first', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const s = store(clock);
    const a = await s.start({ job: 'ingest', source: 'a', window: 'w1', trigger: 'manual' });
    await s.finish(a, 'failed', { error: 'boom' });
    await clock.advance(86_400_000);
    const b = await s.start({ job: 'ingest', source: 'a', window: 'w2', trigger: 'manual' });
    await s.finish(b, 'succeeded');
    await clock.advance(1000);
    await s.start({ job: 'completeness', trigger: 'schedule' });
    expect((await s.list({ job: 'ingest' })).map((r) => r.window)).toEqual(['w1', 'w2']);
    expect((await s.list({ status: 'failed' })).map((r) => r.error)).toEqual(['boom']);
    expect((await s.list({ sinceMs: Date.parse('2024-01-02T00:00:00Z') })).map((r) => r.job)).toEqual(['ingest', 'completeness']);
    expect(readdirSync(s.dir).sort()).toEqual(['2024-01-01', '2024-01-02']);
  });

  it("reports a run left 'running' by a dead process as abandoned", async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const s = store(clock, undefined, (pid) => pid !== 999_999);
    const r = await s.start({ job: 'ingest', source: 'a', window: 'w', trigger: 'manual' });
    const file = path.join(s.dir, '2024-01-01', `${r.runId}.json`);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), pid: 999_999 }));
    const [got] = await s.list();
    expect(got!.status).toBe('abandoned');
    expect(got!.error).toMatch(/process 999999 ended without finishing/);
  });

  it('names the corrupt file when a record cannot be read', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const s = store(clock);
    const r = await s.start({ job: 'ingest', trigger: 'manual' });
    const file = path.join(s.dir, '2024-01-01', `${r.runId}.json`);
    writeFileSync(file, '{"runId": ');
    await expect(s.list()).rejects.toThrow(new RegExp(`${r.runId}\\.json is not valid JSON`));
  });
});

describe('structured logs', () => {
  it('writes one JSON object per event with the run id, or a human line', async () => {
    const { createLogger } = await import('../../jobs/log.js');
    const clock = new ManualClock('2024-01-03T08:00:02Z');
    const lines: string[] = [];
    const json = createLogger({ format: 'json', clock, sink: (l) => lines.push(l) }).child({ runId: 'r-1' });
    json.info('run.succeeded', { source: 'zuora', rowsWritten: 790, seqn: 12n });
    json.debug('not shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ ts: '2024-01-03T08:00:02Z', level: 'info', event: 'run.succeeded', runId: 'r-1', source: 'zuora', rowsWritten: 790, seqn: '12' });
    const human = createLogger({ format: 'human', clock, sink: (l) => lines.push(l) }).child({ runId: 'r-1' });
    human.warn('run.retry', { error: 'disk "full"', retryIn: '30s' });
    expect(lines[1]).toBe('2024-01-03T08:00:02Z WARN  run.retry runId=r-1 error="disk \\"full\\"" retryIn=30s');
  });
});
