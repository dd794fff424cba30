import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMrrObservations, currentMrr, mrrDeltaToEvent, utcTimestamp, type MrrDelta, type MrrObservation, type MrrState } from '../../events/mrr.js';
import { Decimal, Money } from '../../events/money.js';
import { MrrStateStore, planMrrRun } from '../../jobs/billing/mrr-store.js';
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

describe('MRR state store (durable, append-only)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  async function wh(): Promise<string> {
    const d = await mkdtemp(path.join(tmpdir(), 'bm-mrr-'));
    dirs.push(d);
    return d;
  }

  it('persists state between runs so a late older version is corrected in the next run', async () => {
    const w = await wh();
    const p1 = await planMrrRun(w, [obs('S1', 1, '100'), obs('S1', 3, '300')], 'run-1');
    expect(p1.events.map((e) => e.mrrDelta!.toFixed())).toEqual(['100.000000000', '200.000000000']);
    expect(await p1.persist()).toMatch(/00000001\.jsonl$/);
    const p2 = await planMrrRun(w, [obs('S1', 2, '250'), obs('S1', 3, '300')], 'run-2');
    expect(p2.events.map((e) => [e.sourceRecordId, e.sourceVersion, e.mrrDelta!.toFixed()])).toEqual([
      ['S1@v2', '0', '150.000000000'],
      ['S1@v3', '1', '-150.000000000'],
    ]);
    await p2.persist();
    const p3 = await planMrrRun(w, [obs('S1', 2, '250')], 'run-3');
    expect(p3.events).toEqual([]);
    expect(await p3.persist()).toBeUndefined();
    expect((await readdir(path.join(w, 'billing', 'mrr_state'))).sort()).toEqual(['00000001.jsonl', '00000002.jsonl']);
    const store = await MrrStateStore.open(w);
    expect(currentMrr(store.state, 'zuora', 'S1')).toBe('300');
  });

  it('not persisting (crash before persist) recomputes the same event ids', async () => {
    const w = await wh();
    const a = await planMrrRun(w, [obs('S9', 1, '42')], 'run-1');
    const b = await planMrrRun(w, [obs('S9', 1, '42')], 'run-1-retry');
    expect(b.events.map((e) => e.eventId)).toEqual(a.events.map((e) => e.eventId));
  });

  it('a concurrent writer that took the same seq makes commit fail (retriable), not overwrite', async () => {
    const w = await wh();
    const plan = await planMrrRun(w, [obs('S1', 1, '1')], 'run-a');
    const other = await planMrrRun(w, [obs('S2', 1, '2')], 'run-b');
    await other.persist();
    await expect(plan.persist()).rejects.toThrow(/another run wrote MRR state file .*00000001\.jsonl first; re-run/);
  });

  it('a corrupt state line is an error naming the file and line', async () => {
    const w = await wh();
    const dir = path.join(w, 'billing', 'mrr_state');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '00000001.jsonl'), '{"billingSource":"z","subscriptionId":"S","currency":"USD","versions":[],"runId":"r"}\n{oops\n');
    await expect(MrrStateStore.open(w)).rejects.toThrow(/00000001\.jsonl:2: invalid JSON in the MRR state log/);
  });
});
