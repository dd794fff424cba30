import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMrrObservations, currentMrr, mrrDeltaToEvent, utcTimestamp, type MrrDelta, type MrrObservation, type MrrState } from '../../events/mrr.js';
import { Decimal, Money } from '../../events/money.js';
import { planMrr, stateFromRows } from '../../jobs/billing/mrr-store.js';
import { rows, sqlString, withBillingDuck as withDuck } from '../../jobs/billing/views.js';
import { FactTable, MERGE_AT } from '../../warehouse/index.js';
import { mulberry32, shuffle } from './helpers.js';

const T0 = 1_704_067_200_000_000n; // 2024-01-01T00:00:00Z in micros
const DAY = 86_400_000_000n;

function obs(sub: string, seq: number, mrr: string, opts: Partial<MrrObservation> = {}): MrrObservation {
  return {
    billingSource: 'zuora',
    subscriptionId: sub,
    accountId: 'A1',
    versionSeq: BigInt(seq),
    version: `v${seq}`,
    effectiveTs: T0 + BigInt(seq) * DAY,
    mrr: Money.major(mrr, 'USD'),
    location: { file: 'subs.csv', line: seq + 1 },
    ...opts,
  };
}

function sumBy(deltas: MrrDelta[], pred: (d: MrrDelta) => boolean = () => true): string {
  return deltas.filter(pred).reduce((acc, d) => acc.plus(d.delta.amount), new Decimal(0)).toFixed(9);
}

describe('MRR deltas (pure)', () => {
  it('turns in-order absolute values into deltas whose sum is the latest value', () => {
    const r = applyMrrObservations(new Map(), [obs('S1', 1, '100'), obs('S1', 2, '150.50'), obs('S1', 3, '120')]);
    expect(r.deltas.map((d) => [d.version, d.kind, d.delta.toFixed()])).toEqual([
      ['v1', 'DELTA', '100.000000000'],
      ['v2', 'DELTA', '50.500000000'],
      ['v3', 'DELTA', '-30.500000000'],
    ]);
    expect(sumBy(r.deltas)).toBe('120.000000000');
    expect(currentMrr(r.state, 'zuora', 'S1')).toBe('120');
  });

  it('an older version arriving after a newer one adds a delta and a correction, editing nothing', () => {
    const first = applyMrrObservations(new Map(), [obs('S1', 1, '100'), obs('S1', 3, '300')]);
    const second = applyMrrObservations(first.state, [obs('S1', 2, '250')]);
    expect(second.deltas.map((d) => [d.version, d.kind, d.row, d.delta.toFixed()])).toEqual([
      ['v2', 'DELTA', 0, '150.000000000'],
      ['v3', 'CORRECTION', 1, '-150.000000000'],
    ]);
    const all = [...first.deltas, ...second.deltas];
    expect(sumBy(all)).toBe('300.000000000');
    // the slice up to v2's effective time now shows v2's value
    expect(sumBy(all, (d) => d.effectiveTs <= T0 + 2n * DAY)).toBe('250.000000000');
    // the correction is dated at v3, not at the time it was computed
    expect(second.deltas[1]!.effectiveTs).toBe(T0 + 3n * DAY);
    // first batch rows are unchanged objects (nothing edited)
    expect(first.deltas.map((d) => d.delta.toFixed())).toEqual(['100.000000000', '200.000000000']);
  });

  it('is idempotent: re-applying the same versions emits nothing and counts duplicates', () => {
    const a = applyMrrObservations(new Map(), [obs('S1', 1, '10'), obs('S1', 2, '20')]);
    const b = applyMrrObservations(a.state, [obs('S1', 2, '20.000'), obs('S1', 1, '10')]);
    expect(b.deltas).toEqual([]);
    expect(b.duplicates).toBe(2);
  });

  it('correction ids are deterministic and distinct from the first row of a version', () => {
    const run = () => {
      const a = applyMrrObservations(new Map(), [obs('S1', 1, '100'), obs('S1', 3, '300')]);
      return applyMrrObservations(a.state, [obs('S1', 2, '250')]).deltas.map((d) => d.eventId);
    };
    const ids = run();
    expect(ids).toEqual(run());
    expect(new Set(ids).size).toBe(2);
    ids.forEach((id) => expect(id).toMatch(/^[0-9a-f]{32}$/));
  });

  it('refuses a version that changes value, and a currency change, with file, line and field', () => {
    const a = applyMrrObservations(new Map(), [obs('S1', 1, '100')]);
    const b = applyMrrObservations(a.state, [obs('S1', 1, '999'), obs('S1', 2, '5', { mrr: Money.major('5', 'EUR'), location: { file: 'subs.csv', line: 7 } })]);
    expect(b.deltas).toEqual([]);
    expect(b.errors).toHaveLength(2);
    expect(b.errors[0]!.message).toMatch(/version v1 .* already seen with MRR 100, now 999.*subs\.csv:2 field "mrr"/);
    expect(b.errors[1]!.message).toMatch(/changed MRR currency from USD to EUR.*subs\.csv:7 field "mrr"/);
    expect(b.errors[1]!.code).toBe('BAD_VALUE');
  });

  it('makes MRR_CHANGED fact events with amount 0 and the exact delta', () => {
    const r = applyMrrObservations(new Map(), [obs('S1', 1, '0.000000001')]);
    const ev = mrrDeltaToEvent(r.deltas[0]!, 'run-1');
    expect(ev.eventType).toBe('MRR_CHANGED');
    expect(ev.amount.toFixed()).toBe('0.000000000');
    expect(ev.mrrDelta!.toFixed()).toBe('0.000000001');
    expect(ev.eventDate).toBe('2024-01-02');
    expect(ev.eventId).toBe(r.deltas[0]!.eventId);
    expect(utcTimestamp(T0 + 1n).utc).toBe('2024-01-01T00:00:00.000001Z');
    expect(utcTimestamp(-1n).utc).toBe('1969-12-31T23:59:59.999999Z');
  });
});

