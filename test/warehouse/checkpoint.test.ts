import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { checkpointDocument, type CheckpointHead } from '../../warehouse/state.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';
import { readFactText } from './duck-read.js';

const dirs: string[] = [];
function tmpWarehouse(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-ckpt-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The process warnings emitted while `fn` runs, joined by newlines. */
async function warningsOf(fn: () => Promise<void>): Promise<string> {
  const warnings: string[] = [];
  const onWarn = (e: Error) => warnings.push(e.message);
  process.on('warning', onWarn);
  try {
    await fn();
    await new Promise((res) => setImmediate(res));
  } finally {
    process.off('warning', onWarn);
  }
  return warnings.join('\n');
}

const ingest = (table: FactTable, n: number, days = ['2024-01-03']) =>
  table.commitIngest({
    runId: `run-${n}`,
    source: 'stripe',
    windows: [{ startMs: Date.parse('2024-01-03T00:00:00Z') + n * 14_400_000, endMs: Date.parse('2024-01-03T04:00:00Z') + n * 14_400_000 }],
    inputs: [{ path: `stripe/f${n}.csv`, sha256: String(n % 10).repeat(64), bytes: 1 }],
    events: streamOf(sampleEvents({ days, count: 5, seed: n, prefix: `p${n}-` })),
    quarantine: [],
  });

describe('checkpoints: opening the table reads the latest checkpoint and the few entries after it', () => {
  it('reads at most checkpointInterval log entries on open, whatever the number of versions; every query answers from that state', async () => {
    const wh = tmpWarehouse();
    const writer = await FactTable.open(wh, { checkpointInterval: 5, autoCompactFileCount: 0 });
    for (let n = 0; n < 8; n++) await ingest(writer, n, n % 2 ? ['2024-01-03'] : ['2024-01-04']);
    for (let n = 0; n < 15; n++) await writer.writeSuccess(`2024-02-${String(1 + n).padStart(2, '0')}`, { n });
    expect((await writer.info()).version).toBe(23);
    expect(existsSync(path.join(wh, '_store', 'checkpoints', '0000000020.json'))).toBe(true);

    const reader = await FactTable.open(wh, { checkpointInterval: 5 });
    const info = await reader.info();
    expect(info.version).toBe(23);
    expect([...(await reader.loadedWindows('stripe'))]).toHaveLength(8);
    expect([...(await reader.committedInputs('stripe'))]).toHaveLength(8);
    expect((await reader.manifest('2024-01-03'))!.rows).toBe(20);
    expect(await reader.readSuccess('2024-02-15')).toMatchObject({ n: 14 });
    // one checkpoint and the 3 entries after it (bounded by the interval, not by the 23 versions)
    expect(reader.core.reads).toMatchObject({ checkpoints: 1, logEntries: 3 });
    // the same load is still recognised from the checkpointed state
    expect((await ingest(reader, 3)).skipped).toBe(true);
    // history still reaches every version
    expect((await reader.history()).map((h) => h.version)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(await readFactText(wh)).toHaveLength(40);
  });

  it('a process keeps its state and catches up entry by entry with commits of other processes', async () => {
    const wh = tmpWarehouse();
    const a = await FactTable.open(wh, { checkpointInterval: 100, autoCompactFileCount: 0 });
    const b = await FactTable.open(wh, { checkpointInterval: 100, autoCompactFileCount: 0 });
    for (let n = 0; n < 6; n++) await ingest(n % 2 ? b : a, n);
    const before = { ...a.core.reads };
    await a.info();
    await a.manifest('2024-01-03');
    // caught up once with b's last commit; afterwards only the probe for the next version (a missing file)
    expect(a.core.reads.logEntries - before.logEntries).toBe(1);
    expect((await a.manifest('2024-01-03'))!.rows).toBe(30);
  });

  it('an unusable checkpoint costs time, never correctness: the log is replayed (with a warning)', async () => {
    const wh = tmpWarehouse();
    const w = await FactTable.open(wh, { checkpointInterval: 2, autoCompactFileCount: 0 });
    for (let n = 0; n < 5; n++) await ingest(w, n);
    writeFileSync(path.join(wh, '_store', 'checkpoints', '0000000004.json'), '{"format":1,"vers');
    const warnings = await warningsOf(async () => {
      const r = await FactTable.open(wh);
      expect((await r.info()).version).toBe(5);
      expect([...(await r.committedInputs('stripe'))]).toHaveLength(5);
      expect(r.core.reads).toEqual({ checkpoints: 0, checkpointParts: 0, logEntries: 5 });
    });
    expect(warnings).toMatch(/_last_checkpoint is unusable/);
  });
});

/** An ingest of 5 events of `d` from the landing folder of `d` (an input path naming its day, as the landing zone's do). */
const ingestDay = (table: FactTable, n: number, d: string) =>
  table.commitIngest({
    runId: `run-${n}`,
    source: 'stripe',
    windows: [{ startMs: Date.parse(`${d}T00:00:00Z`), endMs: Date.parse(`${d}T04:00:00Z`) }],
    inputs: [{ path: `stripe/${d}/00/f${n}.csv`, sha256: String(n % 10).repeat(64), bytes: 1 }],
    events: streamOf(sampleEvents({ days: [d], count: 5, seed: n, prefix: `p${n}-` })),
    quarantine: [],
  });

const partsDir = (wh: string) => path.join(wh, '_store', 'checkpoints', 'parts');
const head = (wh: string, v: number) => JSON.parse(readFileSync(path.join(wh, '_store', 'checkpoints', `${String(v).padStart(10, '0')}.json`), 'utf8')) as CheckpointHead;

describe('checkpoints in parts: only the buckets a commit changed are written again', () => {
  it('a checkpoint writes the parts of the months the commits since the last one touched and names the others again; a new process opens from it', async () => {
    const wh = tmpWarehouse();
    const t = await FactTable.open(wh, { checkpointInterval: 1, autoCompactFileCount: 0 });
    const days = ['2024-01-05', '2024-02-05', '2024-03-05', '2024-04-05', '2024-05-05'];
    for (const [n, d] of days.entries()) await ingestDay(t, n, d);
    const before = new Set(readdirSync(partsDir(wh)));
    await ingestDay(t, 9, '2024-03-06');
    const h = head(wh, 6);
    expect(h.format).toBe(2);
    const fresh = readdirSync(partsDir(wh)).filter((n) => !before.has(n)).sort();
    // March's fact partitions and stripe's March windows, inputs and loads: nothing of the other months
    expect(fresh.map((n) => decodeURIComponent(n.replace(/^\d{10}-/, '').replace(/\.json$/, '')))).toEqual(['f/stripe/2024-03', 'i/stripe/2024-03', 'p/fact_billing_event/2024-03', 'w/stripe/2024-03'].sort());
    expect(h.parts.filter((p) => p.file.startsWith('0000000006-')).map((p) => p.id).sort()).toEqual(['f/stripe/2024-03', 'i/stripe/2024-03', 'p/fact_billing_event/2024-03', 'w/stripe/2024-03']);
    // the other parts are the files earlier checkpoints wrote
    expect(h.parts.find((p) => p.id === 'p/fact_billing_event/2024-01')!.file).toBe(`0000000001-${encodeURIComponent('p/fact_billing_event/2024-01')}.json`);
    // only the files of the last two checkpoints are kept, and only the heads of the last two
    expect(readdirSync(path.join(wh, '_store', 'checkpoints')).filter((n) => n !== 'parts').sort()).toEqual(['0000000005.json', '0000000006.json']);

    const r = await FactTable.open(wh);
    expect((await r.info()).version).toBe(6);
    // opening reads the partitions' parts; a source's loads are read when asked for
    expect(r.core.reads).toEqual({ checkpoints: 1, checkpointParts: h.parts.filter((p) => p.id.startsWith('p/')).length, logEntries: 0 });
    expect((await r.manifest('2024-03-06'))!.rows).toBe(5);
    expect([...(await r.loadedWindows('stripe'))]).toHaveLength(6);
    expect([...(await r.committedInputs('stripe'))]).toHaveLength(6);
    // the committed inputs of a range of landing days: those days' only
    expect([...(await r.committedInputs('stripe', { from: '2024-03-05', to: '2024-03-31' }))].sort()).toEqual([`stripe/2024-03-05/00/f2.csv@${'2'.repeat(64)}`, `stripe/2024-03-06/00/f9.csv@${'9'.repeat(64)}`]);
    expect((await ingestDay(r, 9, '2024-03-06')).skipped).toBe(true);
    expect((await r.history()).map((x) => x.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await readFactText(wh)).toHaveLength(30);
  });

  it('a table whose checkpoint is one whole document (written by billing-mart before the parts) opens from it; the next checkpoint is in parts', async () => {
    const wh = tmpWarehouse();
    const t = await FactTable.open(wh, { checkpointInterval: 100, autoCompactFileCount: 0 });
    for (const [n, d] of ['2024-01-05', '2024-02-05', '2024-02-06'].entries()) await ingestDay(t, n, d);
    // what an older billing-mart left: checkpoints/<v>.json of format 1 and the pointer, no parts
    const state = await t.core.current();
    mkdirSync(path.join(wh, '_store', 'checkpoints'), { recursive: true });
    writeFileSync(path.join(wh, '_store', 'checkpoints', '0000000003.json'), JSON.stringify(checkpointDocument(state)));
    writeFileSync(path.join(wh, '_store', '_last_checkpoint'), JSON.stringify({ version: 3 }) + '\n');
    expect(checkpointDocument(state).loads[0]![1].fingerprints[0]).toMatch(/^[0-9a-f]{64}$/);

    const old = await FactTable.open(wh, { checkpointInterval: 2, autoCompactFileCount: 0 });
    expect((await old.info()).version).toBe(3);
    expect(old.core.reads).toEqual({ checkpoints: 1, checkpointParts: 0, logEntries: 0 });
    expect([...(await old.committedInputs('stripe'))]).toHaveLength(3);
    expect([...(await old.loadedWindows('stripe'))]).toHaveLength(3);
    // the same load is recognised from the old document's fingerprints
    expect((await ingestDay(old, 1, '2024-02-05')).skipped).toBe(true);
    await ingestDay(old, 7, '2024-03-01');
    await ingestDay(old, 8, '2024-03-02');
    expect(head(wh, 5).format).toBe(2);
    // a load of the old document is still recognised after it moved into the parts, and so is a new one
    const r = await FactTable.open(wh);
    expect((await r.info()).version).toBe(5);
    expect(r.core.reads.checkpointParts).toBeGreaterThan(0);
    expect((await ingestDay(r, 0, '2024-01-05')).skipped).toBe(true);
    expect((await ingestDay(r, 8, '2024-03-02')).skipped).toBe(true);
    expect((await r.history()).map((x) => x.version)).toEqual([1, 2, 3, 4, 5]);
    expect(await readFactText(wh)).toHaveLength(25);
  });

  it("a new process reads a source's loads only for the months it asks; commits add to unread months, and the next checkpoint writes them whole", async () => {
    const wh = tmpWarehouse();
    const t = await FactTable.open(wh, { checkpointInterval: 4, autoCompactFileCount: 0 });
    const days = ['2024-01-05', '2024-02-05', '2024-03-05', '2024-04-05'];
    for (const [n, d] of days.entries()) await ingestDay(t, n, d);
    const r = await FactTable.open(wh, { checkpointInterval: 4, autoCompactFileCount: 0 });
    await r.info();
    const opened = r.core.reads.checkpointParts;
    expect(opened).toBe(4); // the 4 months of fact partitions
    // one month of inputs
    expect([...(await r.committedInputs('stripe', { from: '2024-02-01', to: '2024-02-29' }))]).toEqual([`stripe/2024-02-05/00/f1.csv@${'1'.repeat(64)}`]);
    expect(r.core.reads.checkpointParts).toBe(opened + 1);
    expect([...(await r.loadedWindows('stripe', { from: '2024-03-05', to: '2024-03-05' }))]).toEqual(['2024-03-05T00:00Z/2024-03-05T04:00Z']);
    expect(r.core.reads.checkpointParts).toBe(opened + 2);
    // commits into months whose loads this process never read (the same-load check reads its month's fingerprints)
    await ingestDay(r, 5, '2024-01-06');
    await ingestDay(r, 6, '2024-04-06');
    await ingestDay(r, 7, '2024-05-06');
    await ingestDay(r, 8, '2024-01-07'); // version 8: a checkpoint
    expect(head(wh, 8).format).toBe(2);
    const again = await FactTable.open(wh);
    expect((await again.info()).version).toBe(8);
    expect([...(await again.committedInputs('stripe'))].sort()).toEqual(
      [[0, '2024-01-05'], [1, '2024-02-05'], [2, '2024-03-05'], [3, '2024-04-05'], [5, '2024-01-06'], [6, '2024-04-06'], [7, '2024-05-06'], [8, '2024-01-07']].map(([n, d]) => `stripe/${d}/00/f${n}.csv@${String(n).repeat(64)}`).sort(),
    );
    expect([...(await again.loadedWindows('stripe'))]).toHaveLength(8);
    for (const [n, d] of [[0, '2024-01-05'], [5, '2024-01-06'], [8, '2024-01-07']] as const) expect((await ingestDay(again, n, d)).skipped).toBe(true);
    expect(await readFactText(wh)).toHaveLength(40);
  });

  it('a process whose checkpoint another process replaced writes its next checkpoint whole, its unread months read first', async () => {
    const wh = tmpWarehouse();
    const a = await FactTable.open(wh, { checkpointInterval: 2, autoCompactFileCount: 0 });
    for (const [n, d] of ['2024-01-05', '2024-02-05'].entries()) await ingestDay(a, n, d);
    const b = await FactTable.open(wh, { checkpointInterval: 2, autoCompactFileCount: 0 });
    await b.info(); // opened from the checkpoint of version 2: stripe's loads unread
    await ingestDay(a, 2, '2024-03-05');
    await ingestDay(a, 3, '2024-03-06'); // version 4: a's checkpoint replaces b's
    await ingestDay(b, 4, '2024-04-05'); // version 5: b knows checkpoint 2, the pointer says 4: every part written
    expect(head(wh, 5).parts.every((p) => p.file.startsWith('0000000005-'))).toBe(true);
    const r = await FactTable.open(wh);
    expect([...(await r.committedInputs('stripe'))]).toHaveLength(5);
    expect([...(await r.loadedWindows('stripe'))]).toHaveLength(5);
    expect((await ingestDay(r, 0, '2024-01-05')).skipped).toBe(true);
  });

  it('a missing part makes the checkpoint unusable: the log is replayed (with a warning), never a wrong state', async () => {
    const wh = tmpWarehouse();
    const t = await FactTable.open(wh, { checkpointInterval: 2, autoCompactFileCount: 0 });
    for (const [n, d] of ['2024-01-05', '2024-02-05', '2024-02-06', '2024-02-07'].entries()) await ingestDay(t, n, d);
    const h = head(wh, 4);
    rmSync(path.join(partsDir(wh), h.parts.find((p) => p.id === 'p/fact_billing_event/2024-02')!.file));
    const warnings = await warningsOf(async () => {
      const r = await FactTable.open(wh);
      expect((await r.info()).version).toBe(4);
      expect((await r.manifest('2024-02-06'))!.rows).toBe(5);
      expect(r.core.reads.logEntries).toBe(4);
    });
    expect(warnings).toMatch(/_last_checkpoint is unusable \(its part .* is missing\)/);
  });
});

describe('a commit links only the partitions it changes', () => {
  it('version directories hold one symlink per partition; retired partition directories are removed', async () => {
    const wh = tmpWarehouse();
    const t = await FactTable.open(wh, { keepVersionDirs: 2, autoCompactFileCount: 0 });
    await ingest(t, 0, ['2024-01-04']);
    for (let n = 1; n <= 8; n++) await ingest(t, n, ['2024-01-03']);
    const v = path.join(wh, '_store', 'versions', 'v0000000009', 'fact_billing_event');
    expect(readdirSync(v).sort()).toEqual(['event_day=2024-01-03', 'event_day=2024-01-04']);
    expect(lstatSync(path.join(v, 'event_day=2024-01-03')).isSymbolicLink()).toBe(true);
    // 2024-01-04 was built once, at version 1, and is shared by every later version
    const parts = readdirSync(path.join(wh, '_store', 'parts', 'fact_billing_event')).sort();
    expect(parts.filter((p) => p.startsWith('event_day=2024-01-04'))).toEqual(['event_day=2024-01-04@v0000000001']);
    // of 2024-01-03's 8 directories only those the kept versions use remain
    expect(parts.filter((p) => p.startsWith('event_day=2024-01-03')).length).toBeLessThanOrEqual(3);
    expect(await readFactText(wh)).toHaveLength(45);
  });

  it('a table without partition directories or checkpoints (an older layout) gets them at its next commit', async () => {
    const wh = tmpWarehouse();
    const t = await FactTable.open(wh, { autoCompactFileCount: 0 });
    for (let n = 0; n < 3; n++) await ingest(t, n, n ? ['2024-01-03'] : ['2024-01-04']);
    const before = await readFactText(wh);
    for (const d of ['parts', 'versions', 'checkpoints', '_last_checkpoint']) rmSync(path.join(wh, '_store', d), { recursive: true, force: true });
    const again = await FactTable.open(wh, { autoCompactFileCount: 0 });
    await ingest(again, 9, ['2024-01-05']);
    const after = await readFactText(wh);
    expect(after.length).toBe(before.length + 5);
    expect(after.filter((l) => !before.includes(l))).toHaveLength(5);
  });
});
