import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../jobs/cli/main.js';
import { parseAsOf, selectedDays } from '../../jobs/cli/options.js';
import { FactTable } from '../../warehouse/index.js';
import { sampleEvents, streamOf } from '../helpers/sample-events.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const code = await main(['node', 'billing-mart', ...args]);
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, out, err };
}

async function seeded(): Promise<string> {
  const wh = mkdtempSync(path.join(os.tmpdir(), 'bm-cli-'));
  dirs.push(wh);
  const table = await FactTable.open(wh, { autoCompactFileCount: 0, now: () => Date.parse('2024-01-04T00:00:00Z') });
  for (let i = 0; i < 2; i++) {
    await table.commitIngest({
      runId: `r${i}`,
      source: 'stripe',
      windows: [],
      inputs: [{ path: `f${i}`, sha256: `${i}`, bytes: 1 }],
      events: streamOf(sampleEvents({ days: ['2024-01-03'], count: 40, seed: i, prefix: `p${i}-` })),
      quarantine: [],
    });
  }
  return wh;
}

describe('CLI: compact, export, table info/history', () => {
  it('compacts, reports history and info, and exports CSV as of a moment', async () => {
    const wh = await seeded();
    const info = await run(['--warehouse', wh, '--json', 'table', 'info']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.out).partitions[0]).toMatchObject({ partition: 'event_day=2024-01-03', files: 2, rows: 80, compactable: true });

    const c = await run(['--warehouse', wh, '--json', 'compact', '--date', '2024-01-03']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.out).compacted[0]).toMatchObject({ day: '2024-01-03', filesBefore: 2, filesAfter: 1, rows: 80 });

    const h = await run(['--warehouse', wh, 'table', 'history']);
    expect(h.out.trim().split('\n').map((l) => l.split(' ')[2]!.replace(':', ''))).toEqual(['ingest', 'ingest', 'compact']);

    const out = path.join(wh, 'x.csv');
    const e = await run(['--warehouse', wh, '--json', 'export', '--from', '2024-01-03', '--to', '2024-01-03', '--as-of', '2024-01-04T00:00:00Z', '--format', 'csv', '--out', out]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ rows: 80, version: 2 }); // before the compaction, which ran at the real clock
    const latest = await run(['--warehouse', wh, '--json', 'export', '--from', '2024-01-03', '--to', '2024-01-03', '--format', 'csv', '--out', out + '2']);
    expect(JSON.parse(latest.out)).toMatchObject({ rows: 80, version: 3 });
    expect(JSON.parse(latest.out).sha256).toBe(JSON.parse(e.out).sha256); // compaction changed no data
    expect(readFileSync(out, 'utf8').split('\n')).toHaveLength(82);
    const early = await run(['--warehouse', wh, '--json', 'export', '--from', '2024-01-03', '--to', '2024-01-03', '--as-of', '2024-01-01', '--format', 'csv', '--out', out]);
    expect(JSON.parse(early.out)).toMatchObject({ rows: 0, version: 0 });
  });

  it('rejects bad flags with exit 2 and a message naming the flag', async () => {
    const wh = await seeded();
    const bad = await run(['--warehouse', wh, 'export', '--from', '2024-01-03', '--to', '2024-01-03', '--format', 'xlsx', '--out', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--format "xlsx" is not supported: use csv or parquet/);
    const both = await run(['--warehouse', wh, 'compact', '--date', '2024-01-03', '--from', '2024-01-01']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/either --date D or --from D --to D/);
    expect(() => parseAsOf('2024-01-05 10:00')).toThrow(/--as-of "2024-01-05 10:00" is not an ISO 8601 instant/);
    expect(parseAsOf('2024-01-05')).toBe(Date.parse('2024-01-05T23:59:59.999Z'));
    expect(selectedDays({ from: '2024-01-30', to: '2024-02-01' })).toEqual(['2024-01-30', '2024-01-31', '2024-02-01']);
    expect(() => selectedDays({ date: '2024-02-30' })).toThrow(/--date "2024-02-30" is not a calendar day/);
  });
});
