/**
 * The billing check's vocabulary and its pure decisions (no I/O): the violation codes, the report shape, whether
 * an unassigned event is a miss or pending, the differences between a record's stored and actual totals, and the
 * report's text. The job that reads the tables is jobs/billing/check.ts.
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
import { Decimal } from '../events/money.js';
import type { RunManifest } from './run.js';

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

/** Human text for a report (ids listed; long lists cut with a count). */
export function formatBillingCheck(r: BillingCheckReport, where: string, limit = 50): string {
  const lines = [
    `billing check of ${where}: ${r.ok ? 'OK' : `${r.violations.length} violation(s)`}`,
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
