/**
 * The event-index lookup of a commit (warehouse/versions.ts): its work is bounded by the batch, not by the size of
 * the source's index, and it decides exactly as before, on tables of the new layout, of the old one (unsorted
 * segments, a format-1 checkpoint) and from before the index. Counted with the lookup's own counter (the rows
 * DuckDB's Parquet scans of the index produced), never timed.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { checkpointDocument, type IndexSegment } from '../../warehouse/state.js';
import { INDEX_ROW_GROUP, PROBE_SKIP } from '../../warehouse/versions.js';
import { rng, sampleEvent, streamOf } from '../helpers/sample-events.js';
import { duckQuery, factGlob } from './duck-read.js';
import type { BillingEvent } from '../../events/model.js';

const dirs: string[] = [];
function tmpWarehouse(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-idx-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let loadNo = 0;
function load(events: BillingEvent[]) {
  const runId = `run-${++loadNo}`;
  return { runId, source: 'stripe', windows: [], inputs: [{ path: `stripe/${runId}.csv`, sha256: String(loadNo % 10).repeat(64), bytes: 1 }], events: streamOf(events), quarantine: [] };
}

/** Event r<i> (the version is the seqn, not part of the identity). */
const ev = (i: number, o: { seqn?: number; amount?: string; day?: number } = {}) =>
  sampleEvent({ recordId: `r${i}`, version: null, seqn: BigInt(o.seqn ?? 1), amount: o.amount ?? `${10 + (i % 90)}.00`, ts: `2024-01-${String(1 + (o.day ?? i % 5)).padStart(2, '0')}T10:00:00Z`, sourcePosition: i + 1 });
/** A decimal's text without trailing fraction zeros ('12.500000000' → '12.5'). */
const decimal = (x: string) => (x.includes('.') ? x.replace(/0+$/, '').replace(/\.$/, '') : x);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const segmentsOf = async (t: FactTable): Promise<readonly IndexSegment[]> => (await t.core.current()).indexes.get('stripe') ?? [];

