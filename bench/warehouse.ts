/**
 * Warehouse benchmark: rows/s and peak RSS for ingest (write) and compaction.
 *   npm run build && node dist/bench/warehouse.js [rows=1000000] [days=2] [dir]
 * BM_BENCH_TUNING='{"memoryLimit":"256MB","rowGroupRows":32768}' overrides warehouse options.
 * Events are generated lazily (streamed), so memory reflects the warehouse, not the generator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventId } from '../events/identity.js';
import { makeEvent, type BillingEvent, type EventType } from '../events/model.js';
import { Money } from '../events/money.js';
import { FactTable } from '../warehouse/table.js';

const TYPES: EventType[] = ['INVOICE_POSTED', 'INVOICE_PAID', 'PAYMENT_PROCESSED', 'REFUND_PROCESSED', 'TAX_CHARGED'];

async function* events(rows: number, days: number, offset: number): AsyncGenerator<BillingEvent> {
  const start = Date.parse('2024-01-03T00:00:00Z');
  for (let i = offset; i < offset + rows; i++) {
    const ms = start + (i % days) * 86_400_000 + ((i * 7919) % 86_400_000);
    const iso = new Date(ms).toISOString();
    const utcMicros = BigInt(ms) * 1000n + BigInt(i % 1000);
    const recordId = `in_${i}`;
    yield makeEvent({
      eventId: eventId({ billingSource: 'stripe', sourceObjectType: 'invoice', sourceRecordId: recordId, sourceVersion: '1' }),
      seqn: BigInt(i),
      billingSource: 'stripe',
      eventType: TYPES[i % TYPES.length]!,
      sourceObjectType: 'invoice',
      sourceRecordId: recordId,
      sourceVersion: '1',
      ts: { utcMicros, utc: iso, utcDate: iso.slice(0, 10), precision: 'microsecond', truncatedToMidnight: false, ambiguous: false, nonexistent: false, sourceLocalDate: iso.slice(0, 10) },
      sourceTsRaw: iso,
      sourceTimezone: 'UTC',
      amount: Money.minor(BigInt((i * 104_729) % 10_000_000) - 5_000_000n, 'USD'),
      accountId: `acct_${i % 5000}`,
      productId: `prod_${i % 40}`,
      dims: { accountName: `Account ${i % 5000}`, accountSegment: 'SMB', accountCountry: 'US', productName: 'Pro', planName: 'Pro Monthly', dimStatus: 'OK' },
      lineage: { sourceFile: 'stripe/bench.jsonl', sourcePosition: i, ingestRunId: 'bench' },
    });
  }
}

const rssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const days = Number(process.argv[3] ?? 2);
  const dir = process.argv[4] ?? mkdtempSync(path.join(os.tmpdir(), 'bm-bench-'));
  const tuning = JSON.parse(process.env.BM_BENCH_TUNING ?? '{}') as Record<string, unknown>;
  const table = await FactTable.open(dir, { autoCompactFileCount: 0, ...tuning });
  const batches = 4;
  const per = Math.ceil(rows / batches);
  let t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    await table.commitIngest({ runId: `bench-${b}`, source: 'stripe', windows: [], inputs: [{ path: `bench-${b}`, sha256: String(b), bytes: 0 }], events: events(per, days, b * per), quarantine: [] });
  }
  const writeS = (performance.now() - t0) / 1000;
  console.log(`write:   ${per * batches} rows in ${writeS.toFixed(1)} s = ${Math.round((per * batches) / writeS)} rows/s, peak RSS ${rssMiB()} MiB`);
  t0 = performance.now();
  const res = await table.compact();
  const compS = (performance.now() - t0) / 1000;
  const n = res.compacted.reduce((s, c) => s + c.rows, 0);
  console.log(`compact: ${n} rows in ${compS.toFixed(1)} s = ${Math.round(n / compS)} rows/s, peak RSS ${rssMiB()} MiB (${res.compacted.map((c) => `${c.day}: ${c.filesBefore}→${c.filesAfter} files`).join(', ')})`);
  if (!process.argv[4]) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 3;
});
