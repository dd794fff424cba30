import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FactTable } from '../../warehouse/index.js';
import { decide, mergeCount, type VersionValues } from '../../warehouse/versions.js';
import { correctionEventId } from '../../events/identity.js';
import { rng, sampleEvent, streamOf, type SampleEventSpec } from '../helpers/sample-events.js';
import { duckQuery, factGlob } from './duck-read.js';
import type { BillingEvent } from '../../events/model.js';

const dirs: string[] = [];
function tmpWarehouse(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-ver-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let loadNo = 0;
function load(events: BillingEvent[], runId = `run-${++loadNo}`) {
  return {
    runId,
    source: 'stripe',
    windows: [],
    inputs: [{ path: `stripe/${runId}.csv`, sha256: String(loadNo % 10).repeat(64), bytes: 1 }],
    events: streamOf(events),
    quarantine: [],
  };
}

/** An invoice event (same event_id for every version: the version is not part of the identity). */
const version = (seqn: number, over: SampleEventSpec = {}) => sampleEvent({ recordId: 'in_1', version: null, seqn: BigInt(seqn), sourcePosition: seqn, ...over });

async function rows(wh: string, cols = "event_id, event_date::VARCHAR, amount::VARCHAR, coalesce(correction_kind, '-'), coalesce(corrects_event_id, '-'), seqn") {
  return duckQuery(`SELECT ${cols} FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) ORDER BY event_date, seqn, correction_kind NULLS FIRST`);
}

async function quarantined(wh: string) {
  return duckQuery(`SELECT reason, source_position, message FROM read_parquet('${path.join(wh, 'quarantine', '*', '*.parquet')}') ORDER BY source_position`).catch((e: Error) => {
    if (/No files found/.test(e.message)) return [];
    throw e;
  });
}

describe('an event_id appears once in the whole table; later versions become correction rows', () => {
  it('a later version that moves the event to the next UTC day, loaded in a later run, reverses the old day and restates on the new one', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    const v1 = version(1, { ts: '2024-01-03T23:30:00Z', amount: '100.00' });
    const v2 = version(2, { ts: '2024-01-04T00:10:00Z', amount: '100.00' });
    await table.commitIngest(load([v1]));
    const res = await table.commitIngest(load([v2]));
    expect(res).toMatchObject({ rowsIn: 1, corrections: 1, rowsWritten: 2, duplicatesExisting: 0, partitions: ['2024-01-03', '2024-01-04'] });
    const id = v1.eventId;
    const rev = correctionEventId(id, 'REVERSAL', 2n);
    const rst = correctionEventId(id, 'RESTATEMENT', 2n);
    expect(await rows(wh)).toEqual([
      [id, '2024-01-03', '100.000000000', '-', '-', 1n],
      [rev, '2024-01-03', '-100.000000000', 'REVERSAL', id, 2n],
      [rst, '2024-01-04', '100.000000000', 'RESTATEMENT', id, 2n],
    ]);
    // every event_id once; the day sums say where the event is now
    const [[n, distinct]] = (await duckQuery(`SELECT count(*), count(DISTINCT event_id) FROM read_parquet('${factGlob(wh)}')`)) as [[bigint, bigint]];
    expect(n).toBe(distinct);
    // rows = count(*); net_rows = the events the day holds now (what a source's control count says)
    expect((await table.manifest('2024-01-03'))!.totals).toEqual([{ billing_source: 'stripe', event_type: 'INVOICE_PAID', currency: 'USD', rows: 2, net_rows: 0, amount_sum: '0.000000000' }]);
    expect((await table.manifest('2024-01-04'))!.totals[0]!.amount_sum).toBe('100.000000000');
    // the reversal mirrors the recorded row (its instant and business keys), lineage names the new record
    const [r] = await duckQuery(`SELECT epoch_us(event_ts), account_id, source_position FROM read_parquet('${factGlob(wh)}') WHERE event_id = '${rev}'`);
    expect(r).toEqual([v1.eventTs, 'acct_1', 2n]);
    // re-reading either version changes nothing
    const again = await table.commitIngest(load([v1, v2]));
    expect(again).toMatchObject({ rowsWritten: 0, duplicatesInBatch: 1, duplicatesExisting: 1 });
    const old = await table.commitIngest(load([v1]));
    expect(old).toMatchObject({ rowsWritten: 0, staleVersions: 1 });
    expect(await rows(wh)).toHaveLength(3);
  });

  it('the surviving amount does not depend on batching: two versions in two runs or in one give the same end state', async () => {
    const v1 = version(1, { amount: '100.00' });
    const v2 = version(2, { amount: '150.00' });
    const split = tmpWarehouse();
    const a = await FactTable.open(split);
    await a.commitIngest(load([v1]));
    await a.commitIngest(load([v2]));
    const one = tmpWarehouse();
    const b = await FactTable.open(one);
    await b.commitIngest(load([v2, v1]));
    for (const wh of [split, one]) {
      const [[sum]] = (await duckQuery(`SELECT sum(amount)::VARCHAR FROM read_parquet('${factGlob(wh)}')`)) as [[string]];
      expect(sum).toBe('150.000000000');
    }
    // newer first, older later: the older one is stale
    const rev = tmpWarehouse();
    const c = await FactTable.open(rev);
    await c.commitIngest(load([v2]));
    expect(await c.commitIngest(load([v1]))).toMatchObject({ staleVersions: 1, rowsWritten: 0 });
    expect(await rows(rev, 'amount::VARCHAR')).toEqual([['150.000000000']]);
  });

  it('a third version corrects the restatement, not the original; a newer version with the same values is remembered', async () => {
    const wh = tmpWarehouse();
    const table = await FactTable.open(wh);
    await table.commitIngest(load([version(1, { amount: '10.00' })]));
    await table.commitIngest(load([version(2, { amount: '20.00' })]));
    // v4 says 20.00 too: a duplicate, but it makes the late v3 (30.00) stale
    expect(await table.commitIngest(load([version(4, { amount: '20.00' })]))).toMatchObject({ duplicatesExisting: 1, rowsWritten: 0 });
    expect(await table.commitIngest(load([version(3, { amount: '30.00' })]))).toMatchObject({ staleVersions: 1, rowsWritten: 0 });
    await table.commitIngest(load([version(5, { amount: '50.00', ts: '2024-01-05T01:00:00Z' })]));
    const id = version(1).eventId;
    expect(await rows(wh, "amount::VARCHAR, coalesce(correction_kind, '-'), event_date::VARCHAR")).toEqual([
      ['10.000000000', '-', '2024-01-03'],
      ['20.000000000', 'RESTATEMENT', '2024-01-03'],
      ['-10.000000000', 'REVERSAL', '2024-01-03'],
      ['-20.000000000', 'REVERSAL', '2024-01-03'],
      ['50.000000000', 'RESTATEMENT', '2024-01-05'],
    ]);
    const [[rev5]] = (await duckQuery(`SELECT amount::VARCHAR FROM read_parquet('${factGlob(wh)}') WHERE event_id = '${correctionEventId(id, 'REVERSAL', 5n)}'`)) as [[string]];
    expect(rev5).toBe('-20.000000000');
  });

  for (const spillRows of [100_000, 2]) {
    it(`conflicting duplicates (same event and version, different money) are quarantined, never silent (spillRows ${spillRows})`, async () => {
      const wh = tmpWarehouse();
      const table = await FactTable.open(wh, { spillRows });
      const a = version(7, { amount: '100.00', sourcePosition: 1 });
      const b = version(7, { amount: '999.00', sourcePosition: 2 });
      const other = sampleEvent({ recordId: 'in_2', sourcePosition: 3 });
      const res = await table.commitIngest(load([a, other, b]));
      expect(res).toMatchObject({ rowsIn: 3, rowsWritten: 2, conflicts: 1, quarantined: 1, duplicatesInBatch: 0 });
      // inside a batch the later lineage stays; the other is quarantined with both values named
      expect((await rows(wh, 'source_record_id, amount::VARCHAR')).sort()).toEqual([['in_1', '999.000000000'], ['in_2', '10.000000000']]);
      const q = await quarantined(wh);
      expect(q.map((r) => r.slice(0, 2))).toEqual([['CONFLICTING_DUPLICATE', 1n]]);
      expect(String(q[0]![2])).toMatch(/100\.000000000.*999\.000000000/);
      // against the table: the recorded one stays
      const later = await table.commitIngest(load([version(7, { amount: '5.00', sourcePosition: 9 })]));
      expect(later).toMatchObject({ rowsWritten: 0, conflicts: 1, quarantined: 1 });
      expect((await quarantined(wh)).map((r) => r.slice(0, 2))).toEqual([['CONFLICTING_DUPLICATE', 1n], ['CONFLICTING_DUPLICATE', 9n]]);
    });
  }
});

