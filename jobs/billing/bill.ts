/**
 * One bill: reads the committed record sets and the fact table through the warehouse, plans with planBilling()
 * (billing/, pure), and commits one immutable record set (one warehouse commit, jobs/billing/store.ts).
 * Re-running with nothing new to close writes nothing (idempotent). The job around it (run record, lock,
 * errors by kind) is jobs/bill.ts.
 */
import { ConfigError, FatalError } from '../../events/errors.js';
import type { FactTable } from '../../warehouse/index.js';
import { addDays, assertDay, dayOf, dayStartMs } from '../../partitions/index.js';
import { planBilling, type BillPlan, type FactEventRow } from '../../billing/assign.js';
import { CYCLES, PARTIES, changeTimeline, describePolicy, samePolicy, type CycleKind, type PartyKind, type PolicySegment } from '../../billing/cycles.js';
import { RUN_MANIFEST_FORMAT, type RunManifest } from '../../billing/run.js';
import { listRuns, writeRun, type StoredRun } from './store.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { big, createBillingViews, createFactView, factSnapshot, rows, sqlString, text, withBillingDuck, type FactSnapshot } from './views.js';
import { dayOfPartitionDir } from '../../warehouse/schema.js';

export interface BillOptions {
  table: FactTable;
  /** Billing cycle; default: the logic in force (required for the first run). */
  cycle?: string;
  per?: string;
  /** Last day (inclusive, UTC) whose cycles may close; default yesterday. Must be before today. */
  through?: string;
  /** Day a change of billing logic takes effect (default: the day after the last billed cycle). */
  from?: string;
  /** Current time, ms since epoch (injected). */
  now: number;
  runId: string;
  /** Plan and report, write nothing. */
  dryRun?: boolean;
  /** A change of the cycle or the billed party (for good, from `from` on) must be asked for explicitly. */
  changeLogic?: boolean;
}

export interface BillResult {
  written: boolean;
  /** Where the record set written is in the warehouse layout (billing_records/run=N), when one was. */
  dir?: string;
  /** Table version and id of the commit that wrote it. */
  version?: number;
  commitId?: string;
  manifest: RunManifest | undefined;
  notes: string[];
  timeline: PolicySegment[];
  /** Last day billed (inclusive): every cycle ending on or before it is closed; null before the first run. */
  billedThrough: string | null;
  /** True for --dry-run: `manifest` is what would be written. */
  dryRun: boolean;
  /** Days inside the closed (or to-be-closed) cycles that are not verified complete (no `_SUCCESS`). */
  unverifiedDays: string[];
  /** Fact files the run read (those that can hold an unbilled event, see billableFiles) of all the version has. */
  factFilesRead?: { read: number; of: number };
  /** Assignment rows the run matched its events against (those of the days it read, see billedOfDays) of all the table has. */
  assignmentsRead?: { read: number; of: number };
}

