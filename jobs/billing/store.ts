/**
 * The billing tables in the warehouse: one record set per bill run, committed by the warehouse as ONE commit
 * (operation `bill`) that creates partition `run=<seq>` of two declared tables (warehouse/schema.ts):
 *
 *   <warehouse>/billing_records/run=00000001/billing_records-<commit>-00.parquet          one row per party cycle and currency
 *   <warehouse>/billing_records/run=00000001/_manifest.json                               files, rows, and `meta`: the run manifest
 *   <warehouse>/billing_assignments/run=00000001/billing_assignments-<commit>-01.parquet  one row per assigned event_id
 *
 * The commit log is the commit point: a killed run leaves nothing visible (recovery removes its blobs), a
 * second run racing for the same seq loses under the lock (retriable), `table history` lists every run and
 * `export --table billing_records --as-of TS` reads the records as they were. Nothing here writes files.
 */
import { FatalError } from '../../events/errors.js';
import { textToUnscaled } from '../../warehouse/state.js';
import { BILLING_ASSIGNMENTS_TABLE, BILLING_RECORDS_TABLE, type CellValue, type FactTable, type TableWrite } from '../../warehouse/index.js';
import type { Assignment, CycleRecord } from '../../billing/assign.js';
import { RUN_MANIFEST_FORMAT, runPartition, type RunManifest } from '../../billing/run.js';

export { BILLING_RECORDS_TABLE, BILLING_ASSIGNMENTS_TABLE };

export interface StoredRun {
  /** Where the record set is in the warehouse's layout, e.g. billing_records/run=00000001. */
  dir: string;
  manifest: RunManifest;
}

/**
 * All committed record sets, in seq order (from the billing_records partitions' manifests); with `latest`, only
 * the last `latest` of them (what a bill run needs: it reads a bounded number of manifests, whatever the age).
 */
export async function listRuns(table: FactTable, latest?: number): Promise<StoredRun[]> {
  const out: StoredRun[] = [];
  for (const { dir, manifest } of await table.tableManifests(BILLING_RECORDS_TABLE, latest)) {
    const m = manifest.meta as RunManifest | undefined;
    const seq = Number(/^run=(\d{8})$/.exec(dir)?.[1]);
    const where = `${table.root}/${BILLING_RECORDS_TABLE}/${dir}/_manifest.json`;
    if (!m || m.format !== RUN_MANIFEST_FORMAT || m.seq !== seq || !Array.isArray(m.timeline)) {
      throw new FatalError(`${where}: holds no billing run manifest for seq ${seq} (format ${JSON.stringify(m?.format)}); record sets are committed whole, so this one was damaged afterwards — restore it from backup`);
    }
    out.push({ dir: `${BILLING_RECORDS_TABLE}/${dir}`, manifest: m });
  }
  return out;
}

const dec = (text: string | null): bigint | null => (text === null ? null : textToUnscaled(text));

export function recordRow(r: CycleRecord): Record<string, CellValue> {
  return {
    record_id: r.recordId,
    run_id: r.runId,
    cycle_id: r.cycleId,
    cycle: r.cycle,
    per: r.per,
    billing_source: r.billingSource,
    party_id: r.partyId,
    period_start: r.periodStart,
    period_end: r.periodEnd,
    currency: r.currency,
    event_count: BigInt(r.eventCount),
    amount_sum: dec(r.amountSum),
    mrr_delta_sum: dec(r.mrrDeltaSum),
    late_event_count: BigInt(r.lateEventCount),
    late_amount_sum: dec(r.lateAmountSum),
  };
}

export function assignmentRow(a: Assignment): Record<string, CellValue> {
  return {
    event_id: a.eventId,
    record_id: a.recordId,
    run_id: a.runId,
    cycle_id: a.cycleId,
    event_date: a.eventDate,
    late: a.late,
    original_cycle_id: a.originalCycleId,
    currency: a.currency,
    amount: dec(a.amount),
  };
}

/** The table writes of one record set: partition run=<seq> of both tables, which must not exist yet. */
export function runWrites(manifest: RunManifest, records: readonly CycleRecord[], assignments: readonly Assignment[]): TableWrite[] {
  const partition = runPartition(manifest.seq);
  return [
    { table: BILLING_RECORDS_TABLE, partition, mode: 'create', rows: records.map(recordRow), meta: manifest as unknown as Record<string, unknown> },
    { table: BILLING_ASSIGNMENTS_TABLE, partition, mode: 'create', rows: assignments.map(assignmentRow) },
  ];
}

/** Commits one record set (one warehouse commit). Returns where it is and the table version. */
export async function writeRun(table: FactTable, manifest: RunManifest, records: readonly CycleRecord[], assignments: readonly Assignment[]): Promise<{ dir: string; version: number; commitId: string }> {
  const { version, commitId } = await table.commitTables('bill', runWrites(manifest, records, assignments), {
    runId: manifest.runId,
    summary: { seq: manifest.seq, records: records.length, assignments: assignments.length, periods: manifest.periods.length },
  });
  return { dir: `${BILLING_RECORDS_TABLE}/run=${runPartition(manifest.seq)}`, version, commitId };
}
