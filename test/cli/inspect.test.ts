/** Issue 14: `trace ID`, `runs list` / `runs show`, `check freshness` through the real binary on a generated landing zone. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { freshnessOf } from '../../jobs/inspect.js';
import { ROOT, requireBuilt, tempDir } from '../jobs/helpers.js';
import { duckQuery, factGlob } from '../warehouse/duck-read.js';
import { runCli } from '../helpers/cli.js';

async function cli(args: string[]) {
  requireBuilt('jobs/cli/main.js');
  const r = await runCli(args, { cwd: ROOT, timeoutMs: 180_000, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let t: { dir: string; cleanup: () => void };
let base: string[];
let wh: string;
beforeAll(async () => {
  t = tempDir('bm-inspect-');
  const landing = path.join(t.dir, 'landing');
  wh = path.join(t.dir, 'wh');
  base = ['--warehouse', wh, '--landing', landing];
  expect((await cli(['generate', '--out', landing, '--from', '2024-01-03', '--to', '2024-01-03', '--events-per-day', '150', '--seed', '9'])).code).toBe(0);
  expect((await cli([...base, 'ingest', '--source', 'oltp', '--date', '2024-01-01'])).code).toBe(0);
  expect((await cli([...base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'stripe,zuora'])).code).toBe(0);
  expect((await cli([...base, 'bill', '--cycle', 'weekly', '--through', '2024-01-07'])).code).toBe(0);
}, 300_000);
afterAll(() => t.cleanup());

describe('trace', () => {
  it('finds a source record with its lineage (file:line, run, commit) and its billing record; an unknown id is exit 1', async () => {
    const [row] = await duckQuery(`SELECT source_record_id, source_file, source_position, ingest_run_id, event_id FROM read_parquet('${factGlob(wh)}') WHERE billing_source = 'stripe' ORDER BY event_id LIMIT 1`);
    const [rid, file, line, run, eventId] = row!.map(String);
    const r = await cli([...base, 'trace', rid!]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`event ${eventId} (`);
    expect(r.out).toContain(`from ${file}:${line}, run ${run}, commit c`);
    expect(r.out).toMatch(/billed in weekly:account:stripe:/);
    const j = JSON.parse((await cli([...base, '--json', 'trace', eventId!])).out);
    expect(j.events.map((e: { matched: string }) => e.matched)).toEqual(['event_id']);
    expect(j.events[0].lineage).toMatchObject({ file, line: Number(line), run });
    const none = await cli([...base, 'trace', 'no-such-id']);
    expect(none.code).toBe(1);
    expect(none.out).toContain('nothing found');
  });

  it('finds a quarantined record by its raw value, with file:line and reason; --as-of before the load finds nothing', async () => {
    const q = await duckQuery(`SELECT raw_value, reason, source_file, source_position FROM read_parquet('${path.join(wh, 'quarantine', '*', '*.parquet')}') WHERE raw_value IS NOT NULL AND length(raw_value) > 3 ORDER BY source_file LIMIT 1`);
    expect(q.length).toBe(1);
    const [raw, reason, file, line] = q[0]!.map(String);
    const r = await cli([...base, 'trace', raw!]);
    expect(r.out).toContain(`QUARANTINED`);
    expect(r.out).toContain(` ${reason} `);
    expect(r.out).toContain(`from ${file}:${line}`);
    const before = await cli([...base, '--json', 'trace', raw!, '--as-of', '2000-01-01']);
    expect(JSON.parse(before.out)).toMatchObject({ version: 0, events: [], quarantine: [] });
  });
});

describe('runs', () => {
  it('lists runs with filters and shows one in full; an unknown id is exit 2', async () => {
    const l = await cli([...base, '--json', 'runs', 'list', '--source', 'stripe', '--status', 'succeeded']);
    expect(l.code).toBe(0);
    const runs = JSON.parse(l.out) as { runId: string; source: string }[];
    expect(runs.length).toBeGreaterThan(0);
    expect(new Set(runs.map((r) => r.source))).toEqual(new Set(['stripe']));
    const s = await cli([...base, 'runs', 'show', runs[0]!.runId]);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(new RegExp(`^ingest stripe \\S+: SUCCEEDED \\(run ${runs[0]!.runId}`));
    expect(s.out).toMatch(/\n {2}read stripe\/2024-01-03\//);
    const bad = await cli([...base, 'runs', 'show', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('no run nope in the run store');
    expect((await cli([...base, 'runs', 'list', '--status', 'done'])).code).toBe(2);
  });
});

describe('check freshness', () => {
  it('exit 1 when a source is past its error threshold; per-source thresholds from config; WARN alone is exit 0', async () => {
    const r = await cli([...base, 'check', 'freshness', '--sources', 'stripe']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ERROR +stripe +last window 2024-01-03T20:00Z\/2024-01-04T00:00Z, \d+d\d\dh ago {2}\(warn ≥ 8h, error ≥ 24h\)$/m);
    const cfg = path.join(t.dir, 'fresh.yaml');
    writeFileSync(cfg, 'freshness: { warnHours: 8, errorHours: 24, sources: { stripe: { errorHours: 100000000 } } }\n');
    const w = await cli(['--config', cfg, ...base, '--json', 'check', 'freshness', '--sources', 'stripe,chargebee']);
    expect(w.code).toBe(1); // chargebee: nothing loaded is an error
    expect(JSON.parse(w.out).sources.map((x: { source: string; level: string }) => `${x.source}:${x.level}`)).toEqual(['stripe:WARN', 'chargebee:ERROR']);
    expect((await cli(['--config', cfg, ...base, 'check', 'freshness', '--sources', 'stripe'])).code).toBe(0);
  });

  it('freshnessOf: levels at the thresholds', () => {
    const loaded = new Map([['s', new Set(['2024-01-01T00:00Z/2024-01-01T04:00Z'])]]);
    const at = (h: number) => freshnessOf(['s'], loaded, Date.parse('2024-01-01T04:00:00Z') + h * 3_600_000, { warnHours: 8, errorHours: 24 })[0]!.level;
    expect([at(0), at(7.99), at(8), at(23.99), at(24)]).toEqual(['FRESH', 'FRESH', 'WARN', 'WARN', 'ERROR']);
  });
});
