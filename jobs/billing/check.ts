/**
 * `billing-mart check billing`: verifies the billing records against the fact table.
 *   DUPLICATE_ASSIGNMENT  an event is assigned to more than one cycle
 *   MISSING_EVENT         a billing record points to an event_id that is not in the fact table
 *   ORPHAN_ASSIGNMENT     an assignment points to a record_id that no record set contains
 *   DUPLICATE_RECORD      the same party cycle + currency was billed in more than one record set
 *   TOTALS_MISMATCH       a record's totals differ from the sum of its events in the fact table
 *   CURRENCY_MISMATCH     an event's currency differs from its record's currency
 *   WRONG_PERIOD          an on-time event outside its cycle's period, or a "late" one that is not before it
 *   UNASSIGNED            an event whose cycle is closed was read by a bill run that should have assigned it, yet
 *                         is in no record
 * Not violations (reported as pending): events that arrived after their cycle was billed and wait for the next
 * cycle to close — the next bill run assigns them as late adjustments.
 */
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Decimal } from '../../events/money.js';
import { addDays, dayStartMs } from '../../partitions/index.js';
import { dayOfMicros } from './cycles.js';
import { big, createBillingViews, createFactView, listFactFiles, rows, text, withDuck } from './duck.js';
import { listRuns, type RunManifest } from './store.js';

export const VIOLATION_CODES = [
  'DUPLICATE_ASSIGNMENT',
  'MISSING_EVENT',
  'ORPHAN_ASSIGNMENT',
  'DUPLICATE_RECORD',
  'TOTALS_MISMATCH',
  'CURRENCY_MISMATCH',
  'WRONG_PERIOD',
  'UNASSIGNED',
] as const;
export type ViolationCode = (typeof VIOLATION_CODES)[number];

export interface Violation {
  code: ViolationCode;
  message: string;
  eventIds: string[];
  recordIds: string[];
}

export interface PendingEvent {
  eventId: string;
  eventDate: string;
  file: string;
}

export interface BillingCheckReport {
  ok: boolean;
  runs: number;
  records: number;
  assignments: number;
  factEvents: number;
  /** Last day billed (inclusive: every cycle ending on or before it is closed), null before the first run. */
  billedThrough: string | null;
  violations: Violation[];
  /** Late events waiting for the next cycle to close (not violations). */
  pending: PendingEvent[];
  /** Events dated before billing started (not billed by design). */
  beforeStart: number;
}

/** Pure: is an unassigned event (dated `day`, in `file`) a miss, or did it arrive after the runs that could bill it? */
export function classifyUnassigned(day: string, file: string, runs: readonly Pick<RunManifest, 'periods' | 'watermarkAfter' | 'factFiles'>[]): 'UNASSIGNED' | 'PENDING' {
  for (const r of runs) {
    if (r.periods.length > 0 && r.watermarkAfter !== null && r.watermarkAfter > day && filesOf(r).has(file)) return 'UNASSIGNED';
  }
  return 'PENDING';
}

const fileSets = new WeakMap<object, Set<string>>();
function filesOf(r: Pick<RunManifest, 'factFiles'>): Set<string> {
  let s = fileSets.get(r);
  if (!s) fileSets.set(r, (s = new Set(r.factFiles)));
  return s;
}

export interface RecordTotalsRow {
  recordId: string;
  cycleId: string;
  recorded: { count: bigint; amount: string; mrr: string; lateCount: bigint; lateAmount: string };
  actual: { count: bigint; amount: string | null; mrr: string | null; lateCount: bigint; lateAmount: string | null };
}

/** Pure: the differences between a record's stored totals and the sum of its events ('' when equal). */
export function totalsDifferences(r: RecordTotalsRow): string[] {
  const out: string[] = [];
  const eq = (a: string, b: string | null) => new Decimal(a).equals(new Decimal(b ?? '0'));
  if (r.recorded.count !== r.actual.count) out.push(`event_count ${r.recorded.count} but ${r.actual.count} assigned events found`);
  if (!eq(r.recorded.amount, r.actual.amount)) out.push(`amount_sum ${r.recorded.amount} but events sum to ${new Decimal(r.actual.amount ?? '0').toFixed(9)}`);
  if (!eq(r.recorded.mrr, r.actual.mrr)) out.push(`mrr_delta_sum ${r.recorded.mrr} but events sum to ${new Decimal(r.actual.mrr ?? '0').toFixed(9)}`);
  if (r.recorded.lateCount !== r.actual.lateCount) out.push(`late_event_count ${r.recorded.lateCount} but ${r.actual.lateCount} late events found`);
  if (!eq(r.recorded.lateAmount, r.actual.lateAmount)) out.push(`late_amount_sum ${r.recorded.lateAmount} but late events sum to ${new Decimal(r.actual.lateAmount ?? '0').toFixed(9)}`);
  return out;
}

