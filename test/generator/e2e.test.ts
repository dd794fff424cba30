import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../tools/generator/index.js';
import { aggregate, loadAll, readTruth } from './e2e-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SOURCES = ['zuora', 'stripe', 'chargebee', 'recurly'];

describe.each([
  { from: '2024-03-09', to: '2024-03-11', label: 'US spring-forward', dst: 'tsNonexistent' as const },
  { from: '2024-10-26', to: '2024-10-27', label: 'London fall-back', dst: null },
  { from: '2024-11-02', to: '2024-11-03', label: 'US fall-back', dst: 'tsAmbiguous' as const },
])('generated landing zone read back through the built-in mappings ($label)', ({ from, to, dst }) => {
  it('maps to exactly the ground truth; every record ends in the fact table or quarantine', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bm-gen-e2e-'));
    dirs.push(out);
    const summary = await generate({ out, from, to, eventsPerDay: 800, seed: `e2e-${from}` });
    const loaded = await loadAll(out, SOURCES);
    expect(loaded.unrecognised).toEqual([]);
    // nothing lost: every record read produced events or a quarantine entry
    expect(loaded.records).toBe(summary.records);
    expect(loaded.eventRecords + loaded.quarantined + loaded.skipped).toBe(loaded.records);
    // Recurly's Fivetran tables: card verifications are written beside some payments and skipped by rule
    expect(loaded.skippedByRule['recurly:transaction.card_verification']).toBeGreaterThan(0);
    // quarantine by reason
    const qTruth = readTruth(path.join(out, '_truth', 'expected_quarantine.csv'), 2);
    expect(Object.fromEntries([...loaded.quarantine].map(([k, n]) => [k, String(n)]))).toEqual(Object.fromEntries(qTruth));
    expect(loaded.quarantined).toBe(summary.quarantined);
    // facts after exactly-once (dedupe by event_id keeping the highest seqn)
    const fTruth = readTruth(path.join(out, '_truth', 'expected_fact.csv'), 4);
    expect(Object.fromEntries(aggregate(loaded.events.values()))).toEqual(Object.fromEntries(fTruth));
    expect(loaded.events.size).toBe(summary.events);
    // nightly bill runs stamped at local midnight, and the DST wall times, survive as flags
    const all = [...loaded.events.values()];
    for (const s of ['zuora', 'stripe', 'recurly']) expect(all.some((e) => e.billingSource === s && e.tsTruncated)).toBe(true);
    // (Recurly through Fivetran writes UTC: no local wall times, so no DST flags there)
    if (dst) for (const s of ['zuora']) expect(all.filter((e) => e.billingSource === s && e[dst]).length).toBeGreaterThan(0);
    // control totals agree with the truth per source and day
    for (const s of SOURCES) {
      const ctl = JSON.parse(readFileSync(path.join(out, s, '_control', `${to}.json`), 'utf8')) as { totals: { event_type: string; currency: string; rows: number; amount_sum: string }[] };
      for (const t of ctl.totals) expect(fTruth.get(`${s},${to},${t.event_type},${t.currency}`)).toBe(`${t.rows},${t.amount_sum}`);
    }
  });
});
