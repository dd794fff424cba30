/**
 * `status` reads only what it shows (issue 11 item 1): the bytes and files it reads from the jobs' state area
 * (completeness history, run store) for the same 10 days are the same whether the history behind them is 40
 * days long or 160. Counted, not timed: every state read of the local store is an fs.promises.readFile (the
 * storage adapter's read; the single-file history of before was read the same way, whole, on every call).
 */
import fsp from 'node:fs/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addDays, dayRange, windowKey, windowsOfDay } from '../../partitions/index.js';
import { checkCompleteness, latestResults, readHistory } from '../../jobs/checker.js';
import { collectStatus } from '../../jobs/status.js';
import { harness } from './fakes.js';
import { tempDirsPerTest } from './helpers.js';

const newDir = tempDirsPerTest('bm-status-reads-');
afterEach(() => vi.restoreAllMocks());

const FROM = '2024-01-01';

/** A history of `days` days: a run per source and day (a minute apart), and every day checked twice. */
async function history(days: number) {
  const to = addDays(FROM, days - 1);
  const dir = newDir();
  const h = harness(dir, { sources: ['zuora', 'stripe'], now: `${addDays(to, 2)}T00:00:00Z` });
  for (const day of dayRange(FROM, to)) {
    for (const source of h.deps.sourceNames) {
      const [w] = windowsOfDay(day);
      const r = await h.deps.runs.start({ job: 'ingest', source, window: windowKey(w!), trigger: 'backfill' });
      await h.deps.runs.finish(r, 'succeeded', { files: [`${source}/${day}/00/invoice.csv`], rowsIn: 3, rowsWritten: 3 });
      await h.clock.sleep(60_000); // runs a minute apart (the newest records are found by their start stamps)
    }
  }
  for (let i = 0; i < 2; i++) await checkCompleteness(h.deps, { days: dayRange(FROM, to), heal: false, trigger: 'schedule' });
  return { h, dir, to };
}

/** Bytes and files read under `dir` by `fn` (fs.promises.readFile is how the local store reads an object). */
async function readsUnder<T>(dir: string, fn: () => Promise<T>): Promise<{ bytes: number; files: number; value: T }> {
  const real = fsp.readFile.bind(fsp);
  let bytes = 0;
  let files = 0;
  const spy = vi.spyOn(fsp, 'readFile').mockImplementation((async (p: Parameters<typeof fsp.readFile>[0], o?: Parameters<typeof fsp.readFile>[1]) => {
    const out = await real(p, o);
    if (typeof p === 'string' && p.startsWith(dir)) {
      files++;
      bytes += typeof out === 'string' ? Buffer.byteLength(out) : out.byteLength;
    }
    return out;
  }) as typeof fsp.readFile);
  try {
    const value = await fn();
    return { bytes, files, value };
  } finally {
    spy.mockRestore();
  }
}

describe('status reads only the days it shows', () => {
  it('reads the same state bytes for 10 days whatever the length of the history (40 vs 160 days)', async () => {
    const short = await history(40); // more runs than status's 50 newest, as in the long one
    const long = await history(160);
    const show = (x: typeof short) => readsUnder(x.dir, () => collectStatus(x.h.deps, { from: addDays(x.to, -9), to: x.to }));
    const a = await show(short);
    const b = await show(long);
    // what it shows is right: the latest check of each day, the day's runs
    expect(b.value.days).toHaveLength(10);
    expect(b.value.days.every((d) => Object.values(d.cells).every((c) => c.status !== 'NOT_CHECKED' && c.files === 1))).toBe(true);
    expect(a.bytes).toBeGreaterThan(0);
    expect(b.files).toBe(a.files);
    // the same records (a few bytes apart: counts like "160/160 day(s) complete" in the notes); the one history file of before grew 4×
    expect(Math.abs(b.bytes - a.bytes)).toBeLessThan(a.bytes * 0.01);
    // and a range twice as long reads more: the reads follow the days shown
    const c = await readsUnder(long.dir, () => collectStatus(long.h.deps, { from: addDays(long.to, -19), to: long.to }));
    expect(c.bytes).toBeGreaterThan(b.bytes);
  });
});

