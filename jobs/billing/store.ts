/**
 * The billing records table: append-only, one immutable record set per bill run.
 *
 *   <warehouse>/billing_records/run=00000001/records.parquet      one row per party cycle and currency (totals)
 *   <warehouse>/billing_records/run=00000001/assignments.parquet  one row per assigned event_id
 *   <warehouse>/billing_records/run=00000001/run.json             the manifest (logic timeline, watermark, files read)
 *
 * A record set is written into <warehouse>/.billing_records.tmp/<unique>/ (beside billing_records/, never inside
 * it, so no glob over billing_records/ can count a killed run's complete set) and then renamed to run=<seq> in one
 * step, so a killed run leaves nothing visible; leftovers older than an hour are removed by the next run; a second run racing for the same seq fails its rename (the target exists and
 * is not empty) and is told to re-run. Nothing here ever rewrites or deletes a run=<seq> directory.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FatalError, RetriableError } from '../../events/errors.js';
import type { Assignment, CycleRecord } from './assign.js';
import type { PolicySegment } from './cycles.js';
import { isErrno, uniqueSuffix } from './fs.js';
import { toParquet } from './parquet.js';

export const RECORDS_DIR = 'billing_records';
const RUN_RE = /^run=(\d{8})$/;

export interface RunManifest {
  format: 'billing-mart/billing-run/v1';
  seq: number;
  runId: string;
  createdAt: string;
  /** --through as given (inclusive day). */
  through: string;
  /** The billing logic timeline in force after this run (full history; earlier segments never change). */
  timeline: PolicySegment[];
  /** Billed through before/after this run (exclusive day); null before anything was billed. */
  watermarkBefore: string | null;
  watermarkAfter: string | null;
  /** Periods closed by this run. */
  periods: { start: string; end: string; cycle: string; per: string }[];
  counts: { records: number; assignments: number; onTime: number; late: number; latePending: number; beforeStart: number };
  /** Fact-table data files (relative to the warehouse) this run read. */
  factFiles: string[];
}

export interface StoredRun {
  dir: string;
  manifest: RunManifest;
}

export function recordsRoot(warehouseDir: string): string {
  return path.join(warehouseDir, RECORDS_DIR);
}

/** Where record sets are assembled before their atomic rename: outside billing_records/, same file system. */
export function recordsTmpRoot(warehouseDir: string): string {
  return path.join(warehouseDir, `.${RECORDS_DIR}.tmp`);
}

const STALE_TMP_MS = 3_600_000;

/** Removes what killed runs left in the temp root (older than an hour: a running bill is never that slow to write). */
async function removeStaleTmp(tmpRoot: string, nowMs: number): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(tmpRoot);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  for (const n of names) {
    const p = path.join(tmpRoot, n);
    const st = await fs.stat(p).catch((e: unknown) => (isErrno(e, 'ENOENT') ? null : Promise.reject(e)));
    if (st && nowMs - st.mtimeMs > STALE_TMP_MS) await fs.rm(p, { recursive: true, force: true });
  }
}

/** All committed record sets, in seq order. */
export async function listRuns(warehouseDir: string): Promise<StoredRun[]> {
  const root = recordsRoot(warehouseDir);
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
  const out: StoredRun[] = [];
  for (const name of names.filter((n) => RUN_RE.test(n)).sort()) {
    const dir = path.join(root, name);
    const file = path.join(dir, 'run.json');
    let manifest: RunManifest;
    try {
      manifest = JSON.parse(await fs.readFile(file, 'utf8')) as RunManifest;
    } catch (e) {
      throw new FatalError(`billing record set ${dir} has no readable run.json (${(e as Error).message}); record sets are written atomically, so this one was damaged afterwards — restore it from backup`, { cause: e });
    }
    const seq = Number(RUN_RE.exec(name)![1]);
    if (manifest.format !== 'billing-mart/billing-run/v1' || manifest.seq !== seq || !Array.isArray(manifest.timeline)) {
      throw new FatalError(`${file}: not a billing run manifest for seq ${seq} (format ${JSON.stringify(manifest.format)}); restore the record set from backup`);
    }
    out.push({ dir, manifest });
  }
  return out;
}