describe('MRR deltas: shuffled arrival (property, seeded)', () => {
  it('the final per-subscription sum equals the latest version value in every arrival order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = mulberry32(seed);
      const subs = ['S1', 'S2', 'S3'];
      const all: MrrObservation[] = [];
      const latest = new Map<string, string>();
      for (const s of subs) {
        const n = 1 + Math.floor(rnd() * 6);
        for (let v = 1; v <= n; v++) {
          const cents = BigInt(Math.floor(rnd() * 100_000)) - 20_000n; // may go negative, exercise signs
          const value = Money.minor(cents, 'USD');
          all.push(obs(s, v * 10, value.amount.toFixed()));
          if (v === n) latest.set(s, value.toFixed());
        }
      }
      // duplicates of some observations
      const arrivals = shuffle([...all, ...all.filter(() => rnd() < 0.2)], rnd);
      // split into random runs; state goes through a snapshot each time
      let state: MrrState = new Map();
      const emitted: MrrDelta[] = [];
      let i = 0;
      while (i < arrivals.length) {
        const size = 1 + Math.floor(rnd() * 4);
        const r = applyMrrObservations(state, arrivals.slice(i, i + size));
        expect(r.errors).toEqual([]);
        emitted.push(...r.deltas);
        state = r.state;
        i += size;
      }
      for (const s of subs) {
        expect(sumBy(emitted, (d) => d.subscriptionId === s), `seed ${seed} sub ${s}`).toBe(latest.get(s));
      }
      // per-version prefix sums equal each version's value (time slices are right too)
      for (const o of all) {
        const prefix = sumBy(emitted, (d) => d.subscriptionId === o.subscriptionId && d.versionSeq <= o.versionSeq);
        expect(prefix, `seed ${seed}`).toBe(o.mrr.toFixed());
      }
      expect(new Set(emitted.map((d) => d.eventId)).size, `seed ${seed}: ids unique`).toBe(emitted.length);
    }
  });
});

/** Plans a batch against the committed state and commits the deltas with the state write (one ingest commit). */
async function ingest(table: FactTable, runId: string, observations: MrrObservation[]) {
  const plan = await planMrr(table, 'zuora', observations, runId);
  await table.commitIngest({ runId, source: 'zuora', windows: [], inputs: [{ path: `${runId}.json`, sha256: runId, bytes: 1 }], events: plan.events, quarantine: [], tables: plan.tables });
  return plan;
}

async function mrrRows(w: string) {
  const table = await FactTable.open(w);
  const files = (await table.tableFiles('fact_billing_event')).files.map((f) => f.path);
  if (!files.length) return [];
  return withDuck((c) => rows(c, `SELECT subscription_id, CAST(sum(mrr_delta) AS VARCHAR) AS mrr, count(*) AS n FROM read_parquet([${files.map(sqlString).join(', ')}]) WHERE event_type = 'MRR_CHANGED' GROUP BY 1 ORDER BY 1`));
}