describe('a completeness history written before the day journals', () => {
  it('is split into day journals once, loudly, and read as before; an interrupted split resumes without doubles', async () => {
    const { h, dir } = await history(3);
    const lines = (await readHistory(h.deps)).map((l) => JSON.stringify(l));
    expect(lines).toHaveLength(3 * 2 * 2); // 3 days × 2 sources × 2 checks
    // the old layout: one file, no day journals
    const before = path.join(dir, 'old');
    mkdirSync(path.join(before, 'state', 'completeness'), { recursive: true });
    writeFileSync(path.join(before, 'state', 'completeness', 'history.jsonl'), lines.join('\n') + '\n');
    // an interrupted migration had written the first day's journal already
    mkdirSync(path.join(before, 'state', 'completeness', 'days'), { recursive: true });
    writeFileSync(path.join(before, 'state', 'completeness', 'days', `${FROM}.jsonl`), lines.filter((l) => JSON.parse(l).day === FROM).join('\n') + '\n');
    const old = harness(before, { sources: ['zuora', 'stripe'], now: '2024-01-06T12:00:00Z' });
    const latest = await latestResults(old.deps, [FROM, addDays(FROM, 2)]);
    expect([...latest.keys()].sort()).toEqual([`stripe|${FROM}`, `stripe|${addDays(FROM, 2)}`, `zuora|${FROM}`, `zuora|${addDays(FROM, 2)}`]);
    expect((await readHistory(old.deps)).map((l) => JSON.stringify(l))).toEqual(lines);
    const warns = old.log.lines.filter((l) => l.includes('state.history_migrated'));
    expect(warns).toHaveLength(1);
    expect(JSON.parse(warns[0]!)).toMatchObject({ level: 'warn', lines: 12, days: 3, written: 2 });
    expect(readFileSync(path.join(before, 'state', 'completeness', 'days', '_migrated'), 'utf8')).toContain('12 line(s)');
    // a new process: no second migration, and a new check appends to the day journals
    const again = harness(before, { sources: ['zuora', 'stripe'], now: '2024-01-06T12:00:00Z' });
    await checkCompleteness(again.deps, { days: [FROM], heal: false, trigger: 'manual' });
    expect(again.log.lines.filter((l) => l.includes('state.history_migrated'))).toEqual([]);
    expect(await readHistory(again.deps)).toHaveLength(14);
  });
});

describe('the run store answers (source, window) and day queries from the index of those days', () => {
  it('reads only the index objects of the days asked for, whatever the age of the store', async () => {
    const { LocalStorage } = await import('../../warehouse/storage.js');
    const { StateArea } = await import('../../warehouse/state-area.js');
    const { RunStore } = await import('../../jobs/runstore.js');
    const { ManualClock } = await import('../../jobs/clock.js');
    const reads: string[] = [];
    class Counting extends LocalStorage {
      override async read(rel: string): Promise<Uint8Array | null> {
        reads.push(rel);
        return super.read(rel);
      }
    }
    const clock = new ManualClock('2024-03-01T00:00:00Z', true);
    const runs = new RunStore({ area: new StateArea(new Counting(newDir())).sub('runs'), clock });
    const days = dayRange(FROM, addDays(FROM, 59));
    for (const day of days) {
      for (const w of windowsOfDay(day).slice(0, 2)) {
        const r = await runs.start({ job: 'ingest', source: 'zuora', window: windowKey(w), trigger: 'backfill' });
        await runs.finish(r, 'succeeded');
        await clock.sleep(60_000);
      }
    }
    const w = windowKey(windowsOfDay(addDays(FROM, 30))[1]!);
    reads.length = 0;
    expect(await runs.list({ source: 'zuora', window: w })).toMatchObject([{ window: w, status: 'succeeded' }]);
    expect(reads).toEqual([`runs/_index/${addDays(FROM, 30)}.jsonl`]);
    reads.length = 0;
    expect(await runs.list({ days: { from: addDays(FROM, 10), to: addDays(FROM, 12) } })).toHaveLength(6);
    expect(reads).toEqual([10, 11, 12].map((i) => `runs/_index/${addDays(FROM, i)}.jsonl`));
  });
});