export function recordColumns(records: CycleRecord[]) {
  return {
    record_id: { kind: 'utf8', values: records.map((r) => r.recordId) },
    run_id: { kind: 'utf8', values: records.map((r) => r.runId) },
    cycle_id: { kind: 'utf8', values: records.map((r) => r.cycleId) },
    cycle: { kind: 'utf8', values: records.map((r) => r.cycle) },
    per: { kind: 'utf8', values: records.map((r) => r.per) },
    billing_source: { kind: 'utf8', values: records.map((r) => r.billingSource) },
    party_id: { kind: 'utf8', values: records.map((r) => r.partyId) },
    period_start: { kind: 'date', values: records.map((r) => r.periodStart) },
    period_end: { kind: 'date', values: records.map((r) => r.periodEnd) },
    currency: { kind: 'utf8', values: records.map((r) => r.currency) },
    event_count: { kind: 'int64', values: records.map((r) => BigInt(r.eventCount)) },
    amount_sum: { kind: 'decimal', values: records.map((r) => r.amountSum) },
    mrr_delta_sum: { kind: 'decimal', values: records.map((r) => r.mrrDeltaSum) },
    late_event_count: { kind: 'int64', values: records.map((r) => BigInt(r.lateEventCount)) },
    late_amount_sum: { kind: 'decimal', values: records.map((r) => r.lateAmountSum) },
  } as const;
}

export function assignmentColumns(a: Assignment[]) {
  return {
    event_id: { kind: 'utf8', values: a.map((x) => x.eventId) },
    record_id: { kind: 'utf8', values: a.map((x) => x.recordId) },
    run_id: { kind: 'utf8', values: a.map((x) => x.runId) },
    cycle_id: { kind: 'utf8', values: a.map((x) => x.cycleId) },
    event_date: { kind: 'date', values: a.map((x) => x.eventDate) },
    late: { kind: 'bool', values: a.map((x) => x.late) },
    original_cycle_id: { kind: 'utf8', values: a.map((x) => x.originalCycleId) },
    currency: { kind: 'utf8', values: a.map((x) => x.currency) },
    amount: { kind: 'decimal', values: a.map((x) => x.amount) },
  } as const;
}

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes one record set atomically as run=<manifest.seq>. Returns its directory. */
export async function writeRun(warehouseDir: string, manifest: RunManifest, records: CycleRecord[], assignments: Assignment[]): Promise<string> {
  const root = recordsRoot(warehouseDir);
  const tmpRoot = recordsTmpRoot(warehouseDir);
  await removeStaleTmp(tmpRoot, Date.now());
  const tmp = path.join(tmpRoot, `${manifest.runId}-${uniqueSuffix()}`);
  const final = path.join(root, `run=${String(manifest.seq).padStart(8, '0')}`);
  await fs.mkdir(tmp, { recursive: true });
  await fs.mkdir(root, { recursive: true });
  try {
    await writeSynced(path.join(tmp, 'records.parquet'), toParquet(recordColumns(records)));
    await writeSynced(path.join(tmp, 'assignments.parquet'), toParquet(assignmentColumns(assignments)));
    await writeSynced(path.join(tmp, 'run.json'), JSON.stringify(manifest, null, 2) + '\n');
    try {
      await fs.rename(tmp, final);
    } catch (e) {
      if (isErrno(e, 'ENOTEMPTY') || isErrno(e, 'EEXIST')) {
        throw new RetriableError(`another bill run committed billing record set ${final} first; nothing was written by this run — re-run bill to continue from it`, { cause: e });
      }
      throw e;
    }
    const dirFh = await fs.open(root, 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
    return final;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
