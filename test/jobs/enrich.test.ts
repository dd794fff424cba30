/**
 * DimensionLookup.attributes shares one frozen attributes object per (account row, product row) pair met and keeps
 * the snapshot of the current day: its answers must be exactly those of the plain rule (the newest snapshot dated
 * on or before the event's day, the oldest when the event predates them all; a missing member is marked), on
 * seeded random snapshots and events (ids null, empty, known, unknown, other sources, days before and between
 * snapshots), and an event is never changed by staging's use of it.
 */
import { describe, expect, it } from 'vitest';
import { DimensionLookup } from '../../jobs/enrich.js';
import type { DimRow } from '../../jobs/ports.js';
import { rng } from '../helpers/sample-events.js';

type Snaps = { snapshotDate: string; rows: DimRow[] }[];

/** The rule as it was written before the memo (jobs/enrich.ts at 7bf47ce). */
function reference(accounts: Snaps, products: Snaps, ev: { billingSource: string; accountId: string | null; productId: string | null; eventDate: string }) {
  const asOf = (snaps: Snaps) => {
    const sorted = [...snaps].sort((a, b) => a.snapshotDate.localeCompare(b.snapshotDate));
    let best: Snaps[number] | undefined;
    for (const s of sorted) {
      if (s.snapshotDate <= ev.eventDate) best = s;
      else break;
    }
    return best ?? sorted[0];
  };
  const find = (snaps: Snaps, col: string, id: string) => asOf(snaps)?.rows.find((r) => (r.billing_source ?? '') === ev.billingSource && (r[col] ?? '') === id);
  const acc = ev.accountId ? find(accounts, 'account_id', ev.accountId) : undefined;
  const prod = ev.productId ? find(products, 'product_id', ev.productId) : undefined;
  const accMissing = ev.accountId !== null && !acc;
  const prodMissing = ev.productId !== null && !prod;
  const dimStatus = ev.accountId === null && ev.productId === null ? 'NO_KEY' : accMissing && prodMissing ? 'MISSING_BOTH' : accMissing ? 'MISSING_ACCOUNT' : prodMissing ? 'MISSING_PRODUCT' : 'OK';
  return { accountName: acc?.account_name ?? null, accountSegment: acc?.segment ?? null, accountCountry: acc?.country ?? null, productName: prod?.product_name ?? null, planName: prod?.plan_name ?? null, dimStatus };
}

describe('DimensionLookup.attributes', () => {
  it('equals the plain rule on seeded random snapshots and events', () => {
    const rand = rng(0x11_e1);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const sources = ['stripe', 'zuora'];
    const ids = ['a1', 'a2', 'a3', 'p1', 'p2', ''];
    for (let round = 0; round < 40; round++) {
      const dates = ['2024-01-03', '2024-01-05', '2024-01-09'].filter(() => rand() < 0.7);
      const snaps = (col: string, name: string): Snaps =>
        dates.map((d) => ({
          snapshotDate: d,
          rows: ids.filter(() => rand() < 0.6).map((id) => ({ billing_source: pick(sources), [col]: id, [name]: `${name}-${id}-${d}`, segment: rand() < 0.5 ? 'SMB' : null, country: 'DE', plan_name: rand() < 0.5 ? `plan-${d}` : null })),
        }));
      const accounts = snaps('account_id', 'account_name');
      const products = snaps('product_id', 'product_name');
      const lookup = new DimensionLookup(accounts, products);
      for (let i = 0; i < 300; i++) {
        const ev = { billingSource: pick(sources), accountId: rand() < 0.15 ? null : pick(ids), productId: rand() < 0.15 ? null : pick(ids), eventDate: pick(['2024-01-01', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-07', '2024-01-09', '2024-01-10']) };
        const got = lookup.attributes(ev);
        expect(got, `round ${round} event ${JSON.stringify(ev)}`).toEqual(reference(accounts, products, ev));
        expect(Object.isFrozen(got)).toBe(true);
      }
    }
  });
});
