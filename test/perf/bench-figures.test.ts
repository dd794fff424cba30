/** The benchmark's pure parts (medians, ratio, targets, table) and the DuckDB reference's UTC conversion. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { landingKey, lastDay } from '../../bench/landing.js';
import { runReference, referenceInputs } from '../../bench/reference.js';
import { fileMatches, REFERENCE_OBJECTS, referenceCopySql } from '../../bench/reference-sql.js';
import { checkTargets, formatMemorySlopes, formatTable, indexRowsLine, ingestRatio, median, memorySlopes, parallelSpeedup, projectBackfill, summarise, type PhaseRun } from '../../bench/stats.js';
import { runNode } from '../helpers/cli.js';

const run = (seconds: number, rows: number, rssMb: number): PhaseRun => ({ seconds, rows, maxRssBytes: rssMb * 2 ** 20, detail: {} });

describe('bench figures', () => {
  it('takes medians of odd and even run counts and refuses none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/median of no values/);
  });

  it('summarises runs: median time and rows, rate at the median, highest peak RSS', () => {
    const s = summarise([run(10, 1000, 300), run(20, 1000, 500), run(12, 1000, 200)]);
    expect(s).toMatchObject({ runs: 3, medianSeconds: 12, rows: 1000, peakRssBytes: 500 * 2 ** 20, medianRssBytes: 300 * 2 ** 20 });
    expect(s.rowsPerSecond).toBeCloseTo(1000 / 12, 6);
  });

  it('the ratio is reference time over ingest time, and the targets say which hold', () => {
    const ingest = summarise([run(50, 2_000_000, 600)]);
    const reference = summarise([run(10, 1_900_000, 200)]);
    const compact = summarise([run(3, 2_000_000, 100)]);
    const copy = summarise([run(2.5, 2_000_000, 100)]);
    const ratio = ingestRatio(ingest, reference);
    expect(ratio).toBeCloseTo(0.2, 9);
    const checks = checkTargets({ ingest, compact, copy, reference, ratio, eventsPerDay: 285_000 });
    expect(checks.map((c) => [c.name.split(' (')[0], c.met])).toEqual([
      ['ingest vs DuckDB', false],
      ['ingest peak RSS', false],
      ['compaction peak RSS', true],
      ['compaction vs plain DuckDB COPY', true],
    ]);
    expect(checks[3]!.actual).toBe('1.20×');
    expect(checkTargets({ ingest: reference, compact: summarise([run(4, 1, 1)]), copy, reference, ratio: 1, eventsPerDay: 1 }).map((c) => c.met)).toEqual([true, true, true, false]);
    // with a --parallel 1 run beside it: the speedup check comes last (serial time / parallel time, target ≥ 1.6)
    const serial = summarise([run(80, 2_000_000, 500)]);
    const withSerial = checkTargets({ ingest, compact, copy, reference, ratio, eventsPerDay: 285_000, serial });
    expect(withSerial.at(-1)).toMatchObject({ name: 'backfill --parallel N vs --parallel 1', actual: '1.60×', met: true });
    expect(parallelSpeedup(ingest, serial)).toBeCloseTo(1.6, 9);
    expect(checkTargets({ ingest, compact, copy, reference, ratio, eventsPerDay: 1, serial: summarise([run(60, 1, 1)]) }).at(-1)!.met).toBe(false);
    const table = formatTable([{ phase: 'ingest (backfill)', s: ingest, unit: 'events' }]);
    expect(table).toContain('40,000 events/s');
    expect(table).toContain('600 MB');
  });

  it('projects a long backfill from run completion times: flat cost gives N × a, growing cost adds b·N²/2', () => {
    const flat = projectBackfill(Array.from({ length: 200 }, (_, i) => (i + 1) * 0.5), 10_000);
    expect(flat.b).toBeCloseTo(0, 9);
    expect(flat.firstToLast).toBeCloseTo(1, 9);
    expect(flat.seconds).toBeCloseTo(5000, 6);
    let t = 0;
    const growing = Array.from({ length: 200 }, (_, i) => (t += 0.1 + 0.01 * i));
    const g = projectBackfill(growing, 1000);
    expect(g.a).toBeCloseTo(0.1, 9);
    expect(g.b).toBeCloseTo(0.01, 9);
    expect(g.seconds).toBeCloseTo(1000 * 0.1 + (0.01 * 999 * 1000) / 2, 6);
    expect(g.firstToLast).toBeCloseTo(1.595 / 0.595, 6); // mean of the last 100 gaps over the first 100
    let u = 0;
    const falling = projectBackfill(Array.from({ length: 100 }, (_, i) => (u += 1 - 0.005 * i)), 1000);
    expect(falling.b).toBe(0); // noise, never a negative projection
    expect(falling.seconds).toBeCloseTo(1000 * (u / 100), 6);
    expect(() => projectBackfill([1], 10)).toThrow(/at least 2/);
  });

  it('prints the event-index rows read by the first and last runs, and their ratio', () => {
    expect(indexRowsLine([0, 0, 10, 20, 30, 40], 2)).toBe('event-index rows read per run: first 2 0, last 2 35 on average (first read none), 100 in all');
    expect(indexRowsLine([10, 30, 5, 5, 20, 20], 2)).toBe('event-index rows read per run: first 2 20, last 2 20 on average (1.00×), 90 in all');
    expect(indexRowsLine([], 100)).toBe('event-index rows read per run: no runs');
  });

  it('names the landing cache by every parameter', () => {
    expect(landingKey({ events: 2_000_000, days: 7, seed: 'a/b', from: '2024-01-01' })).toBe('e2000000-d7-f2024-01-01-sa_b');
    expect(lastDay({ from: '2024-02-27', days: 3 })).toBe('2024-02-29');
  });
});

describe('bench command line', () => {
  const bench = path.resolve('dist/bench/bench.js');
  it('rejects bad flags with exit code 2, naming the flag', async () => {
    if (!existsSync(bench)) throw new Error(`${bench} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
    const runs = await runNode(bench, ['--runs', '0']);
    expect(runs.status).toBe(2);
    expect(runs.stderr).toContain('--runs "0" must be a whole number ≥ 1');
    const from = await runNode(bench, ['--from', '2024-13-01']);
    expect(from.status).toBe(2);
    expect(from.stderr).toContain('--from "2024-13-01" is not a calendar day');
  });
});

describe('DuckDB reference', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-ref-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('matches object files by name without confusing prefixes', () => {
    const invoice = REFERENCE_OBJECTS.find((o) => o.source === 'zuora' && o.object === 'invoice')!;
    expect(fileMatches(invoice, 'invoice.csv')).toBe(true);
    expect(fileMatches(invoice, 'invoice-redelivered.csv')).toBe(true);
    expect(fileMatches(invoice, 'invoice_item.csv')).toBe(false);
    expect(fileMatches(invoice, 'invoice.jsonl')).toBe(false);
    expect(() => referenceCopySql([], '/tmp/x')).toThrow(/found no landing files/);
  });

  it('converts local and epoch timestamps to UTC days and amounts to exact decimals', async () => {
    const landing = path.join(dir, 'landing');
    const put = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(landing, rel)), { recursive: true });
      writeFileSync(path.join(landing, rel), text);
    };
    // 16:30 in Los Angeles on Jan 1 (PST, UTC−8) is 00:30 UTC on Jan 2.
    put('zuora/2024-01-02/00/payment.csv', 'id,amount,currency,status,created_date\np1,12.345678901,USD,Processed,2024-01-01 16:30:00.000000\n');
    put('stripe/2024-01-02/00/charge.jsonl', '{"id":"ch_1","amount":1999,"currency":"usd","created":1704155400}\n{"id":"ch_2","amount":500,"currency":"jpy","created":1704155400}\n');
    put('chargebee/2024-01-02/00/invoice-p1.json', '{"list":[\n{"invoice":{"id":"inv_1","date":1704155400,"total":28224,"currency_code":"GBP"}}\n]}\n');
    put('recurly/2024-01-02/00/subscription_history.csv', 'id,updated_at,activated_at,currency\ns1,2024-01-02 07:59:59,2024-01-02 07:59:59,USD\n'); // Fivetran: naive UTC
    put('zuora/2024-01-03/00/payment.csv', 'id,amount,currency,status,created_date\np2,1,USD,Processed,2024-01-02 16:00:00\n');
    expect(referenceInputs(landing, '2024-01-02', '2024-01-02').reduce((n, p) => n + p.files.length, 0)).toBe(4);
    const outDir = path.join(dir, 'ref');
    const r = await runReference({ landing, from: '2024-01-02', to: '2024-01-02', outDir, threads: 1, memoryLimit: '256MB' });
    expect(r).toMatchObject({ rows: 5, rowsWithoutTs: 0, files: 4 });
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const rows = (
      await conn.runAndReadAll(
        `SELECT record_id, CAST(event_date AS VARCHAR), strftime(timezone('UTC', event_ts), '%Y-%m-%d %H:%M:%S'), CAST(amount AS VARCHAR) FROM read_parquet('${outDir}/**/*.parquet', hive_partitioning = true) ORDER BY record_id`,
      )
    ).getRows();
    conn.closeSync();
    instance.closeSync();
    expect(rows.map((x) => x.map(String))).toEqual([
      ['ch_1', '2024-01-02', '2024-01-02 00:30:00', '19.990000000'],
      ['ch_2', '2024-01-02', '2024-01-02 00:30:00', '500.000000000'],
      ['inv_1', '2024-01-02', '2024-01-02 00:30:00', '282.240000000'],
      ['p1', '2024-01-02', '2024-01-02 00:30:00', '12.345678901'],
      ['s1', '2024-01-02', '2024-01-02 07:59:59', '0.000000000'],
    ]);
  });
});

describe('memory day slope', () => {
  const MB = 2 ** 20;
  const row = (events: number, ingestMb: number, compactMb: number) => ({ events, ingestRssBytes: ingestMb * MB, compactRssBytes: compactMb * MB, compactRows: events, loadAvg: [1, 2, 3] });
  it('is the least-squares MB of peak RSS per million events of each phase: 0 when flat', () => {
    const s = memorySlopes([row(500_000, 400, 300), row(1_000_000, 500, 300), row(2_000_000, 700, 300)]);
    expect(s.ingestMbPerMillion).toBeCloseTo(200, 6);
    expect(s.compactMbPerMillion).toBeCloseTo(0, 6);
    const text = formatMemorySlopes([row(1_000_000, 512, 256), row(2_000_000, 512, 256)]);
    expect(text).toContain(`${'#'.repeat(40)}\n`);
    expect(text).toContain(`256 MB ${'#'.repeat(20)} `);
    expect(text).toMatch(/slope: ingest 0\.0 MB per million events, compaction 0\.0 MB per million events/);
  });
});
