/**
 * One ingest run = one (source, window): the unit of retry. Takes the (source, window) lock, reads the window's
 * landing files plus lookback (skipping inputs already committed), enriches events with dimension attributes,
 * commits through the warehouse and records the run. Idempotent: re-running a window gives the same table.
 * When new rows land in a day that already has `_SUCCESS`, the marker is withdrawn (the checker re-verifies).
 */
import { ConfigError, errorKind, messageWithCauses, RetriableError, type RecordError } from '../events/errors.js';
import { dayOf, HOUR_MS, landingDayOf, lastClosedWindow, windowKey, type Window } from '../partitions/index.js';
import { isoUtc } from './clock.js';
import type { JobDeps } from './deps.js';
import type { CommitResult, InputFile, PrepareScratch, SourceBatch, TableWriteRequest } from './ports.js';
import type { PrepareExecutor } from './prepare-pool.js';
import type { MrrHook } from './prepare.js';
import type { Staged } from '../warehouse/index.js';
import { quarantineFromError, type BillingEvent, type QuarantineEntry } from '../events/model.js';
import { withRetry, type RetryPolicy } from './retry.js';
import type { RunRecord, RunTiming } from './runstore.js';

export interface IngestRequest {
  source: string;
  /** The span read (its landing folders, plus lookback). */
  window: Window;
  /**
   * The aligned windows this run loads (default [window]). A backfill loads a day's windows in one run (one
   * commit): it takes every window's lock, and the warehouse records each window as loaded.
   */
  covers?: Window[];
  /** Override of settings.lookbackHours (a backfill reads each window's own folders: 0). */
  lookbackHours?: number;
  trigger: string;
  /** Skip (status 'skipped') when the window is already loaded — backfill resume. Checked under the lock. */
  skipIfLoaded?: boolean;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Run the read-map-stage prepare there (a backfill's worker pool) instead of in this thread. */
  prepareIn?: PrepareExecutor;
}

export function lockNameFor(source: string, w: Window): string {
  return `ingest:${source}:${windowKey(w)}`;
}

/** The lock of a source's MRR state: one run of the source at a time plans and commits it. */
export function mrrLockName(source: string): string {
  return `mrr:${source}`;
}

/** How long a run waits for its source's MRR lock (another run of the source holds it for one attempt), and how often it looks. */
export const MRR_LOCK_WAIT = { timeoutMs: 15 * 60_000, pollMs: 100 };

/** The window an ingest without --window loads: the one that just closed. */
export function defaultWindow(nowMs: number): Window {
  return lastClosedWindow(nowMs);
}

interface AttemptOutcome {
  skipped?: string;
  res?: CommitResult;
  unrecognised?: { path: string; reason: string }[];
  warnings?: string[];
  inputs: InputFile[];
  filesSkipped: number;
  quarantined: Record<string, number>;
  quarantinedByDay: Record<string, number>;
  records?: RunRecord['records'];
  withdrawn: string[];
  timing?: RunTiming;
}

/** Runs one ingest with retries; never throws for a failed run (the record says 'failed'), only for bad requests. */
export async function runIngest(deps: JobDeps, req: IngestRequest): Promise<RunRecord> {
  if (!deps.sourceNames.includes(req.source)) {
    throw new ConfigError(`unknown source "${req.source}"`, [`configured sources: ${deps.sourceNames.join(', ') || '(none)'}`]);
  }
  const key = windowKey(req.window);
  let rec = await deps.runs.start({ job: 'ingest', source: req.source, window: key, trigger: req.trigger });
  const log = deps.log.child({ runId: rec.runId, source: req.source, window: key });
  log.info('run.start', { trigger: req.trigger });
  try {
    const out = await withRetry(
      async (attempt) => {
        rec = await deps.runs.update(rec, { attempts: attempt });
        const names = (req.covers ?? [req.window]).map((w) => lockNameFor(req.source, w));
        // a source stating MRR updates its MRR state in the same run: one run of the source at a time does that,
        // the others wait for it (bounded) rather than fail and retry after a backoff. A prepare on another core
        // takes the lock only for its MRR plan and the publish (attemptOnce), so runs of one source read in
        // parallel; in this thread the plan runs inside the commit, so the lock is taken first, as the writer's is.
        const owner = `${req.trigger} run ${rec.runId}`;
        const mrr = deps.source(req.source).statesMrr && !preparesRemotely(deps, req) ? [mrrLockName(req.source)] : [];
        return deps.locks.withLocks([...names, ...mrr], () => attemptOnce(deps, req, rec.runId, owner), owner, { names: mrr, ...MRR_LOCK_WAIT });
      },
      req.retry ?? deps.settings.retry,
      {
        clock: deps.clock,
        signal: req.signal,
        onRetry: (attempt, e, delayMs) => log.warn('run.retry', { attempt, error: messageWithCauses(e), retryIn: `${Math.round(delayMs / 1000)}s` }),
      },
    );
    const patch = {
      files: out.inputs.map((i) => i.path),
      filesSkipped: out.filesSkipped,
      quarantined: out.quarantined,
      quarantinedByDay: out.quarantinedByDay,
      ...(out.records ? { records: out.records } : {}),
      rowsIn: out.res?.rowsIn ?? 0,
      rowsWritten: out.res?.rowsWritten ?? 0,
      duplicates: (out.res?.duplicatesInBatch ?? 0) + (out.res?.duplicatesExisting ?? 0),
      commitId: out.res?.commitId ?? null,
      version: out.res?.version ?? null,
      ...(out.unrecognised?.length ? { unrecognised: out.unrecognised } : {}),
      ...(out.warnings?.length ? { warnings: out.warnings } : {}),
      ...(out.timing ? { timing: out.timing } : {}),
      ...(out.res?.indexRowsRead !== undefined ? { indexRowsRead: out.res.indexRowsRead } : {}),
      note: out.skipped ?? (out.withdrawn.length ? `withdrew _SUCCESS of ${out.withdrawn.join(', ')}` : undefined),
    };
    rec = await deps.runs.finish(rec, out.skipped ? 'skipped' : 'succeeded', patch);
    for (const w of out.warnings ?? []) log.warn('run.warning', { warning: w });
    log.info(out.skipped ? 'run.skipped' : 'run.succeeded', {
      reason: out.skipped,
      recordsRead: rec.records?.read,
      rowsIn: rec.rowsIn,
      rowsWritten: rec.rowsWritten,
      duplicates: rec.duplicates,
      quarantined: sum(rec.quarantined),
      skipped: rec.records ? sum(rec.records.skipped) : undefined,
      files: rec.files.length,
      filesSkipped: rec.filesSkipped,
      commit: rec.commitId,
      withdrewSuccess: out.withdrawn.length ? out.withdrawn : undefined,
    });
  } catch (e) {
    rec = await deps.runs.finish(rec, 'failed', failure(e));
    log.error('run.failed', { attempts: rec.attempts, errorKind: rec.errorKind, error: rec.error });
  }
  return rec;
}

/** A failed run's error (with its causes) and kind: what the operator should do next. */
function failure(e: unknown): { error: string; errorKind: RunRecord['errorKind'] } {
  return { error: messageWithCauses(e), errorKind: errorKind(e) };
}

/** Whether the attempt's read-map-stage runs on another core (a backfill's pool, a source that can be re-opened there). */
function preparesRemotely(deps: JobDeps, req: IngestRequest): boolean {
  const wh = deps.warehouse;
  return Boolean(req.prepareIn && deps.source(req.source).connector && wh.prepareScratch && wh.publishStaged && wh.discardScratch);
}

async function attemptOnce(deps: JobDeps, req: IngestRequest, runId: string, owner: string): Promise<AttemptOutcome> {
  const wh = deps.warehouse;
  const covers = req.covers ?? [req.window];
  const loaded = req.skipIfLoaded ? await wh.loadedWindows(req.source, { from: dayOf(covers[0]!.startMs), to: dayOf(covers.at(-1)!.endMs - 1) }) : undefined;
  if (loaded && covers.every((w) => loaded.has(windowKey(w)))) {
    return { skipped: 'window already loaded', inputs: [], filesSkipped: 0, quarantined: {}, quarantinedByDay: {}, withdrawn: [] };
  }
  const src = deps.source(req.source);
  const lookbackHours = req.lookbackHours ?? deps.settings.lookbackHours;
  if (src.pull) {
    // API source: list the windows from the vendor and land the pages first; the read below loads them.
    const log = deps.log.child({ runId, source: req.source });
    const pulled = await src.pull(covers, {
      lookbackHours,
      nowMs: deps.clock.now(),
      ...(req.signal ? { signal: req.signal } : {}),
      log: (event, fields) => (event === 'api.retry' ? log.warn(event, fields) : log.debug(event, fields)),
    });
    log.info('pull.done', { pages: pulled.pages, records: pulled.records, requests: pulled.requests, notes: pulled.notes.length ? pulled.notes : undefined });
  }
  // only the committed inputs of the landing days the read reaches (the window and its lookback), not the source's history
  const committed = await wh.committedInputs(req.source, { from: dayOf(req.window.startMs - lookbackHours * HOUR_MS), to: dayOf(req.window.endMs - 1) });
  // On another core when the backfill gave a pool and the source can be re-opened there; the MRR plan of a source
  // stating MRR (durable state) and the publish stay in this thread.
  const remote = preparesRemotely(deps, req) ? req.prepareIn! : null;
  let scratch: PrepareScratch | null = null;
  const mrrTables: TableWriteRequest[] = [];
  // the source's MRR lock on the worker path: from the MRR plan (the state it reads) to the end of the publish
  const mrrLock = remote && src.statesMrr ? deps.locks.deferred(mrrLockName(req.source), { ...MRR_LOCK_WAIT, owner }) : null;
  let failed = false;
  try {
    let batch: SourceBatch;
    let staged: Staged | null = null;
    let remoteMs = 0;
    if (remote) {
      const dims = await deps.dims.get();
      scratch = await wh.prepareScratch!();
      const planErrors: QuarantineEntry[] = [];
      const hook: MrrHook = async (observations) => {
        await mrrLock!.take();
        const plan = await deps.mrr.plan(req.source, observations, runId);
        planErrors.push(...plan.errors.map((e) => mrrQuarantine(req.source, runId, e)));
        addTableWrites(mrrTables, plan.tables);
        return plan.events;
      };
      const t0 = performance.now();
      const p = await remote.run({
        connector: src.connector!,
        source: req.source,
        window: req.window,
        lookbackHours,
        nowMs: deps.clock.now(),
        committed: [...committed],
        runId,
        dims: dims.snapshots,
        scratch: scratch.path,
        spillRows: scratch.spillRows,
        spillBytes: scratch.spillBytes,
      }, src.statesMrr ? hook : undefined);
      batch = { ...p, quarantine: [...p.quarantine, ...planErrors], events: noEvents() };
      staged = p.staged;
      remoteMs = performance.now() - t0;
    } else batch = await src.read(req.window, { lookbackHours, nowMs: deps.clock.now(), committed, runId });
    const out = await loadBatch(deps, req, runId, batch, scratch && staged ? { scratch, staged, tables: mrrTables } : null);
    const t = out.res?.timing;
    return t ? { ...out, timing: { prepareMs: remoteMs + t.prepareMs, lockWaitMs: t.lockWaitMs, publishMs: t.publishMs } } : out;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // the publish removes its scratch; a run that loads nothing, or fails before publishing, leaves it here
    if (scratch) await wh.discardScratch!(scratch);
    // a lease lost while held fails the run (when nothing else did first)
    if (mrrLock) await mrrLock.release().catch((e: unknown) => { if (!failed) throw e; });
  }
}

async function* noEvents(): AsyncGenerator<BillingEvent> {}

/**
 * Adds the state writes of one chunk of the MRR plan (a bucket of subscriptions) to the run's: one write per
 * partition, its rows appended. Every chunk must have read the same partition version (the source's MRR lock is
 * held); a different one means the state changed under the run: retriable, nothing committed.
 */
function addTableWrites(into: TableWriteRequest[], writes: readonly TableWriteRequest[]): void {
  for (const w of writes) {
    const cur = into.find((x) => x.table === w.table && x.partition === w.partition);
    if (!cur) into.push({ ...w, rows: [...w.rows] });
    else if (cur.basis !== w.basis || cur.mode !== w.mode) throw new RetriableError(`${w.table}/${w.partition} changed while this run planned it (version ${cur.basis ?? 'none'}, then ${w.basis ?? 'none'}); nothing was committed — run it again`);
    else for (const r of w.rows) cur.rows.push(r);
  }
}

/** The rest of an attempt once the batch is read (in this thread) or read and staged (by a prepare worker). */
async function loadBatch(
  deps: JobDeps,
  req: IngestRequest,
  runId: string,
  batch: SourceBatch,
  prepared: { scratch: PrepareScratch; staged: Staged; tables: TableWriteRequest[] } | null,
): Promise<AttemptOutcome> {
  const wh = deps.warehouse;
  const covers = req.covers ?? [req.window];
  for (const p of batch.pending ?? []) deps.log.info('file.pending', { runId, source: req.source, file: p.path, reason: p.reason });
  for (const u of batch.unrecognised ?? []) deps.log.warn('file.unrecognised', { runId, source: req.source, file: u.path, reason: u.reason });
  const unrecognised = batch.unrecognised ?? [];
  const warnings: string[] = [];
  if (unrecognised.length) {
    const shown = unrecognised.slice(0, 5).map((u) => `${u.path} (${u.reason})`);
    warnings.push(`${unrecognised.length} file(s) match no object of source "${req.source}" and were not read: ${shown.join('; ')}${unrecognised.length > 5 ? `; … ${unrecognised.length - 5} more` : ''}`);
  }
  if (batch.inputs.length === 0 && batch.skipped.length === 0) {
    // Nothing to load: committing would mark the windows loaded, and a corrected rerun (right --landing, the
    // files delivered) would then skip them. Say so instead, and leave the windows unloaded.
    const span = `${windowKey(req.window)}${(req.lookbackHours ?? deps.settings.lookbackHours) > 0 ? ` plus ${req.lookbackHours ?? deps.settings.lookbackHours} h lookback` : ''}`;
    const folders = batch.folders;
    const pending = batch.pending ?? [];
    warnings.push(
      pending.length
        ? `no ready files for ${span}: ${pending.length} file(s) not ready yet (${pending[0]!.path}: ${pending[0]!.reason}); the windows stay unloaded until they are`
        : folders !== undefined && folders.length === 0
          ? `no delivery folder for ${span} under the landing zone's ${req.source}/ — windows select delivery folders (<landing>/${req.source}/YYYY-MM-DD/HH/), not event dates; check --landing and the window; nothing was marked loaded`
          : `no data files in ${folders?.length ? folders.join(', ') : `the delivery folders of ${span}`}; nothing was marked loaded`,
    );
    return { skipped: undefined, inputs: [], filesSkipped: 0, quarantined: {}, quarantinedByDay: {}, withdrawn: [], records: { read: 0, mapped: 0, quarantined: 0, skipped: {} }, unrecognised, warnings };
  }
  const dims = await deps.dims.get();
  if (dims.empty) noSnapshot(deps, req.source, runId, dims);
  const marked = await wh.markedDays();
  const mrr = prepared ? { events: noEvents(), tables: prepared.tables } : withMrrDeltas(deps, req.source, runId, batch);
  // the MRR state write is filled once the batch is read, and committed in the same commit as the delta events
  const res = prepared
    ? await wh.publishStaged!({ runId, source: req.source, windows: covers, inputs: batch.inputs, quarantine: batch.quarantine, tables: mrr.tables }, prepared.scratch, prepared.staged)
    : await wh.commitIngest({ runId, source: req.source, windows: covers, inputs: batch.inputs, events: dims.enrichAll(mrr.events), quarantine: batch.quarantine, tables: mrr.tables });
  const recordsRead = batch.stats?.records ?? res.rowsIn + batch.quarantine.length;
  const useful = batch.stats ? batch.stats.mapped + sum(batch.stats.skipped) : res.rowsIn;
  if (recordsRead > 0 && useful === 0) warnings.push(`every one of the ${recordsRead} record(s) read was quarantined (${[...new Set(batch.quarantine.map((q) => q.reason))].join(', ')}); nothing was loaded — see the quarantine table`);
  const quarantined: Record<string, number> = {};
  const quarantinedByDay: Record<string, number> = {};
  const runDay = dayOf(req.window.startMs);
  for (const q of batch.quarantine) {
    quarantined[q.reason] = (quarantined[q.reason] ?? 0) + 1;
    const day = landingDayOf(q.sourceFile) ?? runDay;
    quarantinedByDay[day] = (quarantinedByDay[day] ?? 0) + 1;
  }
  const withdrawn: string[] = [];
  if (res.rowsWritten > 0) {
    // The warehouse drops a day's _SUCCESS when its data changes; clear it explicitly too, and record it.
    for (const day of res.partitions.filter((d) => marked.has(d))) {
      await wh.clearSuccess(day);
      withdrawn.push(day);
    }
  }
  const st = batch.stats;
  const records = st ? { read: st.records, mapped: st.mapped, quarantined: st.quarantined, skipped: { ...st.skipped } } : undefined;
  return { res, inputs: batch.inputs, filesSkipped: batch.skipped.length, quarantined, quarantinedByDay, ...(records ? { records } : {}), withdrawn, unrecognised, warnings };
}

/**
 * The batch's events followed by the mrr_delta events its MRR observations imply (events/mrr.ts against the
 * source's MRR state table): planned once the batch is read, refusals quarantined with their file and line.
 * `tables` receives the state write once the events end; the commit stores it with them.
 */
function withMrrDeltas(deps: JobDeps, source: string, runId: string, batch: SourceBatch): { events: AsyncIterable<BillingEvent>; tables: TableWriteRequest[] } {
  const tables: TableWriteRequest[] = [];
  async function* events(): AsyncGenerator<BillingEvent> {
    yield* batch.events;
    if (!batch.mrr?.length) return;
    const plan = await deps.mrr.plan(source, batch.mrr, runId);
    for (const e of plan.errors) batch.quarantine.push(mrrQuarantine(source, runId, e));
    tables.push(...plan.tables);
    yield* plan.events;
  }
  return { events: events(), tables };
}

/** A refused MRR observation, quarantined with its file and line. */
function mrrQuarantine(source: string, runId: string, e: RecordError): QuarantineEntry {
  const loc = e.location;
  return quarantineFromError(e, { billingSource: source, sourceFile: loc?.file ?? '', sourcePosition: loc?.line ?? loc?.position ?? 0, rawRecord: JSON.stringify({ mrr: e.value }), ingestRunId: runId });
}

const warnedNoSnapshot = new WeakSet<object>();

/** No dimension snapshot yet: every row would be MISSING_*. Refuse (enrichment.missingSnapshot: refuse) or warn once per loader. */
function noSnapshot(deps: JobDeps, source: string, runId: string, dims: object): void {
  const what = 'no dimension snapshot is loaded yet, so every row gets dim_status MISSING_ACCOUNT / MISSING_BOTH and no account or product attributes';
  if (deps.settings.missingSnapshot === 'refuse') {
    throw new ConfigError(`${what}; refused (enrichment.missingSnapshot: refuse)`, ['load one first: billing-mart ingest --source oltp', 'or set enrichment.missingSnapshot: warn and repair later with billing-mart re-enrich --from D --to D']);
  }
  if (warnedNoSnapshot.has(dims)) return;
  warnedNoSnapshot.add(dims);
  deps.log.warn('dims.missing', { runId, source, note: `${what}; load one (billing-mart ingest --source oltp), then repair the loaded days with billing-mart re-enrich --from D --to D` });
}

function sum(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

/** The daily OLTP job: reads accounts/products as one snapshot and stores it as the day's dimension snapshot. */
export async function runOltp(deps: JobDeps, o: { trigger: string; snapshotDate?: string; retry?: RetryPolicy }): Promise<RunRecord> {
  const day = o.snapshotDate ?? dayOf(deps.clock.now());
  let rec = await deps.runs.start({ job: 'oltp', source: '_oltp', window: day, trigger: o.trigger });
  const log = deps.log.child({ runId: rec.runId, job: 'oltp', snapshotDate: day });
  try {
    await withRetry(
      async (attempt) => {
        rec = await deps.runs.update(rec, { attempts: attempt });
        await deps.locks.withLock(`oltp:${day}`, async () => {
          const snap = await deps.oltp.read();
          await deps.warehouse.writeDimensionSnapshot('dim_account', day, snap.accounts);
          await deps.warehouse.writeDimensionSnapshot('dim_product', day, snap.products);
          rec = await deps.runs.update(rec, { rowsIn: snap.accounts.length + snap.products.length, rowsWritten: snap.accounts.length + snap.products.length, files: [snap.origin] });
        });
      },
      o.retry ?? deps.settings.retry,
      { clock: deps.clock, onRetry: (attempt, e, delayMs) => log.warn('run.retry', { attempt, error: messageWithCauses(e), retryIn: `${Math.round(delayMs / 1000)}s` }) },
    );
    deps.dims.invalidate();
    rec = await deps.runs.finish(rec, 'succeeded');
    log.info('run.succeeded', { rows: rec.rowsWritten, at: isoUtc(deps.clock.now()) });
  } catch (e) {
    rec = await deps.runs.finish(rec, 'failed', failure(e));
    log.error('run.failed', { attempts: rec.attempts, errorKind: rec.errorKind, error: rec.error });
  }
  return rec;
}
