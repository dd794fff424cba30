/**
 * `billing-mart demo`: two weeks of sample data for four billing systems + OLTP, backfilled, compacted, checked
 * (one source's last day arrives late: staged under _late/, delivered after the first check, then healed),
 * a status grid, an HTML report and a DuckDB query of totals per source. Everything under one named directory.
 */
import { existsSync, readdirSync, renameSync, statSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBDecimalValue } from '@duckdb/node-api';
import { queryAll, withDuck } from '../warehouse/duck.js';
import { generate } from '../tools/generator/index.js';
import { ConfigError } from '../events/errors.js';
import { unscaledToText } from '../events/money.js';
import { addDays, dayOf } from '../partitions/index.js';
import { formatPlan, formatSummary, planBackfill, runBackfill, type BackfillSummary } from './backfill.js';
import { checkCompleteness, formatOutcome, type CheckOutcome } from './checker.js';
import type { JobDeps } from './deps.js';
import { runOltp } from './ingest.js';
import type { ProgressReporter } from './progress.js';
import { renderReport } from './report.js';
import { collectStatus, formatStatusGrid } from './status.js';
import { writeFileDurable } from '../events/io.js';

export const DEMO_MARKER = '.billing-mart-demo';

export interface DemoLayout {
  dir: string;
  landing: string;
  warehouse: string;
  report: string;
}

export function demoLayout(dir: string): DemoLayout {
  const d = path.resolve(dir);
  return { dir: d, landing: path.join(d, 'landing'), warehouse: path.join(d, 'warehouse'), report: path.join(d, 'report.html') };
}

/** Makes `dir` ready: creates it, or clears a previous demo there; refuses to touch anything else. */
export function prepareDemoDir(l: DemoLayout): void {
  if (existsSync(l.dir) && readdirSync(l.dir).length > 0) {
    if (!existsSync(path.join(l.dir, DEMO_MARKER))) {
      throw new ConfigError(`${l.dir} exists and is not a billing-mart demo directory; choose another with --dir (nothing was changed)`);
    }
    for (const n of ['landing', 'warehouse', 'report.html']) rmSync(path.join(l.dir, n), { recursive: true, force: true });
  }
  mkdirSync(l.dir, { recursive: true });
  writeFileSync(path.join(l.dir, DEMO_MARKER), 'created by `billing-mart demo`; safe to delete\n');
}

/** Moves every file under `from` to the same relative path under `to` (rename: each file appears whole). */
export function moveTree(from: string, to: string): number {
  if (!existsSync(from)) return 0;
  let n = 0;
  for (const name of readdirSync(from)) {
    const a = path.join(from, name);
    const b = path.join(to, name);
    if (statSync(a).isDirectory()) n += moveTree(a, b);
    else {
      mkdirSync(to, { recursive: true });
      // data files first, markers (.done, _SUCCESS) last would be ideal; rename is atomic per file either way
      renameSync(a, b);
      n++;
    }
  }
  rmSync(from, { recursive: true, force: true });
  return n;
}

export interface DemoOptions {
  layout: DemoLayout;
  deps: JobDeps;
  eventsPerDay: number;
  days: number;
  seed: string;
  lateSource: string;
  parallel: number;
  /** Days of one source loaded per backfill run (one commit each). */
  batchDays: number;
  progress?: ProgressReporter;
  say: (line: string) => void;
}

