/** Test fact-table data committed through the warehouse (FactTable.commitIngest), and the billing entry points over a warehouse directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeEvent, type BillingEvent } from '../../events/model.js';
import { Money } from '../../events/money.js';
import { utcTimestamp } from '../../events/mrr.js';
import { runBilling as runBillingOn, type BillOptions } from '../../jobs/billing/bill.js';
import { checkBilling as checkBillingOn } from '../../jobs/billing/check.js';
import { FactTable } from '../../warehouse/index.js';
import { runCli } from '../helpers/cli.js';

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

export function testEvent(e: TestEvent, i: number, load: string): BillingEvent {
  const m = /^(.*?)(?:\.(\d{1,6}))?Z$/.exec(e.ts)!;
  const ts = utcTimestamp(BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0')));
  const currency = e.currency ?? 'USD';
  return makeEvent({
    eventId: eid(e.id),
    seqn: BigInt(i),
    billingSource: e.source ?? 'zuora',
    eventType: 'INVOICE_ITEM_CHARGED',
    sourceObjectType: 'invoice_item',
    sourceRecordId: e.id,
    ts,
    sourceTsRaw: e.ts,
    sourceTimezone: 'UTC',
    amount: Money.major(e.amount, currency),
    accountId: e.account === undefined ? 'A1' : e.account,
    subscriptionId: e.subscription ?? null,
    ...(e.mrr ? { mrrDelta: Money.major(e.mrr, currency) } : {}),
    lineage: { sourceFile: `${load}.csv`, sourcePosition: i + 1, ingestRunId: `load-${load}` },
  });
}

/** Commits `events` to the warehouse at `warehouse` as one load per source, named `name`. */
export async function writeFact(warehouse: string, name: string, events: TestEvent[]): Promise<void> {
  const table = await FactTable.open(warehouse, { autoCompactFileCount: 0 });
  const bySource = new Map<string, TestEvent[]>();
  for (const e of events) bySource.set(e.source ?? 'zuora', [...(bySource.get(e.source ?? 'zuora') ?? []), e]);
  for (const [source, evs] of bySource) {
    const res = await table.commitIngest({ runId: `load-${name}`, source, windows: [], inputs: [{ path: `${name}.csv`, sha256: name, bytes: 1 }], events: evs.map((e, i) => testEvent(e, i, name)), quarantine: [] });
    if (res.skipped) throw new Error(`test load ${name} was already committed`);
  }
}

let runs = 0;
/** jobs/billing/bill.ts runBilling over a warehouse directory (a run id made up when none is given). */
export async function runBilling(o: Omit<BillOptions, 'table' | 'runId'> & { warehouse: string; runId?: string }) {
  const table = await FactTable.open(o.warehouse);
  const { warehouse: _w, ...rest } = o;
  return runBillingOn({ ...rest, table, runId: o.runId ?? `bill-test-${++runs}` });
}

export async function checkBilling(warehouse: string) {
  return checkBillingOn(await FactTable.open(warehouse));
}

export async function tempWarehouse(dirs: string[]): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'bm-bill-'));
  dirs.push(d);
  return d;
}

export async function cleanup(dirs: string[]): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Local path of the one file of `table`'s partition run=<n> (the stored, immutable object). */
export async function runFile(warehouse: string, table: 'billing_records' | 'billing_assignments', run: number): Promise<string> {
  const { files } = await (await FactTable.open(warehouse)).tableFiles(table);
  const f = files.filter((x) => x.dir === `run=${String(run).padStart(8, '0')}`);
  if (f.length !== 1) throw new Error(`${table} run ${run}: ${f.length} files`);
  return f[0]!.path;
}

/** The built CLI (bin/billing-mart.js over dist/; `npm run build` first), with no warehouse or landing from the environment. */
export async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runCli(args, { env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
