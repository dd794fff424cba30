/**
 * Prepares on other cores (issue 11 item 2): a backfill's prepares (read, map, enrich, stage) run in worker
 * threads (jobs/prepare-pool.ts) and publish in the main thread. The worker path must yield exactly the table the
 * in-thread path yields, and an error inside a worker must arrive with its class, kind and causes.
 * Runs the built worker (dist/jobs/prepare-worker.js): `npm test` builds first.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { ConfigError, DiskFullError, RetriableError, errorKind, messageWithCauses, RecordError } from '../../events/errors.js';
import { fromTransferable, toTransferable } from '../../events/error-transfer.js';
import { openApp } from '../../jobs/app.js';
import { planBackfill, runBackfill } from '../../jobs/backfill.js';
import { mrrLockName } from '../../jobs/ingest.js';
import { LockManager } from '../../warehouse/lock.js';
import { ManualClock } from '../../jobs/clock.js';
import { memoryLogger } from '../../jobs/log.js';
import { budgetShare, PreparePool } from '../../jobs/prepare-pool.js';
import { DEFAULT_TUNING } from '../../warehouse/options.js';
import type { PrepareExecutor } from '../../jobs/prepare-pool.js';
import { DAY, landFixtures } from '../connectors/helpers.js';
import { duckQuery, factGlob } from '../warehouse/duck-read.js';
import { requireBuilt, tempDirsPerTest } from './helpers.js';
import { CLI_BIN, runProcess } from '../helpers/cli.js';

const dir = tempDirsPerTest('bm-pool-');
const SOURCES = ['zuora', 'stripe', 'chargebee'];

function landing(): string {
  const l = path.join(dir(), 'landing');
  for (const s of SOURCES) landFixtures(l, s);
  return l;
}

/** Backfills DAY from `landingDir` into a new warehouse, with the app's worker pool or (workers: false) in this thread. */
async function backfill(landingDir: string, workers: boolean, o: { configFile?: string } = {}) {
  const wh = path.join(dir(), 'wh');
  const clock = new ManualClock('2024-01-04T06:00:00Z');
  const app = await openApp(loadConfig({ landing: landingDir, warehouse: wh, env: {}, ...(o.configFile ? { configFile: o.configFile } : {}) }), { clock, log: memoryLogger(clock) });
  let pool: PrepareExecutor | undefined;
  let tasks = 0;
  if (workers) {
    const open = app.deps.prepares!;
    app.deps.prepares = (n) => {
      const p = open(n);
      pool = p;
      return { kind: p.kind, run: (t, mrr) => (tasks++, p.run(t, mrr)), close: () => p.close() };
    };
  } else delete app.deps.prepares;
  const loaded = new Map(SOURCES.map((s) => [s, new Set<string>()]));
  const plan = planBackfill({ from: DAY, to: DAY, sources: SOURCES, loaded, force: false, nowMs: clock.now() });
  const summary = await runBackfill(app.deps, plan, { parallel: 2, force: false });
  const ids = (await duckQuery(`SELECT event_id, seqn, amount::VARCHAR, currency, epoch_us(event_ts), source_file, source_position FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) ORDER BY 1`)).map((r) => r.join('|'));
  const manifest = await app.table.manifest(DAY);
  const runs = await app.deps.runs.list();
  const mrrSources = SOURCES.filter((s) => app.deps.source(s).statesMrr);
  return { summary, ids, manifest, pool, tasks, runs, table: app.table, mrrSources };
}

/** The mrr_delta rows of a warehouse (the events the MRR plan produced), as text. */
async function mrrRows(wh: string): Promise<string[]> {
  return (await duckQuery(`SELECT event_id, mrr_delta::VARCHAR, event_type FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) WHERE mrr_delta IS NOT NULL ORDER BY 1`)).map((r) => r.join('|'));
}

