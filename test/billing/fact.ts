/** Writes test fact-table data the way the warehouse lays it out: DuckDB COPY → Parquet (DECIMAL(38,9), TIMESTAMPTZ). */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sqlString, withDuck } from '../../jobs/billing/duck.js';

export interface TestEvent {
  id: string;
  /** ISO UTC instant, e.g. 2024-01-05T10:00:00Z */
  ts: string;
  account?: string | null;
  subscription?: string | null;
  amount: string;
  currency?: string;
  mrr?: string | null;
  source?: string;
}

/** A 32-hex event id derived from a short label (readable tests, valid ids). */
export function eid(label: string): string {
  return Buffer.from(label).toString('hex').padEnd(32, '0').slice(0, 32);
}

function lit(v: string | null | undefined): string {
  return v === null || v === undefined ? 'NULL' : sqlString(v);
}

/** Writes `events` into one new Parquet file per event day, named `<name>.parquet`. */
export async function writeFact(warehouse: string, name: string, events: TestEvent[]): Promise<void> {
  const byDay = new Map<string, TestEvent[]>();
  for (const e of events) {
    const d = e.ts.slice(0, 10);
    byDay.set(d, [...(byDay.get(d) ?? []), e]);
  }
  await withDuck(async (c) => {
    for (const [day, evs] of byDay) {
      const dir = path.join(warehouse, 'fact_billing_event', `event_date=${day}`);
      await mkdir(dir, { recursive: true });
      const values = evs
        .map(
          (e, i) =>
            `(${lit(eid(e.id))}, ${i}, ${lit(e.source ?? 'zuora')}, 'INVOICE_ITEM_CHARGED', TIMESTAMPTZ ${lit(e.ts)}, CAST(${lit(e.amount)} AS DECIMAL(38,9)), ${lit(e.currency ?? 'USD')}, CAST(${lit(e.account === undefined ? 'A1' : e.account)} AS VARCHAR), CAST(${lit(e.subscription ?? null)} AS VARCHAR), CAST(${lit(e.mrr ?? null)} AS DECIMAL(38,9)))`,
        )
        .join(',\n');
      await c.run(
        `COPY (SELECT * FROM (VALUES ${values}) t(event_id, seqn, billing_source, event_type, event_ts, amount, currency, account_id, subscription_id, mrr_delta))
         TO ${sqlString(path.join(dir, `${name}.parquet`))} (FORMAT parquet)`,
      );
    }
  });
}

export async function tempWarehouse(dirs: string[]): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'bm-bill-'));
  dirs.push(d);
  return d;
}

export async function cleanup(dirs: string[]): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
