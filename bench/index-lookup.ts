/**
 * What one commit's event-index lookup costs against the size of the source's index (issue 11: cost per commit
 * must not grow with the table's age). Builds a synthetic index of N entries as the segments commits leave (the
 * commit-sized segments merged by versions.ts's own mergeCount, each written by its own writeIndexFile), then
 * matches a batch of k ids (half known to the index: duplicates, stale, newer-same and conflicting versions; half
 * new) with the real resolveVersions, in a fresh process per (N, k): rows of the index DuckDB read (the lookup's
 * own counter, profiled), CPU ms of the lookup (process.cpuUsage, best of --reps), and the process's peak RSS.
 * A measurement, never a test assertion.
 *
 *   npm run build && node dist/bench/index-lookup.js [--sizes 1000000,10000000,50000000] [--batches 200,20000]
 *     [--commit-rows 36000] [--reps 3] [--dir /tmp/index-lookup] [--dist <another build's dist/>] [--duck-set name=value]
 *
 * `--dist` measures another build (e.g. main's, for before/after side by side) with this same script; the index
 * is built once per (layout, N) under --dir and reused. `--duck-set` applies a DuckDB setting before the lookups
 * (e.g. `enable_external_file_cache=false`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const SOURCE = 'bench';
/* eslint-disable @typescript-eslint/no-explicit-any -- another build's modules, loaded by path */
const dist = path.resolve(arg('dist', path.join(import.meta.dirname, '..')));
const load = (rel: string) => import(pathToFileURL(path.join(dist, rel)).href) as Promise<any>;

/** The index entry of synthetic event i (the same in every build): ids are hex hashes like events/identity.ts's. */
const entrySql = (from: number, to: number, v: number) =>
  `SELECT md5('e' || i) AS event_id, md5('e' || i) AS eff_id, (i % 5 + 1)::BIGINT AS seqn, 'charge' AS event_type, (1704067200000000 + i * 1000000)::BIGINT AS event_ts,
     ((i % 100000) / 100)::DECIMAL(38,9) AS amount, 'USD' AS currency, NULL::DECIMAL(38,9) AS mrr_delta, ${v}::BIGINT AS v FROM range(${from}, ${to}) t(i)`;

interface Built {
  layout: string;
  rows: number;
  segments: { blob: string; rows: number; version: number; [k: string]: unknown }[];
  buildMs: number;
}

async function withDuck<T>(dir: string, fn: (conn: any) => Promise<T>): Promise<T> {
  const duck = await load('warehouse/duck.js');
  const { DEFAULT_TUNING } = await load('warehouse/options.js');
  return duck.withSharedDuck(path.join(dir, 'spill'), { memoryLimit: DEFAULT_TUNING.memoryLimit, threads: DEFAULT_TUNING.threads }, fn);
}

/** Child: writes the index of `rows` entries, `commitRows` a commit, merged as commits merge them. */
async function build(dir: string, rows: number, commitRows: number): Promise<void> {
  const versions = await load('warehouse/versions.js');
  const layout: string = versions.INDEX_LAYOUT ?? 'unsorted';
  const t0 = performance.now();
  mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  // each segment covers a contiguous range of i; a merge of the tail covers the union of their ranges
  let segs: { from: number; to: number; version: number }[] = [];
  for (let v = 1, at = 0; at < rows; v++, at += commitRows) {
    segs.push({ from: at, to: Math.min(rows, at + commitRows), version: v });
    const k = versions.mergeCount(segs.map((s) => s.to - s.from));
    if (k > 1) {
      const tail = segs.splice(segs.length - k, k);
      segs.push({ from: tail[0]!.from, to: tail[tail.length - 1]!.to, version: v });
    }
  }
  const out: Built = { layout, rows, segments: [], buildMs: 0 };
  await withDuck(dir, async (conn) => {
    for (const s of segs) {
      const blob = `blobs/seg-${s.version}-${s.from}.parquet`;
      const n = await versions.writeIndexFile(conn, entrySql(s.from, s.to, s.version), path.join(dir, blob));
      out.segments.push({ blob, rows: n, version: s.version, ...(versions.INDEX_LAYOUT ? { sorted: true } : {}) });
    }
  });
  out.buildMs = Math.round(performance.now() - t0);
  writeFileSync(path.join(dir, 'index.json.tmp'), JSON.stringify(out));
  renameSync(path.join(dir, 'index.json.tmp'), path.join(dir, 'index.json'));
}