describe('backfill prepares in worker threads', () => {
  it('takes the worker path and yields the same table as the in-thread path (event_ids, values, manifest totals, quarantine)', async () => {
    requireBuilt('jobs/prepare-worker.js');
    const l = landing();
    const inThread = await backfill(l, false);
    const inWorkers = await backfill(l, true);
    expect(inWorkers.pool?.kind).toBe('worker');
    // nothing spilled at the default budget: the threads were reused, none replaced
    expect((inWorkers.pool as PreparePool).retired).toBe(0);
    // one (source, day) unit each, every one prepared in a worker (chargebee states MRR: its plan runs in the main thread)
    expect(inWorkers.mrrSources).toEqual(['chargebee']);
    expect(inWorkers.tasks).toBe(SOURCES.length);
    expect(inThread.tasks).toBe(0);
    expect(inThread.summary.failed).toEqual([]);
    expect(inWorkers.summary.failed).toEqual([]);
    expect(inThread.ids.length).toBeGreaterThan(50);
    expect(inWorkers.ids).toEqual(inThread.ids);
    expect(inWorkers.manifest?.totals).toEqual(inThread.manifest?.totals);
    const counts = (s: typeof inThread.summary) => ({ rowsIn: s.rowsIn, rowsWritten: s.rowsWritten, duplicates: s.duplicates, quarantined: s.quarantined, recordsRead: s.recordsRead, succeeded: s.succeeded });
    expect(counts(inWorkers.summary)).toEqual(counts(inThread.summary));
    expect(inThread.summary.quarantined).toBeGreaterThan(0); // the fixtures hold bad records: quarantine crosses the thread boundary
    const q = async (t: typeof inThread.table) =>
      (await duckQuery(`SELECT billing_source, source_file, source_position, reason, field FROM read_parquet('${path.join(t.root, 'quarantine', '*', '*.parquet')}', hive_partitioning = true) ORDER BY ALL`)).map((r) => r.join('|'));
    expect(await q(inWorkers.table)).toEqual(await q(inThread.table));
    // lineage: run records list the same files per source
    const files = (runs: typeof inThread.runs) => Object.fromEntries(runs.map((r) => [r.source, [...r.files].sort()]));
    expect(files(inWorkers.runs)).toEqual(files(inThread.runs));
  });

  it('with a tiny spill budget (spillRows 4: MRR observations and staged rows spilled) the workers yield the same table, mrr_delta rows and MRR state', async () => {
    requireBuilt('jobs/prepare-worker.js');
    const l = landing();
    const inThread = await backfill(l, false);
    const threadMrr = await mrrRows(inThread.table.root);
    const state = async (t: typeof inThread.table) => (await t.readTable('mrr_state', 'chargebee')).rows.map((r) => JSON.stringify({ ...r, run_id: null, commit_version: null }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
    const threadState = await state(inThread.table);
    const configFile = path.join(dir(), 'tiny-spill.yaml');
    writeFileSync(configFile, 'tuning:\n  spillRows: 4\n');
    const inWorkers = await backfill(l, true, { configFile });
    expect(inWorkers.tasks).toBe(SOURCES.length);
    expect(inWorkers.summary.failed).toEqual([]);
    // every unit spilled: each thread was replaced after its unit, and the next unit ran on a fresh one
    expect((inWorkers.pool as PreparePool).retired).toBe(SOURCES.length);
    expect(threadMrr.length).toBeGreaterThan(2);
    expect(await mrrRows(inWorkers.table.root)).toEqual(threadMrr);
    expect(threadState.length).toBeGreaterThan(2);
    expect(await state(inWorkers.table)).toEqual(threadState);
    expect(inWorkers.ids).toEqual(inThread.ids);
    expect(inWorkers.manifest?.totals).toEqual(inThread.manifest?.totals);
  });

  it('re-running the backfill through the workers adds nothing (idempotent)', async () => {
    requireBuilt('jobs/prepare-worker.js');
    const l = landing();
    const first = await backfill(l, true);
    const wh = first.table.root;
    const clock = new ManualClock('2024-01-04T06:00:00Z');
    const app = await openApp(loadConfig({ landing: l, warehouse: wh, env: {} }), { clock, log: memoryLogger(clock) });
    const loaded = new Map(SOURCES.map((s) => [s, new Set<string>()]));
    const plan = planBackfill({ from: DAY, to: DAY, sources: SOURCES, loaded, force: true, nowMs: clock.now() });
    const again = await runBackfill(app.deps, plan, { parallel: 2, force: true });
    expect(again.failed).toEqual([]);
    expect(again.rowsWritten).toBe(0);
    expect((await app.table.manifest(DAY))?.totals).toEqual(first.manifest?.totals);
  });

  it.each([['in worker threads', true], ['in this thread', false]] as const)('records in each run how many event-index rows its de-duplication read (%s): none for a first load, at least one per event_id of a re-delivery', async (_how, workers) => {
    requireBuilt('jobs/prepare-worker.js');
    const l = landing();
    const first = await backfill(l, workers);
    expect(first.summary.failed).toEqual([]);
    // the first load of each source: its index is empty, nothing to read
    expect(first.runs.map((r) => [r.source, r.indexRowsRead])).toEqual(expect.arrayContaining(SOURCES.map((s) => [s, 0])));
    // the same files delivered again an hour later: every event is found in the index
    for (const s of SOURCES) {
      const from = path.join(l, s, DAY, '00');
      const to = path.join(l, s, DAY, '01');
      mkdirSync(to, { recursive: true });
      for (const f of readdirSync(from)) copyFileSync(path.join(from, f), path.join(to, f));
    }
    const clock = new ManualClock('2024-01-04T06:00:00Z');
    const app = await openApp(loadConfig({ landing: l, warehouse: first.table.root, env: {} }), { clock, log: memoryLogger(clock) });
    if (!workers) delete app.deps.prepares;
    const plan = planBackfill({ from: DAY, to: DAY, sources: SOURCES, loaded: new Map(SOURCES.map((s) => [s, new Set<string>()])), force: true, nowMs: clock.now() });
    const again = await runBackfill(app.deps, plan, { parallel: 2, force: true });
    expect(again.failed).toEqual([]);
    expect(again.rowsWritten).toBe(0);
    const runs = (await app.deps.runs.list({ job: 'ingest' })).filter((r) => !first.runs.some((f) => f.runId === r.runId));
    expect(runs.map((r) => r.source).sort()).toEqual([...SOURCES].sort());
    // each event of the re-delivery is an event_id the table holds: its lookup read at least that one index row
    const ids = new Map((await duckQuery(`SELECT billing_source, count(DISTINCT event_id) FROM read_parquet('${factGlob(first.table.root)}', hive_partitioning = true) GROUP BY 1`)).map((r) => [String(r[0]), Number(r[1])]));
    for (const r of runs) {
      expect(ids.get(r.source!)).toBeGreaterThan(5);
      expect(r.indexRowsRead).toBeGreaterThanOrEqual(ids.get(r.source!)!);
    }
  });

  it('SIGKILL while a worker is staging leaves no partial data; the same command again gives the clean table and removes the dead run\'s scratch', async () => {
    requireBuilt('jobs/cli/main.js');
    requireBuilt('jobs/prepare-worker.js');
    const l = landing();
    const clean = await backfill(l, true);
    const root = dir();
    const wh = path.join(root, 'wh');
    const args = ['--warehouse', wh, '--landing', l, 'backfill', '--from', DAY, '--to', DAY, '--sources', SOURCES.join(','), '--parallel', '2'];
    const env = { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' };
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: root, env, stdio: 'ignore' });
    // the moment a worker writes a staged file into the run's scratch (<pid>-<random>/stage-*.csv): kill the process
    let staged = '';
    const watcher = watch(root, { recursive: true }, (_e, name) => {
      const f = String(name ?? '');
      if (!staged && new RegExp(`_store/prep/${child.pid}-[0-9a-f]+/stage-`).test(f)) {
        staged = f;
        child.kill('SIGKILL');
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, sg) => resolve([c, sg])));
    watcher.close();
    expect(staged).not.toBe('');
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    const prep = path.join(wh, '_store', 'prep');
    expect(readdirSync(prep).some((n) => n.startsWith(`${child.pid}-`))).toBe(true); // the killed run's scratch is left behind
    // whatever was published is whole units: per source, all of its rows or none
    const bySource = async (w: string) =>
      existsSync(path.join(w, 'fact_billing_event'))
        ? Object.fromEntries((await duckQuery(`SELECT billing_source, count(*)::INTEGER FROM read_parquet('${factGlob(w)}', hive_partitioning = true) GROUP BY ALL`).catch(() => [])).map((r) => [String(r[0]), Number(r[1])]))
        : {};
    const want = await bySource(clean.table.root);
    for (const [source, n] of Object.entries(await bySource(wh))) expect(n, source).toBe(want[source]);
    const again = await runProcess(process.execPath, [CLI_BIN, ...args], { cwd: root, env });
    expect(again.code, again.stderr).toBe(0);
    const ids = (await duckQuery(`SELECT event_id, seqn, amount::VARCHAR, currency, epoch_us(event_ts), source_file, source_position FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) ORDER BY 1`)).map((r) => r.join('|'));
    expect(ids).toEqual(clean.ids);
    expect(readdirSync(prep).filter((n) => n.startsWith(`${child.pid}-`))).toEqual([]); // removed once its process was gone
  });

  it('a run of a source stating MRR reads in its worker while another run holds the MRR lock; it takes the lock for its MRR plan and publish', async () => {
    requireBuilt('jobs/prepare-worker.js');
    const l = path.join(dir(), 'landing');
    landFixtures(l, 'chargebee');
    const reference = await (async () => {
      const clock = new ManualClock('2024-01-04T06:00:00Z');
      const app = await openApp(loadConfig({ landing: l, warehouse: path.join(dir(), 'wh-ref'), env: {} }), { clock, log: memoryLogger(clock) });
      const plan = planBackfill({ from: DAY, to: DAY, sources: ['chargebee'], loaded: new Map([['chargebee', new Set<string>()]]), force: false, nowMs: clock.now() });
      expect((await runBackfill(app.deps, plan, { parallel: 1, force: false })).failed).toEqual([]);
      return mrrRows(app.table.root);
    })();
    const clock = new ManualClock('2024-01-04T06:00:00Z');
    const config = loadConfig({ landing: l, warehouse: path.join(dir(), 'wh'), env: {} });
    const app = await openApp(config, { clock, log: memoryLogger(clock) });
    // another run of chargebee holds its MRR lock (a live lease of this process, on the manual clock: never expires)
    const other = new LockManager({ dir: path.join(config.state, 'locks'), clock, heartbeat: false });
    const held = await other.acquire(mrrLockName('chargebee'), 'run A');
    let readWhileHeld = false;
    const open = app.deps.prepares!;
    app.deps.prepares = (n) => {
      const p = open(n);
      return {
        kind: p.kind,
        // the MRR step is reached only once the worker has read every record: the lock is still run A's then
        run: (task, mrr) => p.run(task, mrr && (async (obs) => {
          readWhileHeld = (await other.holder(mrrLockName('chargebee')))?.owner === 'run A';
          await held.release();
          return mrr(obs);
        })),
        close: () => p.close(),
      };
    };
    const plan = planBackfill({ from: DAY, to: DAY, sources: ['chargebee'], loaded: new Map([['chargebee', new Set<string>()]]), force: false, nowMs: clock.now() });
    const summary = await runBackfill(app.deps, plan, { parallel: 2, force: false });
    expect(summary.failed).toEqual([]);
    expect(readWhileHeld).toBe(true);
    expect(await other.holder(mrrLockName('chargebee'))).toBeUndefined(); // released after the publish
    const got = await mrrRows(app.table.root);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(reference);
  });

  it('an error inside a worker arrives with its class, kind and message', async () => {
    requireBuilt('jobs/prepare-worker.js');
    const pool = new PreparePool(1);
    try {
      const task = {
        connector: { landing: dir(), pickup: { mode: 'marker' as const, quietSeconds: 60 }, sources: [] },
        source: 'nosuch',
        window: { startMs: Date.parse(`${DAY}T00:00:00Z`), endMs: Date.parse(`${DAY}T04:00:00Z`) },
        lookbackHours: 0,
        nowMs: Date.parse('2024-01-04T00:00:00Z'),
        committed: [],
        runId: 'r1',
        dims: { accounts: [], products: [] },
        scratch: dir(),
        spillRows: 1000,
      };
      const e = await pool.run(task).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(ConfigError);
      expect(errorKind(e)).toBe('config');
      expect((e as Error).message).toMatch(/unknown source "nosuch"/);
      // the pool keeps working after a failed task
      expect(await pool.run({ ...task, connector: { ...task.connector, sources: [] }, source: 'nosuch' }).catch((x: unknown) => errorKind(x))).toBe('config');
    } finally {
      await pool.close();
    }
  });
});

describe('the staging budget of concurrent prepares', () => {
  it('is the process\'s: each of n prepares at once gets 1/n of spillRows and spillBytes (at least 1 row, 1 MiB)', () => {
    expect(budgetShare({ spillRows: 100_000, spillBytes: 64 * 2 ** 20 }, 1)).toEqual({ spillRows: 100_000, spillBytes: 64 * 2 ** 20 });
    expect(budgetShare({ spillRows: 100_000, spillBytes: 64 * 2 ** 20 }, 2)).toEqual({ spillRows: 50_000, spillBytes: 32 * 2 ** 20 });
    expect(budgetShare({ spillRows: 100_001, spillBytes: 3 * 2 ** 20 + 1 }, 3)).toEqual({ spillRows: 33_333, spillBytes: 2 ** 20 });
    expect(budgetShare({ spillRows: 1, spillBytes: 2 ** 20 }, 2)).toEqual({ spillRows: 1, spillBytes: 2 ** 20 });
    expect(budgetShare({ spillRows: 8 }, 2)).toEqual({ spillRows: 4, spillBytes: DEFAULT_TUNING.spillBytes / 2 });
  });
});

describe('errors across a thread boundary', () => {
  it('keep class, kind, fields and the cause chain through structured clone', () => {
    const errno = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    const full = new DiskFullError('/wh/_store/prep/x/stage.csv', { cause: errno });
    const outer = new RetriableError('staging failed', { cause: full });
    const back = fromTransferable(structuredClone(toTransferable(outer)));
    expect(back).toBeInstanceOf(RetriableError);
    expect(errorKind(back)).toBe('retriable');
    expect(messageWithCauses(back)).toBe(messageWithCauses(outer));
    const cause = back.cause as DiskFullError;
    expect(cause).toBeInstanceOf(DiskFullError);
    expect(errorKind(cause)).toBe('fatal');
    expect(cause.path).toBe('/wh/_store/prep/x/stage.csv');
    expect((cause.cause as { code: string }).code).toBe('ENOSPC');
    expect(errorKind(cause.cause)).toBe('fatal'); // an errno error stays an I/O failure, never bad data

    const rec = new RecordError('BAD_AMOUNT', 'amount "1,2" is not a number', '1,2', { file: 'stripe/2024-01-03/00/charge.csv', line: 7, field: 'amount' });
    const r = fromTransferable(structuredClone(toTransferable(rec))) as RecordError;
    expect(r).toBeInstanceOf(RecordError);
    expect(r.kind).toBe('record');
    expect(r.code).toBe('BAD_AMOUNT');
    expect(r.location).toEqual({ file: 'stripe/2024-01-03/00/charge.csv', line: 7, field: 'amount' });
    expect(r.message).toBe(rec.message);

    const cfg = fromTransferable(structuredClone(toTransferable(new ConfigError('bad', ['sources.x: unknown']))));
    expect(cfg).toBeInstanceOf(ConfigError);
    expect(errorKind(cfg)).toBe('config');
    expect((cfg as ConfigError).problems).toEqual(['sources.x: unknown']);
  });
});