describe('property: any split into runs and any order gives the same end state', () => {
  /** Record versions of `events` events: 1–3 versions each with distinct seqn, amounts, days and currencies. */
  function versions(seed: number): BillingEvent[] {
    const r = rng(seed);
    const out: BillingEvent[] = [];
    for (let e = 0; e < 12; e++) {
      const n = 1 + Math.floor(r() * 3);
      const seqns = [...new Set(Array.from({ length: n }, () => 1 + Math.floor(r() * 9)))];
      for (const s of seqns) {
        const day = ['2024-01-02', '2024-01-03', '2024-01-04'][Math.floor(r() * 3)]!;
        const hh = String(Math.floor(r() * 24)).padStart(2, '0');
        const same = r() < 0.25 && out.length > 0 && out[out.length - 1]!.sourceRecordId === `r${e}`;
        const prev = out[out.length - 1]!;
        out.push(
          sampleEvent({
            recordId: `r${e}`,
            version: null,
            type: e % 3 === 0 ? 'PAYMENT_PROCESSED' : 'INVOICE_POSTED',
            seqn: BigInt(s),
            ts: same ? new Date(Number(prev.eventTs / 1000n)).toISOString() : `${day}T${hh}:15:00Z`,
            amount: same ? prev.amount.toFixed() : `${Math.floor(r() * 1000)}.${String(Math.floor(r() * 100)).padStart(2, '0')}`,
            currency: same ? prev.amount.currency : e % 4 === 0 ? 'EUR' : 'USD',
            mrrDelta: e % 5 === 0 ? `${s}.5` : null,
            sourcePosition: out.length + 1,
          }),
        );
      }
    }
    return out;
  }

  function shuffle<T>(xs: T[], r: () => number): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  async function endState(wh: string) {
    const totals = await duckQuery(
      `SELECT billing_source, event_type, currency, sum(amount)::VARCHAR, sum(coalesce(mrr_delta, 0))::VARCHAR, sum(CASE correction_kind WHEN 'REVERSAL' THEN -1 ELSE 1 END)::BIGINT
       FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) GROUP BY ALL HAVING sum(CASE correction_kind WHEN 'REVERSAL' THEN -1 ELSE 1 END) <> 0 OR sum(amount) <> 0 ORDER BY ALL`,
    );
    const [[n, distinct]] = (await duckQuery(`SELECT count(*), count(DISTINCT event_id) FROM read_parquet('${factGlob(wh)}')`)) as [[bigint, bigint]];
    return { totals, unique: n === distinct };
  }

  it('12 events × up to 3 versions, 6 random splits and orders (some spilled) → identical totals, event_ids unique', async () => {
    const all = versions(42);
    // ground truth: the highest seqn of each event, loaded in one run into a fresh table
    const truthWh = tmpWarehouse();
    const latest = new Map<string, BillingEvent>();
    for (const e of all) if (!latest.has(e.eventId) || latest.get(e.eventId)!.seqn < e.seqn) latest.set(e.eventId, e);
    await (await FactTable.open(truthWh)).commitIngest(load([...latest.values()]));
    const truth = await endState(truthWh);
    expect(truth.totals.length).toBeGreaterThan(2);
    const r = rng(7);
    for (let trial = 0; trial < 6; trial++) {
      const wh = tmpWarehouse();
      const table = await FactTable.open(wh, { spillRows: trial % 3 === 2 ? 3 : 100_000 });
      const order = shuffle(all, r);
      const runs = 1 + Math.floor(r() * 4);
      const cuts = [0, ...[...new Set(Array.from({ length: runs - 1 }, () => Math.floor(r() * order.length)))].sort((a, b) => a - b), order.length];
      for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i]! < cuts[i + 1]!) await table.commitIngest(load(order.slice(cuts[i], cuts[i + 1])));
      const got = await endState(wh);
      expect({ trial, ...got }).toEqual({ trial, ...truth });
    }
  }, 120_000);
});