export interface DemoResult {
  from: string;
  to: string;
  backfill: BackfillSummary;
  firstCheck: CheckOutcome;
  secondCheck: CheckOutcome;
  totals: { source: string; currency: string; rows: number; amount: string }[];
  /** MRR movements per source, month and currency (sources whose mappings state MRR). */
  mrr: MrrMovement[];
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const { deps, layout } = o;
  const t0 = deps.clock.now();
  const say = (l: string) => o.say(/^\d\/7 /.test(l) ? `${l}  [${((deps.clock.now() - t0) / 1000).toFixed(1)}s]` : l);
  const to = addDays(dayOf(deps.clock.now()), -2);
  const from = addDays(to, -(o.days - 1));
  say(`1/7 generating ${o.days} days (${from} … ${to}) for ${deps.sourceNames.join(', ')} + OLTP into ${layout.landing}`);
  const gen = await generate({ out: layout.landing, from, to, eventsPerDay: o.eventsPerDay, seed: o.seed, lateRate: 0, force: true });
  const staged = moveTree(path.join(layout.landing, o.lateSource, to), path.join(layout.landing, '_late', o.lateSource, to));
  say(`    ${gen.events} events in ${gen.files} files (${gen.quarantined} bad records, ${gen.redeliveredFiles} re-delivered files); ${o.lateSource}'s ${to} (${staged} files) held back as late`);

  say('2/7 loading the OLTP snapshot (accounts, products) as the dimension snapshot');
  const oltp = await runOltp(deps, { trigger: 'demo', snapshotDate: from });
  if (oltp.status !== 'succeeded') throw new Error(`OLTP snapshot failed: ${oltp.error}`);

  say(`3/7 backfilling ${from} … ${to}`);
  const loaded = new Map<string, Set<string>>();
  for (const s of deps.sourceNames) loaded.set(s, await deps.warehouse.loadedWindows(s));
  const plan = planBackfill({ from, to, sources: deps.sourceNames, loaded, force: false, nowMs: deps.clock.now() });
  say(`    ${formatPlan(plan).split('\n').at(-1)}`);
  const backfill = await runBackfill(deps, plan, { parallel: o.parallel, force: false, progress: o.progress, trigger: 'demo', group: o.batchDays });
  say(indent(formatSummary(backfill, 'billing-mart demo')));

  say('4/7 compacting');
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  await deps.warehouse.compact(days);

  say('5/7 checking completeness (the late day cannot be healed yet)');
  const firstCheck = await checkCompleteness(deps, { days, trigger: 'demo' });
  say(indent(onlyProblems(firstCheck)));

  const delivered = moveTree(path.join(layout.landing, '_late'), layout.landing);
  say(`6/7 the late files arrive (${delivered} files delivered from _late/); checking again — self-heal picks them up`);
  const secondCheck = await checkCompleteness(deps, { days, trigger: 'demo' });
  say(indent(onlyProblems(secondCheck)));

