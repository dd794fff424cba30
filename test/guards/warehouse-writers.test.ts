/**
 * The warehouse is the only writer under the warehouse directory (issue 12). Checked at run time, on the real
 * binary: every command that touches a warehouse runs with test/helpers/fs-write-recorder.mjs preloaded, which
 * records each node:fs call that creates, changes or removes something under the warehouse directory with the
 * repository module that made it. Then
 *   1. every such call was made by a module in warehouse/ (its storage adapter, its scratch module);
 *   2. every file in the warehouse directory at the end was created by such a call: nothing got there by a
 *      writer the recorder cannot see (DuckDB writing a job's file natively, another process).
 *
 * The jobs' state area (`<warehouse>/_state`: run store, scheduler state, completeness history, lock leases) is
 * included: it is written through warehouse/state-area.ts and the storage seam like the tables.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, runProcess, type RunResult } from '../helpers/cli.js';

const RECORDER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fs-write-recorder.mjs');

interface Write {
  call: string;
  paths: (string | null)[];
  module: string | null;
  stack: string[];
}

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-writers-'));
const wh = path.join(root, 'warehouse');
const landing = path.join(root, 'landing');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `billing-mart <args>` with the recorder, logging writes under `under` to `log`. */
async function recorded(args: string[], under: string, log: string): Promise<RunResult> {
  const r = await runProcess(process.execPath, ['--import', RECORDER, CLI_BIN, ...args], { cwd: root, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '', BM_RECORD_WRITES: log, BM_RECORD_UNDER: under }, timeoutMs: 170_000 });
  return r;
}

function readLog(log: string): Write[] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Write);
}

/** Where a call puts something: the destination of a rename/link/copy/symlink, else its path. */
const CREATES = new Set(['open', 'writeFile', 'appendFile', 'rename', 'link', 'copyFile', 'cp', 'symlink', 'mkdir', 'mkdtemp', 'createWriteStream']);
const destOf = (w: Write) => {
  const call = w.call.replace(/Sync$/, '');
  return ['rename', 'link', 'copyFile', 'cp', 'symlink'].includes(call) ? w.paths[w.paths.length - 1] : w.paths[0];
};

/** Files and symlinks under `dir`, relative, '/'-separated. */
function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((n) => {
    const r = rel ? `${rel}/${n}` : n;
    const st = lstatSync(path.join(dir, r));
    return st.isDirectory() ? filesUnder(dir, r) : [r];
  });
}

/**
 * Calls made by node itself on behalf of an earlier call (fs.rm removing a tree calls rmdir/unlink with no
 * caller of ours on the stack): attributed to that earlier call, which was recorded with its module.
 */
const byNode = (w: Write) => w.module === null && ['rmdir', 'unlink', 'rmdirSync', 'unlinkSync'].includes(w.call);

describe('nothing outside warehouse/ writes under the warehouse directory', () => {
  const log = path.join(root, 'writes.jsonl');
  let writes: Write[] = [];
  const results: { args: string[]; r: RunResult }[] = [];

  beforeAll(async () => {
    // the demo (generate, backfill with worker threads, compact, check completeness, status, report), then
    // the other commands that read or write a warehouse
    const run = async (args: string[]) => results.push({ args, r: await recorded(args, wh, log) });
    await run(['demo', '--dir', root, '--days', '2', '--events-per-day', '20']);
    const common = ['--warehouse', wh, '--landing', landing];
    await run([...common, 'bill', '--cycle', 'weekly']);
    await run([...common, 'check', 'billing']);
    await run([...common, 'ingest', '--source', 'oltp']);
    const info = JSON.parse((await recorded([...common, '--json', 'table', 'info'], wh, log)).stdout) as { partitions: { table: string; partition: string }[] };
    const days = info.partitions.filter((p) => p.table === 'fact_billing_event').map((p) => p.partition.slice(p.partition.indexOf('=') + 1)).sort();
    await run([...common, 're-enrich', '--from', days[0]!, '--to', days.at(-1)!]);
    await run([...common, 'compact', '--from', days[0]!, '--to', days.at(-1)!]);
    await run([...common, 'export', '--from', days[0]!, '--to', days.at(-1)!, '--format', 'parquet', '--out', path.join(root, 'facts.parquet')]);
    await run([...common, 'export', '--table', 'billing_records', '--format', 'csv', '--out', path.join(root, 'records.csv')]);
    await run([...common, 'check', 'freshness']);
    await run([...common, 'trace', 'acct_nobody']);
    await run([...common, 'runs', 'list']);
    await run([...common, 'table', 'history']);
    await run([...common, 'doctor']);
    await run([...common, 'report', '--out', path.join(root, 'report-2.html')]);
    writes = readLog(log);
  }, 900_000);

  it('the commands ran (so their writes were seen)', () => {
    const failed = results.filter(({ args, r }) => r.code === null || r.code === 3 || (r.code === 2 && args[0] !== 'trace')).map(({ args, r }) => `${args.join(' ')}: exit ${r.code}\n${r.stderr.slice(-800)}`);
    expect(failed).toEqual([]);
    expect(writes.filter((w) => w.module === 'warehouse/storage.js').length).toBeGreaterThan(100);
  });

  it('every write under the warehouse directory is made by a module in warehouse/', () => {
    const offenders = writes
      .filter((w) => !byNode(w))
      .filter((w) => !w.module?.startsWith('warehouse/'))
      .map((w) => `${w.module ?? '?'} ${w.call} ${w.paths.filter(Boolean).join(' → ')} (${w.stack.join(' < ')})`);
    expect([...new Set(offenders)]).toEqual([]);
  });

  it('every file in the warehouse directory was created by the warehouse (none by a writer the recorder cannot see)', () => {
    const made = new Set<string | null>();
    for (const w of writes.filter((x) => CREATES.has(x.call.replace(/Sync$/, '')) && x.module?.startsWith('warehouse/'))) {
      // a directory renamed (a version tree reused by the next commit) takes what was made under it along
      const [from, to] = w.paths;
      if (w.call.replace(/Sync$/, '') === 'rename' && from && to) for (const p of [...made]) if (p?.startsWith(`${from}/`)) made.add(`${to}${p.slice(from.length)}`);
      made.add(destOf(w));
    }
    const unaccounted = filesUnder(wh).filter((f) => !made.has(f));
    expect(unaccounted).toEqual([]);
  });

  it('the recorder attributes a write outside warehouse/ to its module (the check can fail)', async () => {
    const zone = path.join(root, 'generated');
    const genLog = path.join(root, 'generate-writes.jsonl');
    const r = await recorded(['generate', '--out', zone, '--from', '2024-01-01', '--to', '2024-01-01', '--events-per-day', '5', '--seed', '1'], zone, genLog);
    expect(r.code, r.stderr).toBe(0);
    const mods = new Set(readLog(genLog).map((w) => w.module));
    expect([...mods].some((m) => m?.startsWith('tools/'))).toBe(true);
    expect(mods.has(null) && [...mods].length === 1).toBe(false);
  }, 180_000);
});
