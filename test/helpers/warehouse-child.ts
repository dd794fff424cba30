/**
 * A writer process for the warehouse's crash and concurrency tests (compiled by test/warehouse/child.ts, spawned by tests).
 *   node <build>/test/helpers/warehouse-child.js ingest <warehouse> <seed> <count> <prefix> <sha> <days,comma,separated>
 *   node <build>/test/helpers/warehouse-child.js compact <warehouse> <targetBytes>
 * BM_TEST_CRASH_AT=<point> makes the process SIGKILL itself at that commit point. Only this test script
 * reads the variable; the runtime takes a `faults` callback instead.
 */
import { FactTable } from '../../warehouse/index.js';
import { sampleEvents, streamOf } from './sample-events.js';

async function main(argv: string[]): Promise<void> {
  const [op, wh, ...rest] = argv;
  const crashAt = process.env.BM_TEST_CRASH_AT;
  const faults = (point: string) => {
    if (point === crashAt) process.kill(process.pid, 'SIGKILL');
  };
  if (op === 'ingest') {
    const [seed, count, prefix, sha, days] = rest;
    const table = await FactTable.open(wh!, { faults, spillRows: 150, rowGroupRows: 50, autoCompactFileCount: 0, lockPollMs: 20 });
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
    const table = await FactTable.open(wh!, { faults, targetFileBytes: Number(rest[0]), rowGroupRows: 50, lockPollMs: 20 });
    const res = await table.compact();
    process.stdout.write(JSON.stringify(res) + '\n');
  } else {
    throw new Error(`warehouse-child: unknown operation ${op}`);
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`warehouse-child: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 3;
});