function parseChoice<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, dflt?: T): T {
  if (value === undefined && dflt) return dflt;
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

function parseDay(value: string, flag: string): string {
  try {
    return assertDay(value);
  } catch (e) {
    throw new ConfigError(`${flag}: ${(e as Error).message}`, [], { cause: e });
  }
}

export function toFactRow(r: Record<string, unknown>): FactEventRow {
  const eventId = text(r.event_id as never);
  const currency = text(r.currency as never);
  const amount = text(r.amount as never);
  const file = text(r.filename as never) ?? '(unknown file)';
  if (!eventId || !currency || amount === null || r.ts === null) {
    throw new FatalError(`fact table row in ${file} (event_id ${JSON.stringify(eventId)}) has no event_id, event_ts, currency or amount; repair the fact table before billing`);
  }
  return {
    eventId,
    tsMicros: big(r.ts as never),
    billingSource: text(r.billing_source as never) ?? '',
    accountId: text(r.account_id as never),
    subscriptionId: text(r.subscription_id as never),
    currency,
    amount,
    mrrDelta: text(r.mrr_delta as never),
    file,
  };
}

const inclusive = (watermark: string | null | undefined) => (watermark ? addDays(watermark, -1) : null);

/** Days of [start, end) whose fact partition has no `_SUCCESS` marker (not verified complete). */
async function unverified(table: FactTable, periods: { start: string; end: string }[]): Promise<string[]> {
  if (periods.length === 0) return [];
  const marked = new Set((await table.info()).partitions.filter((p) => p.table === 'fact_billing_event' && p.success).map((p) => dayOfPartitionDir(p.partition)));
  const days = new Set<string>();
  for (const p of periods) for (let d = p.start; d < p.end; d = addDays(d, 1)) days.add(d);
  return [...days].sort().filter((d) => !marked.has(d));
}

/**
 * The fact files that can hold an event this run may bill: every file of the days from the watermark on (the
 * cycles still open), and every file the baseline run did not see. The baseline is the latest record set that
 * left no late event pending: it billed every event of its snapshot dated before its watermark (on time, late, or
 * dated before billing starts, which stays so), so the files it saw hold nothing billable before the watermark.
 * Record sets after it (a logic change that closed nothing) do not move the watermark. Without a watermark or a
 * baseline every file is read. The cost of a bill run is thus bounded by the open cycle and what arrived since,
 * not by the table's age.
 */
async function billableFiles(table: FactTable, snap: FactSnapshot, watermark: string | undefined, recent: StoredRun[]): Promise<FactSnapshot['files']> {
  if (watermark === undefined) return snap.files;
  // the latest record set is the baseline but after a logic-only one that left late events pending (rare)
  const runs = recent.at(-1)?.manifest.counts.latePending === 0 ? recent : await listRuns(table);
  const baseline = runs.findLast((r) => r.manifest.counts.latePending === 0)?.manifest;
  if (!baseline) return snap.files;
  const seen = new Set(baseline.factFiles);
  return snap.files.filter((f) => dayOfPartitionDir(f.dir) >= watermark || !seen.has(f.blob));
}

/**
 * Table `billed`: the event_ids already assigned among the days of `files` (an assignment's event_date is the UTC
 * day of its event, the fact partition that holds it), all the anti-join of a run needs. Its size, and the hash
 * table DuckDB builds from it, is bounded by the days the run reads, not by every event ever billed (the filter
 * on event_date goes down into the Parquet scan). Returns how many rows it holds.
 */
async function billedOfDays(c: DuckDBConnection, files: FactSnapshot['files']): Promise<number> {
  const days = [...new Set(files.map((f) => dayOfPartitionDir(f.dir)))].sort();
  const inDays = days.length === 0 ? 'false' : `event_date IN (${days.map((d) => `DATE ${sqlString(d)}`).join(', ')})`;
  await c.run(`CREATE OR REPLACE TEMP TABLE billed AS SELECT event_id FROM assignments WHERE ${inDays}`);
  const [n] = await rows(c, 'SELECT count(*) AS n FROM billed');
  return Number(big(n!.n));
}

export async function runBilling(o: BillOptions): Promise<BillResult> {
  await o.table.assertBillingLayout();
  const recent = await listRuns(o.table, 1);
  const inForce = recent[0]?.manifest.timeline.at(-1);
  if (o.cycle === undefined && !inForce) throw new ConfigError('--cycle is required for the first bill run: monthly or weekly (later runs keep the logic in force)');
  const cycle = parseChoice<CycleKind>(o.cycle ?? inForce!.cycle, CYCLES, '--cycle');
  const per = parseChoice<PartyKind>(o.per ?? inForce?.per, PARTIES, '--per', 'account');
  if (inForce && !samePolicy(inForce, { cycle, per }) && !o.changeLogic) {
    throw new ConfigError(
      `the billing logic in force is ${describePolicy(inForce)} (since ${inForce.from}); ${describePolicy({ cycle, per })} would change it for good from ${o.from ?? 'the day after the last billed cycle'} on`,
      [`to change it, add --change-logic (see what it would do first with --dry-run)`, `to keep it, leave out --cycle/--per or pass --cycle ${inForce.cycle} --per ${inForce.per}`],
    );
  }
  const today = dayOf(o.now);
  const through = o.through === undefined ? addDays(today, -1) : parseDay(o.through, '--through');
  if (through >= today) throw new ConfigError(`--through ${through} is not over yet (today is ${today} UTC); cycles can only close on past days — use --through ${addDays(today, -1)} or earlier`);
  const from = o.from === undefined ? undefined : parseDay(o.from, '--from');
  const endExclusive = addDays(through, 1);
  const runId = o.runId;

  const last = recent[0]?.manifest;
  const watermark = last?.watermarkAfter ?? undefined;
  const snap = await factSnapshot(o.table);
  const scan = await billableFiles(o.table, snap, watermark, recent);
  const factFilesRead = { read: scan.length, of: snap.files.length };

  return withBillingDuck(async (c) => {
    await createFactView(c, o.table, { version: snap.version, files: scan });
    const tableRows = await createBillingViews(c, o.table);
    const assignmentsRead = { read: await billedOfDays(c, scan), of: tableRows.assignments };
    let firstDay: string | undefined;
    if (!last && from === undefined) {
      const [m] = await rows(c, `SELECT min(epoch_us(event_ts)) AS ts FROM fact`);
      if (m && m.ts !== null && m.ts !== undefined) firstDay = dayOf(Number(big(m.ts) / 1000n));
    }
    const change = changeTimeline(last?.timeline ?? [], watermark, { cycle, per }, from, firstDay);
    const notes = change.note ? [change.note] : [];
    if (change.timeline.length === 0) return { written: false, manifest: undefined, notes, timeline: [], billedThrough: null, dryRun: Boolean(o.dryRun), unverifiedDays: [], factFilesRead, assignmentsRead };

    const endMicros = BigInt(dayStartMs(endExclusive)) * 1000n;
    const found = await rows(
      c,
      `SELECT f.event_id, epoch_us(f.event_ts) AS ts, f.billing_source, f.account_id, f.subscription_id, f.currency,
              CAST(f.amount AS VARCHAR) AS amount, CAST(f.mrr_delta AS VARCHAR) AS mrr_delta, f.filename
       FROM fact f
       WHERE epoch_us(f.event_ts) < ${endMicros}
         AND NOT EXISTS (SELECT 1 FROM billed b WHERE b.event_id = f.event_id)
       QUALIFY row_number() OVER (PARTITION BY f.event_id ORDER BY f.filename) = 1`,
    );
    const plan: BillPlan = planBilling({ runId, timeline: change.timeline, watermark, endExclusive, events: found.map(toFactRow) });
    if (plan.latePending > 0) notes.push(`${plan.latePending} late event(s) wait for the next cycle to close`);
    if (plan.beforeStart > 0) notes.push(`${plan.beforeStart} event(s) are dated before billing starts (${change.timeline[0]!.from}) and are not billed`);
    if (plan.periods.length === 0 && !change.changed) {
      notes.push(`no ${describePolicy({ cycle, per })} cycle ends by ${through} beyond what is billed (billed through ${watermark ? addDays(watermark, -1) : 'nothing yet'}); nothing written`);
      return { written: false, manifest: undefined, notes, timeline: change.timeline, billedThrough: inclusive(watermark), dryRun: Boolean(o.dryRun), unverifiedDays: [], factFilesRead, assignmentsRead };
    }
    const manifest: RunManifest = {
      format: RUN_MANIFEST_FORMAT,
      seq: (last?.seq ?? 0) + 1,
      runId,
      createdAt: new Date(o.now).toISOString(),
      through,
      timeline: change.timeline,
      watermarkBefore: watermark ?? null,
      watermarkAfter: plan.watermarkAfter ?? null,
      periods: plan.periods.map((p) => ({ start: p.start, end: p.end, cycle: p.cycle, per: p.per })),
      counts: {
        records: plan.records.length,
        assignments: plan.assignments.length,
        onTime: plan.onTime,
        late: plan.late,
        latePending: plan.latePending,
        beforeStart: plan.beforeStart,
      },
      factFiles: snap.files.map((f) => f.blob),
    };
    const unverifiedDays = await unverified(o.table, plan.periods);
    if (unverifiedDays.length) {
      notes.push(
        `warning: ${unverifiedDays.length} day(s) in the cycles ${o.dryRun ? 'to close' : 'closed'} are not verified complete (no _SUCCESS): ${unverifiedDays.slice(0, 5).join(', ')}${unverifiedDays.length > 5 ? ', …' : ''}; events that arrive for them later are billed as late adjustments — run billing-mart check completeness --from ${unverifiedDays[0]} --to ${unverifiedDays.at(-1)} first`,
      );
    }
    if (o.dryRun) return { written: false, manifest, notes, timeline: change.timeline, billedThrough: inclusive(watermark), dryRun: true, unverifiedDays, factFilesRead, assignmentsRead };
    const { dir, version, commitId } = await writeRun(o.table, manifest, plan.records, plan.assignments);
    return { written: true, dir, version, commitId, manifest, notes, timeline: change.timeline, billedThrough: inclusive(manifest.watermarkAfter), dryRun: false, unverifiedDays, factFilesRead, assignmentsRead };
  });
}
