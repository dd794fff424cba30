import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { ensureBuilt, runChild } from './child.js';
import { readFactText } from './duck-read.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-crash-'));
beforeAll(() => ensureBuilt());
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DAYS = '2024-01-03,2024-01-04';
const base = (wh: string) => ['ingest', wh, '1', '400', 'base', 'a'.repeat(64), DAYS];
// overlaps the base load (same record ids rec0..) and adds new ones; 500 rows with spillRows 150 → spilled runs
const second = (wh: string) => ['ingest', wh, '2', '500', 'rec', 'b'.repeat(64), DAYS];

async function ok(args: string[], env: Record<string, string> = {}) {
  const r = await runChild(args, env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** Nothing staged or half-published is visible: partition listings hold only live files and the manifest. */
async function expectCleanListing(wh: string) {
  const table = await FactTable.open(wh);
  for (const day of await table.days()) {
    const m = await table.manifest(day);
    const listing = readdirSync(path.join(wh, 'fact_billing_event', `event_day=${day}`)).filter((n) => n !== '_SUCCESS').sort();
    expect(listing).toEqual(['_manifest.json', ...m!.files.map((f) => f.name)].sort());
  }
}

describe('a writer killed with SIGKILL leaves the table exactly before or after the commit', () => {
  let before: string[] = [];
  let after: string[] = [];
  let compacted: string[] = [];

  const pristine = path.join(root, 'pristine-base');
  /** A warehouse holding only the base load (copied, so each case does not re-run it). */
  const freshBase = (name: string) => {
    const wh = path.join(root, name.replace(/:/g, '_'));
    cpSync(pristine, wh, { recursive: true, verbatimSymlinks: true });
    return wh;
  };

  beforeAll(async () => {
    await ok(base(pristine));
    const wh = path.join(root, 'reference');
    cpSync(pristine, wh, { recursive: true, verbatimSymlinks: true });
    before = await readFactText(wh);
    await ok(second(wh));
    after = await readFactText(wh);
    await ok(['compact', wh, '4096']);
    compacted = await readFactText(wh);
  });

  it('the reference run changes the table (the crash checks below are meaningful)', () => {
    expect(before.length).toBe(400);
    expect(after.length).toBeGreaterThan(before.length);
    expect(compacted).toEqual(after);
  });

  for (const point of ['ingest:after-spill', 'ingest:after-stage', 'ingest:after-convert', 'ingest:after-read', 'ingest:after-write', 'ingest:before-publish', 'ingest:after-version-dir', 'ingest:after-log', 'ingest:after-publish', 'checkpoint:after-part', 'checkpoint:after-write', 'checkpoint:after-pointer']) {
    it(`ingest killed at ${point}: before or after, and a rerun converges`, async () => {
      const wh = freshBase(point);
      const r = await runChild(second(wh), { BM_TEST_CRASH_AT: point });
      expect(r.signal).toBe('SIGKILL');
      const seen = await readFactText(wh);
      expect([before, after]).toContainEqual(seen);
      await ok(second(wh));
      expect(await readFactText(wh)).toEqual(after);
      await expectCleanListing(wh);
      // running the same load again adds nothing
      const again = await ok(second(wh));
      expect(again.skipped).toBe(true);
      expect(await readFactText(wh)).toEqual(after);
      if (point.startsWith('checkpoint:')) {
        // the next checkpoint (the child writes one every commit) removes what the killed one left: the parts
        // directory holds only files named by the last two heads, and a new process opens from the last one
        await ok(['ingest', wh, '3', '50', 'third', 'c'.repeat(64), DAYS]);
        const heads = readdirSync(path.join(wh, '_store', 'checkpoints')).filter((n) => /^\d{10}\.json$/.test(n)).sort();
        expect(heads).toHaveLength(2);
        const named = new Set(heads.flatMap((h) => (JSON.parse(readFileSync(path.join(wh, '_store', 'checkpoints', h), 'utf8')) as { parts: { file: string }[] }).parts.map((p) => p.file)));
        expect(readdirSync(path.join(wh, '_store', 'checkpoints', 'parts')).filter((n) => !named.has(n))).toEqual([]);
        const t = await FactTable.open(wh);
        expect((await t.info()).version).toBe(3);
        expect(t.core.reads).toMatchObject({ checkpoints: 1, logEntries: 0 });
      }
    });
  }

  for (const point of ['compact:after-write', 'compact:before-publish', 'compact:after-version-dir', 'compact:after-log']) {
    it(`compaction killed at ${point}: same rows, and a rerun converges to a compact table`, async () => {
      const wh = freshBase(point);
      await ok(second(wh));
      const r = await runChild(['compact', wh, '4096'], { BM_TEST_CRASH_AT: point });
      expect(r.signal).toBe('SIGKILL');
      expect(await readFactText(wh)).toEqual(after);
      const res = await ok(['compact', wh, '4096']);
      expect(await readFactText(wh)).toEqual(compacted);
      const table = await FactTable.open(wh);
      expect((await table.info()).partitions.filter((p) => p.table === 'fact_billing_event').every((p) => !p.compactable)).toBe(true);
      expect(Array.isArray(res.unchanged)).toBe(true);
      await expectCleanListing(wh);
      // after the crash the store holds no orphan blobs once a writer has run
      const committed = new Set((await table.history()).map((h) => h.commitId));
      expect(readdirSync(path.join(wh, '_store', 'blobs')).every((id) => committed.has(id))).toBe(true);
    });
  }
});

describe('two writer processes at once', () => {
  it('serialise their commits: both loads land once, versions are consecutive, nothing is corrupt', async () => {
    const wh = path.join(root, 'concurrent');
    const [a, b] = await Promise.all([
      runChild(['ingest', wh, '5', '400', 'A', 'c'.repeat(64), DAYS]),
      runChild(['ingest', wh, '6', '400', 'B', 'd'.repeat(64), DAYS]),
    ]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    const versions = [JSON.parse(a.stdout).version, JSON.parse(b.stdout).version].sort();
    expect(versions).toEqual([1, 2]);
    const rows = await readFactText(wh);
    expect(rows.length).toBe(800);
    expect(new Set(rows.map((r) => r.split('|')[0])).size).toBe(800);
    const table = await FactTable.open(wh);
    expect((await table.history()).map((h) => h.version)).toEqual([1, 2]);
    for (const day of await table.days()) {
      const m = await table.manifest(day);
      expect(m!.files).toHaveLength(2);
    }
  });
});

describe('a writer killed while it reuses the spare version directory', () => {
  // five versions, so the sixth commit makes its tree from the spare one (versions.ts, core.ts reuseSpare)
  const pristine = path.join(root, 'pristine-five');
  const load = (wh: string, n: number) => ['ingest', wh, String(10 + n), '40', `five${n}-`, String(n).repeat(64), n % 2 ? '2024-01-05' : '2024-01-06'];
  let before: string[] = [];
  let after: string[] = [];

  beforeAll(async () => {
    await ok(base(pristine));
    for (let n = 1; n <= 4; n++) await ok(load(pristine, n));
    const wh = path.join(root, 'reference-five');
    cpSync(pristine, wh, { recursive: true, verbatimSymlinks: true });
    before = await readFactText(wh);
    await ok(second(wh));
    after = await readFactText(wh);
  });

  for (const point of ['version-dir:reusing', 'ingest:after-version-dir']) {
    it(`killed at ${point}: before or after, no half-made tree left, and a rerun converges`, async () => {
      const wh = path.join(root, `five-${point.replace(/:/g, '_')}`);
      cpSync(pristine, wh, { recursive: true, verbatimSymlinks: true });
      const r = await runChild(second(wh), { BM_TEST_CRASH_AT: point });
      expect(r.signal).toBe('SIGKILL');
      expect([before, after]).toContainEqual(await readFactText(wh));
      // the spare was taken aside (b<N>) or already renamed to v6: the commit point was never reached
      expect(readdirSync(path.join(wh, '_store', 'versions')).some((n) => n === 'b0000000006' || n === 'v0000000006')).toBe(true);
      await ok(second(wh));
      expect(await readFactText(wh)).toEqual(after);
      await expectCleanListing(wh);
      expect(readdirSync(path.join(wh, '_store', 'versions')).every((n) => /^v\d{10}$/.test(n))).toBe(true);
      // the next commit reuses a spare again and the view stays whole
      await ok(load(wh, 5));
      expect((await readFactText(wh)).length).toBe(after.length + 40);
      await expectCleanListing(wh);
    });
  }
});

