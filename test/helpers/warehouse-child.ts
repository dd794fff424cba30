/**
 * A writer process for the warehouse's crash and concurrency tests (compiled by test/warehouse/child.ts, spawned by tests).
 *   node <build>/test/helpers/warehouse-child.js ingest <warehouse> <seed> <count> <prefix> <sha> <days,comma,separated>
 *   node <build>/test/helpers/warehouse-child.js compact <warehouse> <targetBytes>
 *   node <build>/test/helpers/warehouse-child.js bulk <warehouse> <events> <day>   (memory test: events streamed lazily)
 *   node <build>/test/helpers/warehouse-child.js put-and-die <root>   (storage contract: SIGKILL right after two writes return)
 *   node <build>/test/helpers/warehouse-child.js bill <warehouse> <through> <runId>   (one monthly bill run, jobs/billing/bill.ts)
 *   node <build>/test/helpers/warehouse-child.js mrr-ingest <warehouse> <runId> <sub:seq:mrr,...>   (MRR deltas + state in one ingest)
 * BM_TEST_CRASH_AT=<point> makes the process SIGKILL itself at that commit point; BM_TEST_ICEBERG_LOCATION sets
 * the Iceberg view's location (a test serves the warehouse over HTTP). Only this test script
 * reads the variable; the runtime takes a `faults` callback instead.
 */
import { FactTable, LocalStorage } from '../../warehouse/index.js';
import type { BillingEvent } from '../../events/model.js';
import { sampleEvent, sampleEvents, streamOf } from './sample-events.js';
import { Money } from '../../events/money.js';
import type { MrrObservation } from '../../events/mrr.js';
import { runBilling } from '../../jobs/billing/bill.js';
import { planMrr } from '../../jobs/billing/mrr-store.js';

/** `count` events of one day, made one at a time (nothing held), with every 10th id sent twice. */
async function* lazyDay(day: string, count: number, prefix: string): AsyncGenerator<BillingEvent> {
  const start = Date.parse(`${day}T00:00:00Z`);
  for (let i = 0; i < count; i++) {
    const ts = new Date(start + Math.floor((i * 86_399_000) / count)).toISOString().replace(/\.\d+Z$/, 'Z');
    const e = sampleEvent({ recordId: `${prefix}${i}`, ts, seqn: BigInt(i), amount: `${(i % 9973) - 4000}.${String(i % 100).padStart(2, '0')}`, sourcePosition: i + 1 });
    yield e;
    if (i % 10 === 0) yield sampleEvent({ recordId: `${prefix}${i}`, ts, seqn: BigInt(i) - 1n, amount: '1.00', sourcePosition: i + 1 });
  }
}

async function main(argv: string[]): Promise<void> {
  const [op, wh, ...rest] = argv;
  const crashAt = process.env.BM_TEST_CRASH_AT;
  const faults = (point: string) => {
    if (point === crashAt) process.kill(process.pid, 'SIGKILL');
  };
  const iceberg = process.env.BM_TEST_ICEBERG_LOCATION ? { location: process.env.BM_TEST_ICEBERG_LOCATION } : undefined;
  if (op === 'ingest') {
    const [seed, count, prefix, sha, days] = rest;
    const table = await FactTable.open(wh!, { faults, iceberg, spillRows: 150, rowGroupRows: 50, autoCompactFileCount: 0, lockPollMs: 20, checkpointInterval: 1 });
    const dayList = days!.split(',');
    const events = sampleEvents({ days: dayList, count: Number(count), seed: Number(seed), prefix, runId: `run-${prefix}` });
    const res = await table.commitIngest({
      runId: `run-${prefix}`,
      source: 'stripe',
      windows: [{ startMs: Date.parse(`${dayList[0]}T00:00:00Z`), endMs: Date.parse(`${dayList[0]}T04:00:00Z`) }],
      inputs: [{ path: `stripe/${dayList[0]}/00/${prefix}.csv`, sha256: sha!, bytes: 1 }],
      events: streamOf(events),
      quarantine: [],
    });
    process.stdout.write(JSON.stringify(res) + '\n');
  } else if (op === 'compact') {
    const table = await FactTable.open(wh!, { faults, iceberg, targetFileBytes: Number(rest[0]), rowGroupRows: 50, lockPollMs: 20 });
    const res = await table.compact();
    process.stdout.write(JSON.stringify(res) + '\n');
  } else if (op === 'bulk') {
    const [count, day] = rest;
    const table = await FactTable.open(wh!, { spillRows: 20_000, autoCompactFileCount: 0, memoryLimit: '128MB', threads: 1 });
    const load = (n: number, prefix: string) =>
      table.commitIngest({ runId: `bulk-${n}`, source: 'stripe', windows: [], inputs: [{ path: `bulk-${n}`, sha256: String(n).repeat(64), bytes: 1 }], events: lazyDay(day!, Number(count), prefix), quarantine: [] });
    const ingest = await load(1, 'a');
    const again = await load(2, 'a');
    await load(3, 'b');
    const compact = await table.compact([day!]);
    process.stdout.write(JSON.stringify({ ingest, again, compact, maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
  } else if (op === 'bill') {
    const [through, runId] = rest;
    const table = await FactTable.open(wh!, { faults, lockPollMs: 20, checkpointInterval: 1 });
    const res = await runBilling({ table, cycle: 'monthly', through: through!, now: Date.parse('2024-04-10T12:00:00Z'), runId: runId! });
    process.stdout.write(JSON.stringify({ written: res.written, version: res.version, seq: res.manifest?.seq }) + '\n');
  } else if (op === 'mrr-ingest') {
    const [runId, spec] = rest;
    const observations: MrrObservation[] = spec!.split(',').map((x) => {
      const [sub, seq, mrr] = x.split(':');
      return { billingSource: 'zuora', subscriptionId: sub!, accountId: 'A1', versionSeq: BigInt(seq!), version: `v${seq}`, effectiveTs: BigInt(Date.parse('2024-01-01T00:00:00Z') + Number(seq) * 86_400_000) * 1000n, mrr: Money.major(mrr!, 'USD'), location: { file: `${runId}.json`, line: Number(seq) } };
    });
    const table = await FactTable.open(wh!, { faults, lockPollMs: 20, checkpointInterval: 1 });
    const plan = await planMrr(table, 'zuora', observations, runId!);
    const res = await table.commitIngest({ runId: runId!, source: 'zuora', windows: [], inputs: [{ path: `${runId}.json`, sha256: runId!, bytes: 1 }], events: plan.events, quarantine: [], tables: plan.tables });
    process.stdout.write(JSON.stringify(res) + '\n');
  } else if (op === 'put-and-die') {
    const s = new LocalStorage(wh!);
    await s.writeDurable('kill/blob.bin', Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31 + 9 * 7) & 0xff));
    await s.createExclusive('kill/log.json', '{"version":1}');
    process.kill(process.pid, 'SIGKILL');
  } else {
    throw new Error(`warehouse-child: unknown operation ${op}`);
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`warehouse-child: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 3;
});