/** Child: one lookup of a batch of k ids (best of `reps`), printed as one JSON line. */
async function lookup(dir: string, k: number, reps: number): Promise<void> {
  const versions = await load('warehouse/versions.js');
  const { LocalStorage } = await load('warehouse/storage.js');
  const { EMPTY_STATE } = await load('warehouse/state.js');
  const built = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as Built;
  const N = built.rows;
  const core = { storage: new LocalStorage(dir) };
  const tx = { commitId: 'bench', version: built.segments.length + 1, committedAt: new Date(0).toISOString(), state: { ...EMPTY_STATE, indexes: new Map([[SOURCE, built.segments]]) }, blobDir: 'blobs', tmpDir: 'tmp' };
  const known = Math.floor(k / 2);
  const runs: { cpuMs: number; wallMs: number; rowsRead: number; counts: unknown }[] = [];
  await withDuck(dir, async (conn) => {
    const set = arg('duck-set', '');
    if (set) await conn.run(`SET ${set.slice(0, set.indexOf('='))} = ${set.slice(set.indexOf('=') + 1)}`);
    // known ids: spread over the whole index; by j % 4 the same version (DUPLICATE), an older one (STALE), a newer
    // one with the same values (NEWER_SAME), the same version with other money (CONFLICT); then k - known new ids
    await conn.run(`CREATE OR REPLACE TEMP TABLE bench_w AS
      WITH p AS (SELECT j, (j * 2654435761) % ${N} AS i FROM range(${known}) t(j))
      SELECT md5('e' || i) AS event_id, (i % 5 + 1 + CASE j % 4 WHEN 1 THEN -1 WHEN 2 THEN 1 ELSE 0 END)::BIGINT AS seqn, 'charge' AS event_type,
        make_timestamptz(1704067200000000 + i * 1000000) AS event_ts, (((i % 100000) / 100) + CASE j % 4 WHEN 3 THEN 1 ELSE 0 END)::DECIMAL(38,9) AS amount, 'USD' AS currency,
        NULL::DECIMAL(38,9) AS mrr_delta, 'v1' AS source_version, 'bench.csv' AS source_file, j::BIGINT AS source_position, 'bench-run' AS ingest_run_id, CAST(make_timestamptz(1704067200000000 + i * 1000000) AS DATE) AS event_date FROM p
      UNION ALL
      SELECT md5('n' || j), 1, 'charge', make_timestamptz(1704067200000000), 1::DECIMAL(38,9), 'USD', NULL, 'v1', 'bench.csv', j, 'bench-run', DATE '2024-01-01' FROM range(${k - known}) t(j)`);
    for (let r = 0; r < reps; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const res = await versions.resolveVersions(conn, core, tx, SOURCE, 'bench-run', 'bench_w');
      const c = process.cpuUsage(c0);
      runs.push({ cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0, rowsRead: res.counts.indexRowsRead, counts: res.counts });
    }
  });
  const best = runs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
  const { indexRowsRead: _r, ...decisions } = best.counts as Record<string, number>;
  console.log(
    JSON.stringify({ layout: built.layout, indexRows: N, segments: built.segments.length, batch: k, indexRowsRead: best.rowsRead, cpuMs: Math.round(best.cpuMs), wallMs: Math.round(best.wallMs), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), decisions }),
  );
}

async function main(): Promise<void> {
  const base = path.resolve(arg('dir', path.join(os.tmpdir(), 'index-lookup')));
  const commitRows = Number(arg('commit-rows', '36000'));
  if (process.argv.includes('--build')) return build(arg('at', ''), Number(arg('rows', '0')), commitRows);
  if (process.argv.includes('--lookup')) return lookup(arg('at', ''), Number(arg('batch', '200')), Number(arg('reps', '3')));
  const sizes = arg('sizes', '1000000,10000000,50000000').split(',').map(Number);
  const batches = arg('batches', '200,20000').split(',').map(Number);
  const versions = await load('warehouse/versions.js');
  const layout: string = versions.INDEX_LAYOUT ?? 'unsorted';
  const self = process.argv[1]!;
  const common = ['--dist', dist, '--commit-rows', String(commitRows), ...(arg('duck-set', '') ? ['--duck-set', arg('duck-set', '')] : [])];
  console.log(`# index-lookup ${new Date().toISOString()} dist ${dist} layout ${layout}${arg('duck-set', '') ? ` SET ${arg('duck-set', '')}` : ''} load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const N of sizes) {
    const at = path.join(base, `${layout}-${N}-${commitRows}`);
    if (!existsSync(path.join(at, 'index.json'))) {
      rmSync(at, { recursive: true, force: true });
      execFileSync(process.execPath, [self, '--build', '--at', at, '--rows', String(N), ...common], { stdio: 'inherit' });
      const b = JSON.parse(readFileSync(path.join(at, 'index.json'), 'utf8')) as Built;
      console.log(`# built ${N} entries in ${b.segments.length} segments (${b.segments.map((s) => s.rows).join(' ')}) in ${(b.buildMs / 1000).toFixed(1)} s`);
    }
    for (const k of batches) {
      process.stdout.write(execFileSync(process.execPath, [self, '--lookup', '--at', at, '--batch', String(k), '--reps', arg('reps', '3'), ...common], { encoding: 'utf8' }));
    }
  }
  console.log(`# done ${new Date().toISOString()} load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

await main();
