/**
 * The ControlProvider contract (connectors/control/provider.ts), one suite run against every implementation —
 * billing-mart's JSON export, a config-mapped CSV export, a PostgreSQL source query, the jobs tests' in-memory
 * fake, and the API connectors' recount — so no implementation (fakes included) can drift from the others.
 *
 *   controlProviderContract('my provider', async () => ({ make: async (source, days) => provider, … }));
 */
import { describe, expect, it } from 'vitest';
import type { ControlCell, ControlProvider } from '../../connectors/control/index.js';

export interface ControlFixture {
  /** A provider for `source` whose source reports exactly `days` (day → cells; a day not listed was not reported). */
  make(source: string, days: Record<string, ControlCell[]>): Promise<ControlProvider>;
  /**
   * What the provider answers for a day the source never reported: null (an export not dropped yet) or totals
   * with no cells (a database or an API answers for every day: nothing happened).
   */
  unreported: 'null' | 'empty';
  cleanup?(): Promise<void>;
}

const D1 = '2024-01-03';
const D2 = '2024-01-04';
const D3 = '2024-01-05';

/** Cells as a source reports them: split across lines, mixed-case currency, exact extremes. */
const REPORTED: Record<string, ControlCell[]> = {
  [D1]: [
    { event_type: 'INVOICE_POSTED', currency: 'usd', rows: 2, amount: '12345678901234567890.123456789' },
    { event_type: 'INVOICE_POSTED', currency: 'USD', rows: 1, amount: '0.000000001' },
    { event_type: 'REFUND_PROCESSED', currency: 'EUR', rows: 1, amount: '-5.5' },
    { event_type: 'PAYMENT_FAILED', currency: 'XXX', rows: 3, amount: '0' },
    { event_type: 'FEE_CHARGED', currency: 'JPY', rows: 1, amount: '-1234' },
  ],
  [D2]: [{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 7, amount: '70.07' }],
};

export function controlProviderContract(name: string, fixture: () => Promise<ControlFixture>): void {
  describe(`ControlProvider contract: ${name}`, () => {
    async function withProvider<T>(fn: (p: ControlProvider, f: ControlFixture) => Promise<T>): Promise<T> {
      const f = await fixture();
      try {
        return await fn(await f.make('acme', REPORTED), f);
      } finally {
        await f.cleanup?.();
      }
    }

    it('returns the reported totals: one cell per (event type, upper-case currency), rows summed, amounts exact to 9 decimals, sorted', async () => {
      await withProvider(async (p) => {
        expect(['export', 'query', 'recount']).toContain(p.kind);
        expect(p.origin).toMatch(/\S/);
        const t = await p.totals(D1);
        expect(t).not.toBeNull();
        expect({ source: t!.source, date: t!.date }).toEqual({ source: 'acme', date: D1 });
        expect(t!.totals).toEqual([
          { event_type: 'FEE_CHARGED', currency: 'JPY', rows: 1, amount_sum: '-1234.000000000' },
          { event_type: 'INVOICE_POSTED', currency: 'USD', rows: 3, amount_sum: '12345678901234567890.123456790' },
          { event_type: 'PAYMENT_FAILED', currency: 'XXX', rows: 3, amount_sum: '0.000000000' },
          { event_type: 'REFUND_PROCESSED', currency: 'EUR', rows: 1, amount_sum: '-5.500000000' },
        ]);
      });
    });

    it('answers for the day asked about only', async () => {
      await withProvider(async (p) => {
        expect((await p.totals(D2))!.totals).toEqual([{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 7, amount_sum: '70.070000000' }]);
      });
    });

    it('says "not reported" (null) or "nothing happened" (no cells) for a day the source did not report, as declared', async () => {
      await withProvider(async (p, f) => {
        const t = await p.totals(D3);
        if (f.unreported === 'null') expect(t).toBeNull();
        else expect(t).toMatchObject({ source: 'acme', date: D3, totals: [] });
      });
    });

    it('refuses a day that is not a YYYY-MM-DD date', async () => {
      await withProvider(async (p) => {
        await expect(p.totals('2024-1-3')).rejects.toThrow(/2024-1-3/);
      });
    });
  });
}
