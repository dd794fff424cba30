/**
 * The bill job: one bill run on the same dependencies as ingest. The time is the clock's; the run is recorded
 * in the run store (`runs list` shows it: job `bill`, window = the --through day); it holds the `bill` lock
 * (warehouse/lock.ts leases, the same LockManager as ingest), so two bill runs never plan from the same record sets; a failure is recorded with its
 * kind. The work itself is jobs/billing/bill.ts (one warehouse commit); the planner is billing/ (pure).
 * `--dry-run` reads and plans only: no lock, no run record, nothing written.
 */
import { ConfigError, errorKind, messageWithCauses } from '../events/errors.js';
import { addDays, assertDay, dayOf } from '../partitions/index.js';
import type { FactTable } from '../warehouse/index.js';
import { CYCLES, PARTIES } from '../billing/cycles.js';
import { runBilling, type BillResult } from './billing/bill.js';
import type { JobDeps } from './deps.js';
import type { RunRecord } from './runstore.js';

export interface BillRequest {
  cycle?: string;
  per?: string;
  /** Last day (inclusive, UTC) whose cycles may close; default yesterday by the clock. */
  through?: string;
  from?: string;
  dryRun?: boolean;
  changeLogic?: boolean;
  trigger: string;
}

export interface BillOutcome {
  /** The run record (null for a dry run, which records nothing). */
  record: RunRecord | null;
  /** The bill's result (absent when the run failed). */
  result?: BillResult;
}

/** The lock every bill run holds (one bill at a time per state directory). */
export const BILL_LOCK = 'bill';

function day(flag: string, v: string): string {
  try {
    return assertDay(v);
  } catch (e) {
    throw new ConfigError(`${flag}: ${(e as Error).message}`, [], { cause: e });
  }
}

/** Checks what needs no table (flag values, days): a bad request is refused before any run is recorded. */
function validate(req: BillRequest, nowMs: number): string {
  if (req.cycle !== undefined && !(CYCLES as readonly string[]).includes(req.cycle)) throw new ConfigError(`--cycle must be one of ${CYCLES.join(', ')} (got ${JSON.stringify(req.cycle)})`);
  if (req.per !== undefined && !(PARTIES as readonly string[]).includes(req.per)) throw new ConfigError(`--per must be one of ${PARTIES.join(', ')} (got ${JSON.stringify(req.per)})`);
  if (req.from !== undefined) day('--from', req.from);
  const today = dayOf(nowMs);
  const through = req.through === undefined ? addDays(today, -1) : day('--through', req.through);
  if (through >= today) throw new ConfigError(`--through ${through} is not over yet (today is ${today} UTC); cycles can only close on past days — use --through ${addDays(today, -1)} or earlier`);
  return through;
}

/**
 * Runs one bill. A request refused before reading the table (bad flag values) throws ConfigError and records
 * nothing; otherwise the run is recorded, and a failure is recorded too (ConfigError — e.g. a change of the
 * billing logic without --change-logic — is rethrown so the CLI exits 2; other failures return the record).
 */
export async function runBill(deps: Pick<JobDeps, 'clock' | 'log' | 'runs' | 'locks'>, table: FactTable, req: BillRequest): Promise<BillOutcome> {
  const now = deps.clock.now();
  const through = validate(req, now);
  const opts = { table, cycle: req.cycle, per: req.per, through, from: req.from, changeLogic: req.changeLogic, now };
  if (req.dryRun) return { record: null, result: await runBilling({ ...opts, dryRun: true, runId: '(dry run)' }) };
  let rec = await deps.runs.start({ job: 'bill', source: null, window: through, trigger: req.trigger });
  const log = deps.log.child({ runId: rec.runId, job: 'bill', through });
  log.info('run.start', { trigger: req.trigger });
  try {
    const result = await deps.locks.withLock(BILL_LOCK, () => runBilling({ ...opts, runId: rec.runId }), `bill run ${rec.runId}`);
    const m = result.manifest;
    const note = result.written ? `record set ${m!.seq} (${result.dir}): ${m!.periods.length} period(s) closed, billed through ${result.billedThrough}` : (result.notes.find((n) => /nothing written|no events/.test(n)) ?? 'nothing to bill');
    rec = await deps.runs.finish(rec, result.written ? 'succeeded' : 'skipped', {
      rowsIn: m?.counts.assignments ?? 0,
      rowsWritten: result.written ? (m!.counts.records + m!.counts.assignments) : 0,
      commitId: result.commitId ?? null,
      version: result.version ?? null,
      note: result.unverifiedDays.length ? `${note}; ${result.unverifiedDays.length} day(s) not verified complete` : note,
    });
    log.info(result.written ? 'run.succeeded' : 'run.skipped', { note, version: result.version });
    return { record: rec, result };
  } catch (e) {
    rec = await deps.runs.finish(rec, 'failed', { error: messageWithCauses(e), errorKind: errorKind(e) });
    // a refused request (e.g. a change of logic without --change-logic) is the caller's to report, not an operational error
    if (e instanceof ConfigError) {
      log.info('run.refused', { error: rec.error });
      throw e;
    }
    log.error('run.failed', { errorKind: rec.errorKind, error: rec.error });
    return { record: rec };
  }
}