describe('the event-index lookup reads what the batch needs, not the whole index', () => {
  it('a commit of 3 ids reads a bounded number of row groups per id and segment, for an index of 12 000 and of 240 000 entries alike', { timeout: 600_000 }, async () => {
    const measure = async (n: number) => {
      const t = await FactTable.open(tmpWarehouse());
      await t.commitIngest(load(range(0, (2 * n) / 3).map((i) => ev(i))));
      await t.commitIngest(load(range((2 * n) / 3, n).map((i) => ev(i))));
      const segments = await segmentsOf(t);
      expect(segments.map((s) => s.rows)).toEqual([(2 * n) / 3, n / 3]);
      // re-deliveries of the events with the lowest and the highest event_id (the batch's min/max spans the whole
      // index: no range of it can be skipped) and one new event
      const byId = range(0, n)
        .map((i) => [ev(i).eventId, i] as const)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([, i]) => i);
      const r = await t.commitIngest(load([ev(byId[0]!), ev(byId[n - 1]!), ev(n)]));
      expect(r).toMatchObject({ duplicatesExisting: 2, rowsWritten: 1 });
      return { n, read: r.indexRowsRead, segments: segments.length };
    };
    const small = await measure(12_000);
    const big = await measure(240_000);
    // a probed segment: DuckDB reads at most one row group per id; a segment small against the batch (< PROBE_SKIP
    // row groups an id) is read whole
    for (const m of [small, big]) {
      expect(m.read).toBeGreaterThan(0);
      expect(m.read, JSON.stringify(m)).toBeLessThanOrEqual(PROBE_SKIP * 3 * INDEX_ROW_GROUP * m.segments);
    }
    // the old lookup read every entry (and then the matches' rows again): ≥ 240 000 here
    expect(big.read, JSON.stringify(big)).toBeLessThan(big.n / 3);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Exactness: seeded random histories, every commit's decisions against a model of the rules.

type Kind = 'NEW' | 'DUPLICATE' | 'NEWER_SAME' | 'STALE' | 'CONFLICT' | 'CORRECTION';
interface Recorded {
  seqn: number;
  amount: string;
  day: number;
}

/**
 * A history of `commits` batches over `ids` events; each batch names an event once, with the decision it must get.
 * Before commit `plainUntil` no newer version with the same values (a seqn only the index remembers: a table from
 * before the index never had it, its index is built from the fact rows).
 */
function history(seed: number, ids: number, commits: number, plainUntil = 0): { events: BillingEvent[]; kinds: Kind[] }[] {
  const r = rng(seed);
  const model = new Map<number, Recorded>();
  const out: { events: BillingEvent[]; kinds: Kind[] }[] = [];
  for (let c = 0; c < commits; c++) {
    const batch = range(0, ids).filter(() => r() < 0.45);
    const events: BillingEvent[] = [];
    const kinds: Kind[] = [];
    for (const i of batch) {
      const rec = model.get(i);
      const amount = () => `${1 + Math.floor(r() * 500)}.${String(Math.floor(r() * 100)).padStart(2, '0')}`;
      let kind: Kind;
      let next: Recorded;
      if (!rec) [kind, next] = ['NEW', { seqn: 2 + Math.floor(r() * 3), amount: amount(), day: Math.floor(r() * 5) }];
      else {
        const x = r();
        if (x < 0.2) [kind, next] = ['DUPLICATE', rec];
        else if (x < 0.35) [kind, next] = ['STALE', { ...rec, seqn: rec.seqn - 1 - Math.floor(r() * 2), amount: amount() }];
        else if (x < 0.5) [kind, next] = c < plainUntil ? ['DUPLICATE', rec] : ['NEWER_SAME', { ...rec, seqn: rec.seqn + 1 }];
        else if (x < 0.62) [kind, next] = ['CONFLICT', { ...rec, amount: `${rec.amount.split('.')[0]}.${rec.amount.endsWith('1') ? '02' : '01'}` }];
        else [kind, next] = ['CORRECTION', { seqn: rec.seqn + 1 + Math.floor(r() * 2), amount: amount(), day: Math.floor(r() * 5) }];
      }
      if (kind === 'CONFLICT' && next.amount === rec!.amount) throw new Error('internal: the conflict must change the money');
      events.push(ev(i, next));
      kinds.push(kind);
      if (kind === 'NEW' || kind === 'NEWER_SAME' || kind === 'CORRECTION') model.set(i, next);
    }
    out.push({ events, kinds });
  }
  return out;
}

const expected = (kinds: Kind[]) => {
  const n = (k: Kind) => kinds.filter((x) => x === k).length;
  return { duplicatesExisting: n('DUPLICATE') + n('NEWER_SAME'), staleVersions: n('STALE'), conflicts: n('CONFLICT'), corrections: n('CORRECTION'), rowsWritten: n('NEW') + 2 * n('CORRECTION') };
};

/**
 * What an older billing-mart left: its index segments unsorted (rows in hash order, DuckDB's default row groups),
 * without `sorted`, and the state in a format-1 checkpoint; `preIndex`: no index at all (a table from before it).
 */
async function toOldTable(wh: string, t: FactTable, preIndex: boolean): Promise<void> {
  const state = await t.core.current();
  const segments = state.indexes.get('stripe') ?? [];
  for (const s of segments) {
    const f = path.join(wh, s.blob);
    await duckQuery(`COPY (SELECT * FROM read_parquet('${f}') ORDER BY md5(event_id)) TO '${f}.old' (FORMAT PARQUET)`);
    renameSync(`${f}.old`, f);
  }
  const old = { ...state, indexes: new Map(preIndex ? [] : [['stripe', segments.map((s) => ({ blob: s.blob, rows: s.rows, version: s.version }))]]) };
  mkdirSync(path.join(wh, '_store', 'checkpoints'), { recursive: true });
  writeFileSync(path.join(wh, '_store', 'checkpoints', `${String(state.version).padStart(10, '0')}.json`), JSON.stringify(checkpointDocument(old)));
  writeFileSync(path.join(wh, '_store', '_last_checkpoint'), JSON.stringify({ version: state.version }) + '\n');
}

describe('the lookup decides as the rules say, on every layout', () => {
  // 'probed': the first commit also records FILL other events, so its segment is large enough to be probed by the
  // IN list (a batch of k ids: k × INDEX_ROW_GROUP × PROBE_SKIP ≤ its rows) while the later, small ones are
  // semi-joined: the highest v wins across both
  const FILL = 300_000;
  for (const [seed, layout] of [
    [7, 'new'],
    [8, 'probed'],
    [7, 'old'],
    [9, 'pre-index'],
  ] as const) {
    it(`seed ${seed}, ${layout} table: 14 commits of re-deliveries, older, newer and conflicting versions and corrections of corrections: every commit's counts, then every event's money`, { timeout: 600_000 }, async () => {
      const wh = tmpWarehouse();
      const h = history(seed, layout === 'probed' ? 30 : 40, 14, layout === 'pre-index' ? 3 : 0);
      const fill = layout === 'probed' ? range(1000, 1000 + FILL).map((i) => ev(i)) : [];
      let t = await FactTable.open(wh, { checkpointInterval: 100, autoCompactFileCount: 0 });
      const unsorted: number[] = [];
      for (const [c, b] of h.entries()) {
        if (c === 3 && (layout === 'old' || layout === 'pre-index')) {
          await toOldTable(wh, t, layout === 'pre-index');
          t = await FactTable.open(wh, { checkpointInterval: 100, autoCompactFileCount: 0 });
          expect((await segmentsOf(t)).filter((s) => !s.sorted)).toHaveLength(layout === 'old' ? (await segmentsOf(t)).length : 0);
        }
        const before = await segmentsOf(t);
        const r = await t.commitIngest(load(c === 0 ? [...b.events, ...fill] : b.events));
        const want = expected(b.kinds);
        expect(r, `commit ${c}: ${b.kinds.join(' ')}`).toMatchObject(c === 0 ? { ...want, rowsWritten: want.rowsWritten + fill.length } : want);
        if (layout === 'probed' && c > 0) {
          // the large first segment was probed: far fewer of its rows read than it holds
          expect(before[0]!.rows).toBeGreaterThanOrEqual(b.events.length * INDEX_ROW_GROUP * PROBE_SKIP);
          expect(r.indexRowsRead).toBeLessThan(before[0]!.rows / 2);
        }
        // an old segment stays (read whole) until a merge rewrites it sorted
        unsorted.push((await segmentsOf(t)).filter((s) => !s.sorted).length);
      }
      expect(unsorted[unsorted.length - 1]).toBe(0);
      // every event's net money is its last accepted version's; every event_id once
      const model = new Map<number, string>();
      for (const b of h) for (const [k, e] of b.events.entries()) if (['NEW', 'NEWER_SAME', 'CORRECTION'].includes(b.kinds[k]!)) model.set(Number(e.sourceRecordId.slice(1)), e.amount.toFixed());
      const rows = (await duckQuery(
        `SELECT coalesce(corrects_event_id, event_id), sum(amount)::VARCHAR, count(*) = count(DISTINCT event_id) FROM read_parquet('${factGlob(wh)}') GROUP BY 1`,
      )) as [string, string, boolean][];
      const byId = new Map(rows.map(([id, sum, unique]) => [id, { sum, unique }]));
      expect(byId.size).toBe(model.size + fill.length);
      for (const [i, amount] of model) {
        const got = byId.get(ev(i).eventId)!;
        expect(got.unique).toBe(true);
        expect(decimal(got.sum)).toBe(decimal(amount));
      }
    });
  }
});
