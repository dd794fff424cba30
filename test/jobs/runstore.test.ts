import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../jobs/clock.js';
import { RunStore } from '../../jobs/runstore.js';
import { tempDir } from './helpers.js';
import { fillUntil, mountTmpfs } from '../helpers/tmpfs.js';

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
    expect(readdirSync(s.dir).sort()).toEqual(['2024-01-01', '2024-01-02', '_index']);
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

describe('RunStore day index', () => {
  async function fill(s: RunStore, clock: ManualClock) {
    const a = await s.start({ job: 'ingest', source: 'zuora', window: '2024-01-03T04:00Z/2024-01-03T08:00Z', trigger: 'schedule' });
    await s.finish(a, 'succeeded', { files: ['zuora/2024-01-02/20/invoice.csv', 'zuora/2024-01-03/04/invoice.csv'], quarantinedByDay: { '2024-01-02': 1 } });
    await clock.advance(1000);
    const b = await s.start({ job: 'ingest', source: 'stripe', window: '2024-01-05T00:00Z/2024-01-06T00:00Z', trigger: 'backfill' });
    await s.finish(b, 'failed', { error: 'boom' });
    await clock.advance(1000);
    const c = await s.start({ job: 'completeness', trigger: 'schedule' }); // no window, no files: its start day
    await s.finish(c, 'succeeded');
    return { a, b, c };
  }

  it('lists the runs concerning a range of days (window days, file folder days, quarantine days) from that range only', async () => {
    const clock = new ManualClock('2024-01-07T08:00:00Z');
    const s = store(clock);
    const { a, b, c } = await fill(s, clock);
    const ids = async (from: string, to: string) => (await s.list({ days: { from, to } })).map((r) => r.runId);
    expect(await ids('2024-01-02', '2024-01-02')).toEqual([a.runId]); // lookback file + quarantined record of the 2nd
    expect(await ids('2024-01-03', '2024-01-05')).toEqual([a.runId, b.runId]);
    expect(await ids('2024-01-07', '2024-01-07')).toEqual([c.runId]);
    expect((await s.list({ days: { from: '2024-01-05', to: '2024-01-05' } }))[0]).toMatchObject({ status: 'failed', error: 'boom' });
    expect((await s.list({ window: '2024-01-05T00:00Z/2024-01-06T00:00Z' })).map((r) => r.runId)).toEqual([b.runId]);
    expect(readdirSync(path.join(s.dir, '_index')).sort()).toEqual(['2024-01-02.jsonl', '2024-01-03.jsonl', '2024-01-05.jsonl', '2024-01-07.jsonl', '_complete']);
    // only the shown days' index is read: the other days' records and index files can be unreadable
    writeFileSync(path.join(s.dir, '_index', '2024-01-05.jsonl'), 'not json at all\n{');
    writeFileSync(path.join(s.dir, '2024-01-07', `${b.runId}.json`), '{"runId": ');
    expect(await ids('2024-01-02', '2024-01-03')).toEqual([a.runId]);
    await expect(s.list()).rejects.toThrow(/is not valid JSON/);
  });

  it('a run whose final index line is missing (crash between record and index) is read from its record', async () => {
    const clock = new ManualClock('2024-01-07T08:00:00Z');
    const s = store(clock);
    const r = await s.start({ job: 'ingest', source: 'zuora', window: '2024-01-03T04:00Z/2024-01-03T08:00Z', trigger: 'schedule' });
    const idx = path.join(s.dir, '_index', '2024-01-03.jsonl');
    const startLine = readFileSync(idx, 'utf8');
    await s.finish(r, 'succeeded', { rowsWritten: 5 });
    writeFileSync(idx, startLine);
    expect(await new RunStore({ dir: s.dir, clock }).list({ days: { from: '2024-01-03', to: '2024-01-03' } })).toMatchObject([{ status: 'succeeded', rowsWritten: 5 }]);
  });

  it('a store written before the index existed is indexed once, on the first day query', async () => {
    const clock = new ManualClock('2024-01-07T08:00:00Z');
    const s = store(clock);
    const { a, b } = await fill(s, clock);
    rmSync(path.join(s.dir, '_index'), { recursive: true });
    const again = new RunStore({ dir: s.dir, clock });
    expect((await again.list({ days: { from: '2024-01-02', to: '2024-01-05' } })).map((r) => r.runId)).toEqual([a.runId, b.runId]);
    expect(readdirSync(path.join(s.dir, '_index'))).toContain('_complete');
  });

  it('recent(n) returns the newest n runs, oldest first, reading only the newest records', async () => {
    const clock = new ManualClock('2024-01-07T08:00:00Z');
    const s = store(clock);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push((await s.start({ job: 'ingest', source: 'zuora', window: `w${i}`, trigger: 'manual' })).runId);
      await clock.advance(i === 5 ? 86_400_000 : 1000);
    }
    // an old record that cannot be read is never opened
    writeFileSync(path.join(s.dir, '2024-01-07', `${ids[0]}.json`), '{"runId": ');
    expect((await s.recent(4)).map((r) => r.runId)).toEqual(ids.slice(-4));
    expect((await s.recent(8)).map((r) => r.runId)).toEqual(ids.slice(-8));
    expect(await s.get(ids[11]!)).toMatchObject({ window: 'w11' });
  });
});

