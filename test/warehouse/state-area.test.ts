/**
 * The jobs' state area (warehouse/state-area.ts) is the warehouse's: by default a prefix (`_state/`) of the
 * warehouse's own storage, where the run store, the completeness history and the scheduler state are written;
 * a `state:` configured outside the warehouse is a store of its own and the warehouse directory gets none of it.
 * The area's journals work on an object store too (the in-memory adapter: no appends, no files).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { openApp } from '../../jobs/app.js';
import { checkHistory } from '../../jobs/check-history.js';
import type { HistoryLine } from '../../jobs/checker.js';
import { nullLogger } from '../../jobs/log.js';
import { Scheduler } from '../../jobs/scheduler.js';
import { StateArea } from '../../warehouse/state-area.js';
import { MemoryStorage } from '../helpers/memory-storage.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'bm-state-area-'));
  dirs.push(d);
  return d;
}

const line = (day: string, source: string, status: string): HistoryLine =>
  ({ checkId: 'c1', checkedAt: '2024-01-05T00:00:00Z', success: 'none', source, day, status, detail: '', diffs: [], missingWindows: [], undeliveredWindows: [] }) as unknown as HistoryLine;

/** Everything the jobs write: a run, a completeness result, the scheduler's last fire. */
async function writeEverything(config: ReturnType<typeof loadConfig>) {
  const app = await openApp(config, { log: nullLogger });
  const run = await app.deps.runs.start({ job: 'ingest', source: 'zuora', window: '2024-01-03T00:00Z/2024-01-03T04:00Z', trigger: 'manual' });
  await app.deps.runs.finish(run, 'succeeded');
  await checkHistory(app.deps).append([line('2024-01-03', 'zuora', 'COMPLETE')]);
  const s = new Scheduler({ jobs: [{ name: 'j', cron: '0 * * * *', run: async () => undefined }], clock: { now: () => Date.parse('2024-01-03T01:00:30Z'), sleep: async () => undefined }, state: app.deps.state, catchUpHorizonHours: 2, log: nullLogger });
  await s.tick(new AbortController().signal);
  return { app, run };
}

describe('the state area', () => {
  it('by default is the prefix _state/ of the warehouse storage: run store, history, scheduler state under <warehouse>/_state', async () => {
    const d = tmp();
    const config = loadConfig({ warehouse: path.join(d, 'wh'), landing: path.join(d, 'land'), env: {} });
    const { app, run } = await writeEverything(config);
    expect(app.deps.state.prefix).toBe('_state');
    expect(app.deps.state.storage.root).toBe(path.join(d, 'wh'));
    const st = path.join(d, 'wh', '_state');
    expect(existsSync(path.join(st, 'runs', run.startedAt.slice(0, 10), `${run.runId}.json`))).toBe(true);
    expect(app.deps.runs.recordPath(run)).toBe(path.join(st, 'runs', run.startedAt.slice(0, 10), `${run.runId}.json`));
    expect(readFileSync(path.join(st, 'completeness', 'days', '2024-01-03.jsonl'), 'utf8')).toContain('"status":"COMPLETE"');
    expect(JSON.parse(readFileSync(path.join(st, 'scheduler.json'), 'utf8')).lastFire.j).toBe(Date.parse('2024-01-03T01:00:00Z'));
    // read back through the area
    expect((await checkHistory(app.deps).latest(['2024-01-03'])).get('zuora|2024-01-03')?.status).toBe('COMPLETE');
    expect(await app.deps.runs.get(run.runId)).toMatchObject({ status: 'succeeded' });
  });

  it('configured outside the warehouse (state:) is a store of its own; nothing of it lands under the warehouse', async () => {
    const d = tmp();
    const elsewhere = path.join(d, 'elsewhere', 'state');
    writeFileSync(path.join(d, 'billing-mart.yaml'), `state: ${elsewhere}\n`);
    const config = loadConfig({ configFile: path.join(d, 'billing-mart.yaml'), warehouse: path.join(d, 'wh'), landing: path.join(d, 'land'), env: {} });
    expect(config.state).toBe(elsewhere);
    const { app, run } = await writeEverything(config);
    expect(app.deps.state.prefix).toBe('');
    expect(app.deps.state.storage.root).toBe(elsewhere);
    expect(existsSync(path.join(elsewhere, 'runs', run.startedAt.slice(0, 10), `${run.runId}.json`))).toBe(true);
    expect(existsSync(path.join(elsewhere, 'completeness', 'days', '2024-01-03.jsonl'))).toBe(true);
    expect(existsSync(path.join(elsewhere, 'scheduler.json'))).toBe(true);
    expect(existsSync(path.join(d, 'wh', '_state', 'runs'))).toBe(false);
    expect(existsSync(path.join(d, 'wh', '_state', 'completeness'))).toBe(false);
    expect(existsSync(path.join(d, 'wh', '_state', 'scheduler.json'))).toBe(false);
  });

  it('on an object store (no appends): journals by read-modify-write, a torn last line skipped, a corrupt object named', async () => {
    const area = new StateArea(new MemoryStorage(), 'state');
    await area.appendLine('j/a.jsonl', '{"n":1}');
    await area.appendLine('j/a.jsonl', '{"n":2}\n');
    expect(await area.readJsonLines('j/a.jsonl')).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await area.list('j')).toEqual(['a.jsonl']);
    await area.writeDurable('j/b.jsonl', '{"n":1}\n{"n":');
    expect(await area.readJsonLines('j/b.jsonl')).toEqual([{ n: 1 }]);
    await area.writeDurable('j/c.jsonl', '{"n":\n{"n":2}\n');
    await expect(area.readJsonLines('j/c.jsonl')).rejects.toThrow('memory://bucket/state/j/c.jsonl:1 is not valid JSON');
    await area.writeDurable('x.json', '{');
    await expect(area.readJson('x.json')).rejects.toThrow(/memory:\/\/bucket\/state\/x.json is not valid JSON .*move it aside/);
    expect(await area.readJson('missing.json')).toBeUndefined();
    await expect(area.writeInPlace('x.json', '{}')).rejects.toThrow(/cannot rewrite an object in place/);
    // the completeness history over it
    const h = checkHistory({ state: area });
    await h.append([line('2024-01-03', 'zuora', 'INCOMPLETE'), line('2024-01-04', 'zuora', 'COMPLETE')]);
    await h.append([{ ...line('2024-01-03', 'zuora', 'COMPLETE'), checkId: 'c2' }]);
    expect((await h.latest(['2024-01-03'])).get('zuora|2024-01-03')?.checkId).toBe('c2');
    expect((await h.all()).map((x) => x.status)).toEqual(['INCOMPLETE', 'COMPLETE', 'COMPLETE']);
  });

  it('forWarehouse: a prefix only for a directory strictly inside the warehouse root', () => {
    const d = tmp();
    const local = { root: path.join(d, 'wh') } as unknown as MemoryStorage; // only its root is looked at
    expect(StateArea.forWarehouse(local, path.join(d, 'wh', '_state')).prefix).toBe('_state');
    expect(StateArea.forWarehouse(local, path.join(d, 'wh', 'a', 'b')).prefix).toBe('a/b');
    expect(StateArea.forWarehouse(local, path.join(d, 'wh-other')).storage.root).toBe(path.join(d, 'wh-other'));
    expect(StateArea.forWarehouse(local, path.join(d, 'wh')).storage.root).toBe(path.join(d, 'wh'));
    expect(readdirSync(d)).toEqual([]); // opening writes nothing
  });
});