  say('7/7 status');
  const status = await collectStatus(deps, { from, to });
  say(formatStatusGrid(status));
  await writeFileDurable(layout.report, renderReport(status));
  const totals = await totalsPerSource(deps.warehouse.factPath);
  const mrr = await mrrMovements(deps.warehouse.factPath);
  return { from, to, backfill, firstCheck, secondCheck, totals, mrr };
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function onlyProblems(out: CheckOutcome): string {
  const done = out.days.filter((d) => d.complete).length;
  const bad = out.days.filter((d) => !d.complete);
  const head = `${done}/${out.days.length} days COMPLETE with _SUCCESS`;
  if (!bad.length) return head;
  return `${head}; not complete:\n${formatOutcome({ ...out, ok: true, days: bad })}`;
}

/** Billing events only: the MRR_CHANGED rows billing-mart derives from subscription states are counted by the movements query. */
const SOURCE_EVENTS = "source_object_type <> 'mrr_delta'";

/** The closing DuckDB query: rows and exact amount per source and currency, straight from the Parquet files. */
export async function totalsPerSource(factPath: string): Promise<DemoResult['totals']> {
  const rows = await duckRows(totalsSql(factPath));
  return rows.map((row) => ({ source: String(row[0]), currency: String(row[1]), rows: Number(row[2]), amount: decimalText(row[3]) }));
}

export function totalsSql(factPath: string): string {
  return `SELECT billing_source, currency, count(*) AS rows, sum(amount) AS total\nFROM read_parquet('${factGlob(factPath)}', hive_partitioning = true)\nWHERE ${SOURCE_EVENTS}\nGROUP BY ALL ORDER BY billing_source, currency;`;
}

/**
 * MRR movements per source, UTC month and currency from the mrr_delta rows: for each subscription and month, its
 * MRR at the month's start (the sum of its earlier deltas) and end; new (0 → >0), expansion (up), contraction (down,
 * still >0), churn (→ 0), each the signed change. Order-independent: late versions' corrections land in the right months.
 */
export function mrrMovementsSql(factPath: string): string {
  return `WITH d AS (
  SELECT billing_source, subscription_id, currency, strftime(event_date, '%Y-%m') AS month, sum(mrr_delta) AS delta
  FROM read_parquet('${factGlob(factPath)}', hive_partitioning = true)
  WHERE event_type = 'MRR_CHANGED' AND mrr_delta IS NOT NULL GROUP BY ALL),
m AS (SELECT *, coalesce(sum(delta) OVER (PARTITION BY billing_source, subscription_id ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS s FROM d)
SELECT billing_source, month, currency,
  sum(CASE WHEN s = 0 AND s + delta > 0 THEN delta ELSE 0 END) AS new,
  sum(CASE WHEN s > 0 AND delta > 0 THEN delta ELSE 0 END) AS expansion,
  sum(CASE WHEN s > 0 AND delta < 0 AND s + delta > 0 THEN delta ELSE 0 END) AS contraction,
  sum(CASE WHEN s > 0 AND s + delta = 0 THEN delta ELSE 0 END) AS churn
FROM m WHERE delta <> 0 GROUP BY ALL ORDER BY billing_source, month, currency;`;
}

export interface MrrMovement {
  source: string;
  month: string;
  currency: string;
  new: string;
  expansion: string;
  contraction: string;
  churn: string;
}

export async function mrrMovements(factPath: string): Promise<MrrMovement[]> {
  const rows = await duckRows(mrrMovementsSql(factPath));
  return rows.map((r) => ({ source: String(r[0]), month: String(r[1]), currency: String(r[2]), new: decimalText(r[3]), expansion: decimalText(r[4]), contraction: decimalText(r[5]), churn: decimalText(r[6]) }));
}

export function formatMrr(m: MrrMovement[]): string {
  if (!m.length) return '(no source states MRR)';
  const cols = ['new', 'expansion', 'contraction', 'churn'] as const;
  const w = Math.max(12, ...m.flatMap((x) => cols.map((c) => x[c].length)));
  return [
    `${'source'.padEnd(10)} ${'month'.padEnd(7)} ${'cur'.padEnd(4)} ${cols.map((c) => c.padStart(w)).join(' ')}`,
    ...m.map((x) => `${x.source.padEnd(10)} ${x.month.padEnd(7)} ${x.currency.padEnd(4)} ${cols.map((c) => x[c].padStart(w)).join(' ')}`),
  ].join('\n');
}

function factGlob(factPath: string): string {
  return path.join(factPath, '*', '*.parquet').replace(/'/g, "''");
}

function decimalText(v: unknown): string {
  return v instanceof DuckDBDecimalValue ? unscaledToText(v.value, v.scale) : String(v);
}

async function duckRows(sql: string): Promise<unknown[][]> {
  return withDuck((conn) => queryAll(conn, sql));
}

export function formatTotals(t: DemoResult['totals']): string {
  const w = Math.max(...t.map((x) => x.amount.length), 6);
  return [`${'source'.padEnd(10)} ${'cur'.padEnd(4)} ${'rows'.padStart(8)} ${'total'.padStart(w)}`, ...t.map((x) => `${x.source.padEnd(10)} ${x.currency.padEnd(4)} ${String(x.rows).padStart(8)} ${x.amount.padStart(w)}`)].join('\n');
}