describe('decisions (pure)', () => {
  const v = (seqn: number, amount = '1.000000000', ts = 5n): VersionValues => ({ seqn: BigInt(seqn), eventType: 'INVOICE_PAID', eventTs: ts, amount, currency: 'USD', mrrDelta: null });
  it('follows the highest seqn and the values', () => {
    expect(decide(v(1), null)).toBe('NEW');
    expect(decide(v(1), v(1))).toBe('DUPLICATE');
    expect(decide(v(1, '2.000000000'), v(1))).toBe('CONFLICT');
    expect(decide(v(2), v(1))).toBe('NEWER_SAME');
    expect(decide(v(2, '1.000000000', 6n), v(1))).toBe('CORRECTION');
    expect(decide(v(2, '3.000000000'), v(1))).toBe('CORRECTION');
    expect(decide(v(0, '3.000000000'), v(1))).toBe('STALE');
  });
  it('merges index segments like a binary counter (few segments, each entry rewritten rarely)', () => {
    expect(mergeCount([8])).toBe(1);
    expect(mergeCount([8, 8])).toBe(2);
    expect(mergeCount([16, 8])).toBe(1);
    expect(mergeCount([16, 8, 8])).toBe(3);
    let segs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      segs.push(1);
      const k = mergeCount(segs);
      if (k > 1) segs = [...segs.slice(0, segs.length - k), segs.slice(segs.length - k).reduce((a, b) => a + b, 0)];
    }
    expect(segs.length).toBeLessThanOrEqual(11);
  });
});
