/**
 * The merge of a spilled batch's runs in the stage (warehouse/run-merge.ts): whatever the spill budget, the staged
 * day files are byte for byte those of the batch staged whole in memory (the same winners, in the same order, with
 * the same `_ord`), with the same duplicates and conflicts; quoted fields, lines longer than a read chunk and hash
 * collisions included.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stageEventsAt, type Staged } from '../../warehouse/staging.js';
import { RunKeys, resolveCrossRun } from '../../warehouse/run-merge.js';
import type { BillingEvent } from '../../events/model.js';
import { rng, sampleEvent, sampleEvents, streamOf } from '../helpers/sample-events.js';
import { dayChecker, stageLine } from '../../warehouse/lines.js';
import { Money } from '../../events/money.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-run-merge-'));
  dirs.push(d);
  return d;
}

/** A batch with re-deliveries (another file, same values), newer and older versions and conflicts, shuffled. */
function batch(seed: number): BillingEvent[] {
  const r = rng(seed);
  const base = sampleEvents({ days: ['2024-01-02', '2024-01-03'], count: 400, seed, prefix: 'rec"q,' });
  const out = [...base];
  for (const e of base) {
    const x = r();
    if (x > 0.6) continue;
    const file = x < 0.15 ? 'stripe/2024-01-03/08/re,"delivered".csv' : x < 0.3 ? 'stripe/2024-01-03/00/export.csv' : 'stripe/2024-01-03/04/z.csv';
    const seqn = x < 0.4 ? e.seqn : x < 0.5 ? e.seqn + 1n : e.seqn - 1n;
    const conflict = r() < 0.1 && seqn === e.seqn;
    out.push({ ...e, seqn, amount: conflict ? Money.major('4242.42', e.amount.currency === 'JPY' ? 'USD' : e.amount.currency) : e.amount, mrrDelta: conflict ? null : e.mrrDelta, lineage: { ...e.lineage, sourceFile: file, sourcePosition: e.lineage.sourcePosition + (x < 0.3 ? 0 : 7) } });
  }
  // one line longer than the merge's read chunk (1 MiB)
  out.push(sampleEvent({ recordId: 'wide', ts: '2024-01-03T10:00:00.000001Z', dims: { accountName: 'w'.repeat(1_500_000), accountSegment: null, accountCountry: null, productName: null, planName: null, dimStatus: 'OK' } }));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function stage(events: BillingEvent[], spillRows: number): Promise<{ s: Staged; days: Map<string, string> }> {
  const dir = tmp();
  const s = await stageEventsAt(dir, { source: 'stripe', runId: 'run-1', events: streamOf(events) }, { spillRows, spillBytes: 1 << 30 });
  const days = new Map<string, string>();
  for (const [day, files] of s.files) {
    expect(files).toHaveLength(1);
    days.set(day, readFileSync(files[0]!, 'latin1'));
    expect(s.fileRows.get(files[0]!)).toBe(days.get(day)!.split('\n').length - 1);
  }
  return { s, days };
}

const conflictKey = (c: Staged['conflicts'][number]) => `${c.eventId} ${c.seqn} ${c.sourceFile}:${c.sourcePosition} ${c.values} | ${c.keptValues} @ ${c.keptAt}`;

describe('the stage merges a spilled batch into what the batch staged whole would be', () => {
  for (const [seed, spillRows] of [
    [1, 7],
    [2, 50],
    [3, 199],
  ] as const) {
    it(`seed ${seed}, runs of ${spillRows} rows: the same day files byte for byte, the same duplicates and conflicts`, async () => {
      const events = batch(seed);
      const whole = await stage(events, 1_000_000);
      const spilled = await stage(events, spillRows);
      expect(whole.s.spilled).toBe(false);
      expect(spilled.s.spilled).toBe(true);
      expect([...spilled.days.keys()]).toEqual([...whole.days.keys()]);
      for (const [day, text] of whole.days) expect(spilled.days.get(day) === text, `day ${day}`).toBe(true);
      expect(spilled.s.rows).toEqual(whole.s.rows);
      expect(spilled.s.duplicatesInBatch).toBe(whole.s.duplicatesInBatch);
      expect(whole.s.conflicts.length).toBeGreaterThan(0);
      expect(spilled.s.conflicts.map(conflictKey).sort()).toEqual(whole.s.conflicts.map(conflictKey).sort());
    });
  }
});

describe('cross-run candidates', () => {
  it('rows whose hashes collide are only candidates: different ids in them both stay', async () => {
    const dir = tmp();
    const a = path.join(dir, 'a.csv');
    const b = path.join(dir, 'b.csv');
    writeFileSync(a, sampleLine('aaaa', 1, 1) + sampleLine('bbbb', 1, 2));
    writeFileSync(b, sampleLine('cccc', 1, 3) + sampleLine('aaaa', 2, 4));
    const keys = new RunKeys();
    // every row the same hash: all four are candidates, in one group or in four
    for (const ord of [1, 2, 3, 4]) keys.add(42, ord);
    for (const groupRows of [1000, 1]) {
      const groups = keys.candidateGroups(groupRows);
      expect(groups.flatMap((g) => [...g]).sort()).toEqual([1, 2, 3, 4]);
      const r = await resolveCrossRun([a, b], groups);
      expect([...r.losers]).toEqual([1]); // aaaa: seqn 2 (ord 4) wins; bbbb and cccc are alone
      expect(r).toMatchObject({ duplicates: 1, conflicts: [] });
    }
  });
});

/** A staged line as lines.ts writes it (via stageLine through a one-event stage). */
function sampleLine(id: string, seqn: number, ord: number): string {
  const e = sampleEvent({ recordId: id, seqn: BigInt(seqn) });
  return stageLine({ ...e, eventId: id }, ord, dayChecker());
}