describe('MRR state as a warehouse table (committed with the deltas)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  async function wh(): Promise<string> {
    const d = await mkdtemp(path.join(tmpdir(), 'bm-mrr-'));
    dirs.push(d);
    return d;
  }

  it('keeps state between runs so a late older version is corrected in the next run; the state is in the commit log', async () => {
    const w = await wh();
    const table = await FactTable.open(w);
    const p1 = await ingest(table, 'run-1', [obs('S1', 1, '100'), obs('S1', 3, '300')]);
    expect(p1.events.map((e) => e.mrrDelta!.toFixed())).toEqual(['100.000000000', '200.000000000']);
    const p2 = await ingest(table, 'run-2', [obs('S1', 2, '250'), obs('S1', 3, '300')]);
    expect(p2.events.map((e) => [e.sourceRecordId, e.sourceVersion, e.mrrDelta!.toFixed()])).toEqual([
      ['S1@v2', '0', '150.000000000'],
      ['S1@v3', '1', '-150.000000000'],
    ]);
    const p3 = await ingest(table, 'run-3', [obs('S1', 2, '250')]);
    expect(p3.events).toEqual([]);
    expect(p3.tables).toEqual([]);
    const state = stateFromRows((await (await FactTable.open(w)).readTable('mrr_state', 'zuora')).rows, 'test');
    expect(currentMrr(state, 'zuora', 'S1')).toBe('300');
    expect(state.get('zuora\x1fS1')!.versions.map((v) => [v.version, v.value, v.emitted, v.rows])).toEqual([
      ['v1', '100', '100', 1],
      ['v2', '250', '150', 1],
      ['v3', '300', '50', 2],
    ]);
    // each state change is part of its ingest commit: the same entries change the fact table and mrr_state
    const history = await table.history();
    expect(history.map((h) => h.partitions.filter((p) => p.startsWith('mrr_state/')))).toEqual([['mrr_state/source=zuora'], ['mrr_state/source=zuora'], []]);
    expect(await mrrRows(w)).toEqual([{ subscription_id: 'S1', mrr: '300.000000000', n: 4n }]);
  });

  it('reads only the subscriptions a batch observes, and merges old snapshots away', async () => {
    const w = await wh();
    const table = await FactTable.open(w);
    for (let i = 1; i <= MERGE_AT + 2; i++) await ingest(table, `run-${i}`, [obs(`S${i}`, 1, String(i)), obs('S0', i, String(10 * i))]);
    const part = (await table.tableFiles('mrr_state')).files;
    expect(part.length).toBeLessThanOrEqual(MERGE_AT);
    const some = await table.readTable('mrr_state', 'zuora', { column: 'subscription_id', values: ['S3'] });
    expect(some.rows.map((r) => [r.subscription_id, r.version])).toEqual([['S3', 'v1']]);
    const all = stateFromRows((await table.readTable('mrr_state', 'zuora')).rows, 'test');
    expect(all.size).toBe(MERGE_AT + 3);
    expect(all.get('zuora\x1fS0')!.versions).toHaveLength(MERGE_AT + 2);
    expect(currentMrr(all, 'zuora', 'S0')).toBe(String(10 * (MERGE_AT + 2)));
  });

  it('a write planned from a state that changed meanwhile is refused (retriable), nothing committed', async () => {
    const w = await wh();
    const table = await FactTable.open(w);
    const plan = await planMrr(table, 'zuora', [obs('S1', 1, '1')], 'run-a');
    await ingest(table, 'run-b', [obs('S2', 1, '2')]);
    const before = (await table.history()).length;
    await expect(
      table.commitIngest({ runId: 'run-a', source: 'zuora', windows: [], inputs: [{ path: 'a.json', sha256: 'a', bytes: 1 }], events: plan.events, quarantine: [], tables: plan.tables }),
    ).rejects.toThrow(/mrr_state\/source=zuora changed since this run read it .* run it again/);
    expect((await table.history()).length).toBe(before);
    expect(await mrrRows(w)).toEqual([{ subscription_id: 'S2', mrr: '2.000000000', n: 1n }]);
  });

  it('shuffled arrivals in random runs through the committed state converge (seeded)', async () => {
    for (const seed of [3, 17, 42]) {
      const w = await wh();
      const table = await FactTable.open(w);
      const rnd = mulberry32(seed);
      const all: MrrObservation[] = [];
      const latest = new Map<string, string>();
      for (const s of ['S1', 'S2']) {
        const n = 2 + Math.floor(rnd() * 4);
        for (let v = 1; v <= n; v++) {
          const value = Money.minor(BigInt(Math.floor(rnd() * 100_000)) - 20_000n, 'USD');
          all.push(obs(s, v * 10, value.amount.toFixed()));
          if (v === n) latest.set(s, value.amount.toFixed(9));
        }
      }
      const arrivals = shuffle(all, rnd);
      for (let i = 0, run = 0; i < arrivals.length; run++) {
        const size = 1 + Math.floor(rnd() * 3);
        await ingest(table, `seed${seed}-run${run}`, arrivals.slice(i, i + size));
        i += size;
      }
      expect((await mrrRows(w)).map((r) => [r.subscription_id, r.mrr]), `seed ${seed}`).toEqual([...latest.entries()].sort());
    }
  });
});