const EV = `ev AS (SELECT * FROM fact QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename) = 1)`;
const DAY = (col: string) => `CAST(make_timestamp(epoch_us(${col})) AS DATE)`;

async function structural(c: DuckDBConnection, v: Violation[]): Promise<void> {
  for (const r of await rows(c, `SELECT event_id, list(DISTINCT record_id ORDER BY record_id) AS recs, count(*) AS n FROM assignments GROUP BY event_id HAVING count(*) > 1 ORDER BY event_id`)) {
    const recs = (r.recs as { items: unknown[] }).items.map(String);
    v.push({ code: 'DUPLICATE_ASSIGNMENT', message: `event ${text(r.event_id)} is assigned ${String(r.n)} times (records ${recs.join(', ')}); an event belongs to exactly one cycle`, eventIds: [String(r.event_id)], recordIds: recs });
  }
  for (const r of await rows(c, `SELECT a.event_id, a.record_id, a.cycle_id FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM fact f WHERE f.event_id = a.event_id) ORDER BY 1, 2`)) {
    v.push({ code: 'MISSING_EVENT', message: `record ${text(r.record_id)} (${text(r.cycle_id)}) points to event ${text(r.event_id)}, which is not in the fact table`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
  for (const r of await rows(c, `SELECT a.event_id, a.record_id FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.record_id = a.record_id) ORDER BY 1, 2`)) {
    v.push({ code: 'ORPHAN_ASSIGNMENT', message: `event ${text(r.event_id)} is assigned to record ${text(r.record_id)}, which no record set contains`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
  for (const r of await rows(c, `SELECT record_id, any_value(cycle_id) AS cycle_id, list(run_id ORDER BY run_id) AS runs FROM records GROUP BY record_id HAVING count(*) > 1 ORDER BY 1`)) {
    const runs = (r.runs as { items: unknown[] }).items.map(String);
    v.push({ code: 'DUPLICATE_RECORD', message: `cycle ${text(r.cycle_id)} (record ${text(r.record_id)}) was billed ${runs.length} times, by runs ${runs.join(', ')}`, eventIds: [], recordIds: [String(r.record_id)] });
  }
}

async function totals(c: DuckDBConnection, v: Violation[]): Promise<void> {
  const res = await rows(
    c,
    `WITH ${EV},
     s AS (SELECT a.record_id, count(ev.event_id) AS n, sum(ev.amount) AS amt, sum(coalesce(ev.mrr_delta, 0)) AS mrr,
                  count(ev.event_id) FILTER (WHERE a.late) AS late_n, sum(ev.amount) FILTER (WHERE a.late) AS late_amt
           FROM assignments a LEFT JOIN ev ON ev.event_id = a.event_id GROUP BY a.record_id)
     SELECT r.record_id, r.cycle_id, r.event_count, CAST(r.amount_sum AS VARCHAR) AS amount_sum, CAST(r.mrr_delta_sum AS VARCHAR) AS mrr_sum,
            r.late_event_count, CAST(r.late_amount_sum AS VARCHAR) AS late_sum,
            coalesce(s.n, 0) AS n, CAST(s.amt AS VARCHAR) AS amt, CAST(s.mrr AS VARCHAR) AS mrr, coalesce(s.late_n, 0) AS late_n, CAST(s.late_amt AS VARCHAR) AS late_amt
     FROM records r LEFT JOIN s ON s.record_id = r.record_id ORDER BY r.record_id`,
  );
  for (const r of res) {
    const diffs = totalsDifferences({
      recordId: String(r.record_id),
      cycleId: String(r.cycle_id),
      recorded: { count: big(r.event_count), amount: String(r.amount_sum), mrr: String(r.mrr_sum), lateCount: big(r.late_event_count), lateAmount: String(r.late_sum) },
      actual: { count: big(r.n), amount: text(r.amt), mrr: text(r.mrr), lateCount: big(r.late_n), lateAmount: text(r.late_amt) },
    });
    if (diffs.length) v.push({ code: 'TOTALS_MISMATCH', message: `record ${text(r.record_id)} (${text(r.cycle_id)}): ${diffs.join('; ')}`, eventIds: [], recordIds: [String(r.record_id)] });
  }
  for (const r of await rows(c, `WITH ${EV} SELECT a.event_id, a.record_id, ev.currency AS ec, r.currency AS rc FROM assignments a JOIN records r ON r.record_id = a.record_id JOIN ev ON ev.event_id = a.event_id WHERE ev.currency <> r.currency ORDER BY 1`)) {
    v.push({ code: 'CURRENCY_MISMATCH', message: `event ${text(r.event_id)} is in ${text(r.ec)} but its record ${text(r.record_id)} totals ${text(r.rc)}`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
  const wrong = await rows(
    c,
    `WITH ${EV} SELECT a.event_id, a.record_id, a.late, CAST(${DAY('ev.event_ts')} AS VARCHAR) AS d, CAST(r.period_start AS VARCHAR) AS ps, CAST(r.period_end AS VARCHAR) AS pe
     FROM assignments a JOIN records r ON r.record_id = a.record_id JOIN ev ON ev.event_id = a.event_id
     WHERE (NOT a.late AND (${DAY('ev.event_ts')} < r.period_start OR ${DAY('ev.event_ts')} >= r.period_end)) OR (a.late AND ${DAY('ev.event_ts')} >= r.period_start)
     ORDER BY 1`,
  );
  for (const r of wrong) {
    const what = r.late ? 'is marked late but is not dated before' : 'is dated outside';
    v.push({ code: 'WRONG_PERIOD', message: `event ${text(r.event_id)} (${text(r.d)}) ${what} its cycle ${text(r.ps)}..${text(r.pe)} (record ${text(r.record_id)})`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
}

export async function checkBilling(warehouseDir: string): Promise<BillingCheckReport> {
  const runs = await listRuns(warehouseDir);
  const snap = await listFactFiles(warehouseDir);
  const manifests = runs.map((r) => r.manifest);
  const last = manifests[manifests.length - 1];
  const billedThrough = last?.watermarkAfter ?? null;
  const start = last?.timeline[0]?.from;
  return withDuck(async (c) => {
    await createFactView(c, warehouseDir, snap);
    await createBillingViews(c, runs.map((r) => r.dir));
    const violations: Violation[] = [];
    await structural(c, violations);
    await totals(c, violations);
    const pending: PendingEvent[] = [];
    let beforeStart = 0;
    if (start !== undefined && billedThrough !== null) {
      const startUs = BigInt(dayStartMs(start)) * 1000n;
      const endUs = BigInt(dayStartMs(billedThrough)) * 1000n;
      const [b] = await rows(c, `WITH ${EV} SELECT count(*) AS n FROM ev WHERE epoch_us(event_ts) < ${startUs}`);
      beforeStart = Number(big(b!.n));
      const un = await rows(
        c,
        `WITH ${EV} SELECT event_id, epoch_us(event_ts) AS ts, filename FROM ev
         WHERE epoch_us(event_ts) >= ${startUs} AND epoch_us(event_ts) < ${endUs}
           AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.event_id = ev.event_id) ORDER BY ts, event_id`,
      );
      for (const r of un) {
        const day = dayOfMicros(big(r.ts));
        const file = String(r.filename);
        if (classifyUnassigned(day, file, manifests) === 'UNASSIGNED') {
          violations.push({
            code: 'UNASSIGNED',
            message: `event ${text(r.event_id)} (${day}, ${file}) was read by a bill run that closed its cycle but is in no billing record`,
            eventIds: [String(r.event_id)],
            recordIds: [],
          });
        } else pending.push({ eventId: String(r.event_id), eventDate: day, file });
      }
    }
    const [counts] = await rows(c, `SELECT (SELECT count(*) FROM records) AS r, (SELECT count(*) FROM assignments) AS a, (SELECT count(DISTINCT event_id) FROM fact) AS f`);
    return {
      ok: violations.length === 0,
      runs: runs.length,
      records: Number(big(counts!.r)),
      assignments: Number(big(counts!.a)),
      factEvents: Number(big(counts!.f)),
      billedThrough: billedThrough === null ? null : addDays(billedThrough, -1),
      violations,
      pending,
      beforeStart,
    };
  });
}

/** Human text for a report (ids listed; long lists cut with a count). */
export function formatBillingCheck(r: BillingCheckReport, warehouseDir: string, limit = 50): string {
  const lines = [
    `billing check of ${path.join(warehouseDir, 'billing_records')}: ${r.ok ? 'OK' : `${r.violations.length} violation(s)`}`,
    `  record sets ${r.runs}, records ${r.records}, assignments ${r.assignments}, fact events ${r.factEvents}, billed through ${r.billedThrough ?? '(nothing billed yet)'}`,
  ];
  for (const v of r.violations.slice(0, limit)) lines.push(`  ${v.code}: ${v.message}`);
  if (r.violations.length > limit) lines.push(`  … and ${r.violations.length - limit} more (use --json for all)`);
  if (r.pending.length) {
    lines.push(`  pending: ${r.pending.length} late event(s) will be billed in the next cycle to close (run bill after it ends):`);
    for (const p of r.pending.slice(0, limit)) lines.push(`    ${p.eventId} (${p.eventDate}, ${p.file})`);
  }
  if (r.beforeStart) lines.push(`  ${r.beforeStart} event(s) are dated before billing started and are not billed`);
  if (!r.ok) lines.push('  Records are immutable: fix the cause (restore a damaged record set from backup, or investigate the fact table), then re-run the check.');
  return lines.join('\n');
}