const MiB = 1024 * 1024;
const mounted = mountTmpfs(4 * MiB, 'run-store disk-full test');
afterAll(() => {
  if ('dir' in mounted) mounted.unmount();
});

describe.skipIf('skip' in mounted)('RunStore on a full disk (real tmpfs)', () => {
  it("records a run's failure in place when the disk is full, so it is not left 'running'", async () => {
    const dir = path.join((mounted as { dir: string }).dir, 'runs');
    const clock = new ManualClock('2024-01-07T08:00:00Z');
    const s = new RunStore({ dir, clock });
    const r = await s.start({ job: 'ingest', source: 'zuora', window: '2024-01-03T04:00Z/2024-01-03T08:00Z', trigger: 'schedule' });
    const ballast = fillUntil(dir, 0);
    try {
      await s.finish(r, 'failed', { error: `no space left on the device writing /wh/x (ENOSPC): ${'free space '.repeat(20)}`, files: Array.from({ length: 400 }, (_, i) => `zuora/2024-01-03/04/f${i}.csv`) });
      const [got] = await new RunStore({ dir, clock, isAlive: () => false }).list({ days: { from: '2024-01-03', to: '2024-01-03' } });
      expect(got).toMatchObject({ status: 'failed', files: [] });
      expect(got!.error).toMatch(/^no space left on the device writing \/wh\/x/);
      expect(got!.note).toMatch(/files list dropped: the disk was full/);
      // and a new run cannot start: a clear DiskFullError, not a half-written record
      await expect(s.start({ job: 'ingest', source: 'zuora', trigger: 'manual' })).rejects.toThrow(/no space left on the device writing .*the run was not started: free space/);
    } finally {
      rmSync(ballast);
    }
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

describe('written files are not world-readable (issue 15 item 9: fileMode)', () => {
  it('openApp applies config.fileMode (default 0640; directories 0750) to what it writes', async () => {
    const { mkdtempSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const pathMod = await import('node:path');
    const { loadConfig } = await import('../../config/index.js');
    const { openApp, umaskFor } = await import('../../jobs/app.js');
    expect(umaskFor('0640')).toBe(0o027);
    expect(umaskFor('0600')).toBe(0o077);
    const before = process.umask();
    try {
      const d = mkdtempSync(pathMod.join(tmpdir(), 'bm-mode-'));
      const config = loadConfig({ warehouse: pathMod.join(d, 'wh'), landing: pathMod.join(d, 'land'), env: {} });
      expect(config.fileMode).toBe('0640');
      const app = await openApp(config, { log: (await import('../../jobs/log.js')).nullLogger });
      const rec = await app.deps.runs.start({ job: 'x', trigger: 'manual' });
      const file = pathMod.join(config.state, 'runs', rec.startedAt.slice(0, 10), `${rec.runId}.json`);
      expect(statSync(file).mode & 0o777).toBe(0o640);
      expect(statSync(pathMod.dirname(file)).mode & 0o777).toBe(0o750);
    } finally {
      process.umask(before);
    }
  });
});
