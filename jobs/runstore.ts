/**
 * The durable run store: one JSON file per run under `<state>/runs/<YYYY-MM-DD>/<runId>.json` (day the run
 * started), rewritten atomically at every state change, through the jobs' state area (warehouse/state-area.ts:
 * the warehouse's storage seam; jobs/ never touch the files themselves). Only the process that owns a
 * run writes its file, so several processes share the store safely with no server and no lock; a reader sees
 * each run's last complete state. A run left 'running' by a process that died is reported as 'abandoned'.
 *
 * Index by day (`runs/_index/<YYYY-MM-DD>.jsonl`): every write also appends the record, as one line, to the
 * index of each day the run concerns (its window's days, the folder days of its files and of its quarantined
 * records; else the day it started). `status`, `report` and window lookups read the index files of the days
 * they show, never the whole store: the last final line of a run wins, and a run whose last line still says
 * 'running' is read from its own record (the truth) — so an index line lost to a crash or a full disk only
 * costs a read. A store written before the index existed is indexed once, on the first indexed query.
 *
 * A full disk: each record file is written with room to spare (RECORD_BYTES); when the atomic rewrite fails
 * for lack of space, the final state is written in place into that room, so a run is not left 'running'.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import { isoUtc } from './clock.js';
import type { ErrorKind } from '../events/errors.js';
import { diskFullCode, asDiskFull } from '../events/io.js';
import { redact } from '../events/redact.js';
import { dayRange, daysOfWindowText, isDay, landingDayOf } from '../partitions/index.js';
import { HOST, processAlive } from '../warehouse/lock.js';
import { StateArea } from '../warehouse/state-area.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'abandoned';

export interface RunRecord {
  runId: string;
  /** 'ingest' | 'oltp' | 'completeness' | … */
  job: string;
  source: string | null;
  /** partitions.windowKey of the window, or a day for daily jobs. */
  window: string | null;
  /** What started it: 'schedule' | 'catch-up' | 'backfill' | 'manual' | 'heal' | 'demo'. */
  trigger: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  attempts: number;
  rowsIn: number;
  rowsWritten: number;
  duplicates: number;
  /** Quarantined records per reason code. */
  quarantined: Record<string, number>;
  /** Quarantined records per landing-folder day of their file (a run may span several days). */
  quarantinedByDay?: Record<string, number>;
  /**
   * Records accounting of the run's read (S1): records read = mapped (produced events) + quarantined + skipped;
   * skipped per `<object>.<skip rule>` (and `<object>.(repeated version)` for history tables).
   */
  records?: { read: number; mapped: number; quarantined: number; skipped: Record<string, number> };
  /** Input files read (relative to the landing zone). */
  files: string[];
  /** Input files skipped because they were already committed. */
  filesSkipped: number;
  commitId: string | null;
  version: number | null;
  error: string | null;
  /** What a failure calls for: retriable (a rerun may help), fatal (fix the cause first), config, unexpected (a bug). */
  errorKind?: ErrorKind | null;
  pid: number;
  host: string;
  /** Free-form extra facts (e.g. a skip reason). */
  note?: string;
  /** Files in the read folders that match no object of the source: not read. */
  unrecognised?: { path: string; reason: string }[];
  /**
   * Why a run that did not fail still loaded nothing useful (no files, unrecognised files, every record
   * quarantined). `ingest` exits 1 and `status` shows a warning when a run has any.
   */
  warnings?: string[];
  /**
   * Where the last attempt's time went (ms): its prepare (read, map, stage, convert; on a worker thread or not),
   * waiting for the warehouse's writer lock, and the publish holding it (the serial part of a commit).
   */
  timing?: RunTiming;
  /** Rows of the source's event index the last attempt's de-duplication read (CommitResult.indexRowsRead). */
  indexRowsRead?: number;
}

export interface RunTiming {
  prepareMs: number;
  lockWaitMs: number;
  publishMs: number;
}

export type RunPatch = Partial<Omit<RunRecord, 'runId' | 'startedAt' | 'pid' | 'host'>>;

export interface RunQuery {
  job?: string;
  source?: string;
  window?: string;
  status?: RunStatus;
  /** Only runs started at or after this instant (ms). */
  sinceMs?: number;
  /** Only runs concerning these UTC days (runDays), read from the day index. */
  days?: { from: string; to: string };
}

export interface RunStoreOptions {
  /** The run store's part of the jobs' state area (`<state>/runs`), written through the warehouse's storage. */
  area?: StateArea;
  /** Or a local directory (tests, tools): the same as `area: StateArea.open(dir)`. */
  dir?: string;
  clock: Clock;
  newId?: (job: string, source: string | null, nowMs: number) => string;
  isAlive?: (pid: number) => boolean;
}

function defaultId(job: string, source: string | null, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${job}${source ? '-' + source : ''}-${randomBytes(4).toString('hex')}`;
}

/** Each record file is padded to at least this size: room for its final state to be written in place on a full disk. */
export const RECORD_BYTES = 4096;
const INDEX_DIR = '_index';
const INDEX_COMPLETE = '_complete';
const STAMPED_ID = /^(\d{4})(\d{2})(\d{2})T\d{6}Z-/;

/** Days a run concerns: its window's UTC days, the folder days of its files and quarantined records, else its start day. */
export function runDays(r: Pick<RunRecord, 'window' | 'files' | 'quarantinedByDay' | 'startedAt'>): string[] {
  const days = new Set<string>();
  for (const d of windowDays(r.window)) days.add(d);
  for (const f of r.files) {
    const d = landingDayOf(f);
    if (d) days.add(d);
  }
  for (const d of Object.keys(r.quarantinedByDay ?? {})) if (isDay(d)) days.add(d);
  if (days.size === 0) days.add(r.startedAt.slice(0, 10));
  return [...days].sort();
}

/** UTC days of a window key (`START/END`, half-open) or of a bare day; [] for anything else or a span over 400 days. */
function windowDays(w: string | null): string[] {
  const days = daysOfWindowText(w);
  return days.length > 400 ? [] : days;
}

function isFinal(r: RunRecord): boolean {
  return r.status !== 'running';
}

export class RunStore {
  /** Where the store is (a directory on a local disk), for messages and people. */
  readonly dir: string;
  readonly area: StateArea;
  private readonly newId: NonNullable<RunStoreOptions['newId']>;
  private readonly isAlive: (pid: number) => boolean;
  private readonly paths = new Map<string, string>();
  private indexed = false;

  constructor(private readonly o: RunStoreOptions) {
    if (!o.area && !o.dir) throw new Error('RunStore needs an area or a dir');
    this.area = o.area ?? StateArea.open(o.dir!);
    this.dir = this.area.where();
    this.newId = o.newId ?? defaultId;
    this.isAlive = o.isAlive ?? processAlive;
  }

  private fileFor(runId: string, startedAt: string): string {
    return `${startedAt.slice(0, 10)}/${runId}.json`;
  }

  /** Where a run's record is (a path people can open). */
  recordPath(r: Pick<RunRecord, 'runId' | 'startedAt'>): string {
    return this.area.where(this.fileFor(r.runId, r.startedAt));
  }

  /** Records a new run as 'running' and returns it. */
  async start(init: { job: string; source?: string | null; window?: string | null; trigger: string }): Promise<RunRecord> {
    const now = this.o.clock.now();
    const rec: RunRecord = {
      runId: this.newId(init.job, init.source ?? null, now),
      job: init.job,
      source: init.source ?? null,
      window: init.window ?? null,
      trigger: init.trigger,
      status: 'running',
      startedAt: isoUtc(now),
      endedAt: null,
      attempts: 0,
      rowsIn: 0,
      rowsWritten: 0,
      duplicates: 0,
      quarantined: {},
      files: [],
      filesSkipped: 0,
      commitId: null,
      version: null,
      error: null,
      pid: process.pid,
      host: HOST,
    };
    if (!this.indexed && (await this.area.exists(`${INDEX_DIR}/${INDEX_COMPLETE}`))) this.indexed = true;
    if (!this.indexed && (await this.startDays()).length === 0) {
      // a new store: nothing to index from before, so the index is complete from its first run
      await this.area.writeDurable(`${INDEX_DIR}/${INDEX_COMPLETE}`, `index of ${this.dir} complete since ${rec.startedAt}\n`).catch((e: unknown) => {
        throw asDiskFull(e, this.area.where(INDEX_DIR), 'the run was not started');
      });
      this.indexed = true;
    }
    await this.write(rec, true);
    return rec;
  }

  /** Applies a patch to a run this process owns and persists it. */
  async update(rec: RunRecord, patch: RunPatch): Promise<RunRecord> {
    const next = { ...rec, ...patch };
    await this.write(next);
    return next;
  }

  /** Ends a run with a final status (endedAt = now). */
  finish(rec: RunRecord, status: Exclude<RunStatus, 'running' | 'abandoned'>, patch: RunPatch = {}): Promise<RunRecord> {
    return this.update(rec, { ...patch, status, endedAt: isoUtc(this.o.clock.now()) });
  }

  private async write(rec: RunRecord, first = false): Promise<void> {
    const file = this.paths.get(rec.runId) ?? this.fileFor(rec.runId, rec.startedAt);
    this.paths.set(rec.runId, file);
    // a run record is a file people read: errors quoting a connection URL are redacted (the index lines too)
    const json = redact(JSON.stringify(rec));
    try {
      await this.area.writeDurable(file, json.padEnd(RECORD_BYTES - 1, ' ') + '\n');
    } catch (e) {
      if (first || diskFullCode(e) === undefined) throw asDiskFull(e, this.area.where(file), first ? 'the run was not started' : undefined);
      await this.writeInPlace(file, rec, e);
    }
    try {
      await this.index(rec);
    } catch (e) {
      // The record above is the truth; a missing index line only makes readers open the record (see the module comment).
      if (first || diskFullCode(e) === undefined) throw asDiskFull(e, this.area.where(INDEX_DIR), first ? 'the run was not started' : undefined);
    }
  }

  /** Disk full: the run's state written over its own record, within the room it already has (files list dropped if needed). */
  private async writeInPlace(file: string, rec: RunRecord, cause: unknown): Promise<void> {
    const room = (await this.area.size(file)) - 1;
    let json = redact(JSON.stringify(rec));
    if (json.length > room) {
      const note = `${rec.note ? rec.note + '; ' : ''}files list dropped: the disk was full`;
      const slim = { ...rec, files: [], note };
      const over = JSON.stringify(slim).length - room;
      json = redact(JSON.stringify(over > 0 ? { ...slim, error: (rec.error ?? '').slice(0, Math.max(0, (rec.error ?? '').length - over - 3)) + '...' } : slim));
    }
    if (Buffer.byteLength(json) > room) throw asDiskFull(cause, this.area.where(file), `run ${rec.runId} could not be recorded as ${rec.status}`);
    await this.area.writeInPlace(file, json.padEnd(room, ' ') + '\n');
  }

  private async index(rec: RunRecord): Promise<void> {
    const line = redact(JSON.stringify(rec));
    for (const day of runDays(rec)) await this.area.appendLine(`${INDEX_DIR}/${day}.jsonl`, line);
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const m = STAMPED_ID.exec(runId);
    if (m) {
      const rec = await this.area.readJson<RunRecord>(`${m[1]}-${m[2]}-${m[3]}/${runId}.json`);
      if (rec) return this.effective(rec);
    }
    return (await this.list()).find((r) => r.runId === runId);
  }

  /**
   * Runs matching `q`, oldest first; a 'running' run whose process is gone is returned as 'abandoned'. With
   * `days` (or a parsable `window`), only the index files of those days are read.
   */
  async list(q: RunQuery = {}): Promise<RunRecord[]> {
    const days = q.days ? dayRange(q.days.from, q.days.to) : q.window ? windowDays(q.window) : [];
    const all = days.length > 0 ? await this.fromIndex(days) : await this.scan(q.sinceMs);
    const out = all.filter((r) => {
      if (q.job && r.job !== q.job) return false;
      if (q.source && r.source !== q.source) return false;
      if (q.window && r.window !== q.window) return false;
      if (q.status && r.status !== q.status) return false;
      if (q.sinceMs !== undefined && Date.parse(r.startedAt) < q.sinceMs) return false;
      return true;
    });
    return out.sort(byStart);
  }

  /** The `n` most recently started runs, oldest first, reading only the newest records. */
  async recent(n: number): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for (const day of (await this.startDays()).reverse()) {
      let names = (await this.area.list(day)).filter((x) => x.endsWith('.json'));
      if (names.every((x) => STAMPED_ID.test(x))) {
        names.sort().reverse();
        // every name stamped at or after the n-th newest (same-second starts are ordered by their record)
        const cut = names[Math.min(names.length, n - out.length) - 1]?.slice(0, 16);
        names = names.filter((x) => cut !== undefined && x.slice(0, 16) >= cut);
      }
      for (const x of names) {
        const rec = await this.area.readJson<RunRecord>(`${day}/${x}`);
        if (rec) out.push(this.effective(rec));
      }
      if (out.length >= n) break;
    }
    return out.sort(byStart).slice(-n);
  }

  private async startDays(): Promise<string[]> {
    return (await this.area.list()).filter((d) => isDay(d)).sort();
  }

  /** Every record (started on or after `sinceMs`'s day), read from the record files. */
  private async scan(sinceMs?: number): Promise<RunRecord[]> {
    const sinceDay = sinceMs === undefined ? '' : isoUtc(sinceMs).slice(0, 10);
    const out: RunRecord[] = [];
    for (const day of await this.startDays()) {
      if (day < sinceDay) continue;
      const names = (await this.area.list(day)).filter((n) => n.endsWith('.json'));
      for (const n of names) {
        const rec = await this.area.readJson<RunRecord>(`${day}/${n}`);
        if (rec) out.push(this.effective(rec));
      }
    }
    return out;
  }

  /** Runs concerning `days`, from the day index (built once for a store written before it existed). */
  private async fromIndex(days: readonly string[]): Promise<RunRecord[]> {
    await this.ensureIndex();
    const byId = new Map<string, RunRecord>();
    for (const day of days) {
      for (const r of parseIndexLines(await this.area.readText(`${INDEX_DIR}/${day}.jsonl`))) {
        const prev = byId.get(r.runId);
        if (!prev || isFinal(r) || !isFinal(prev)) byId.set(r.runId, r);
      }
    }
    const out: RunRecord[] = [];
    for (const r of byId.values()) {
      const truth = isFinal(r) ? r : ((await this.area.readJson<RunRecord>(this.fileFor(r.runId, r.startedAt))) ?? r);
      out.push(this.effective(truth));
    }
    return out;
  }

  private async ensureIndex(): Promise<void> {
    const marker = `${INDEX_DIR}/${INDEX_COMPLETE}`;
    if (this.indexed || (await this.area.exists(marker))) {
      this.indexed = true;
      return;
    }
    for (const rec of await this.scan()) await this.index(rec);
    await this.area.writeDurable(marker, `index of ${this.dir} complete since ${isoUtc(this.o.clock.now())}\n`);
    this.indexed = true;
  }

  private effective(r: RunRecord): RunRecord {
    if (r.status === 'running' && r.host === HOST && r.pid !== process.pid && !this.isAlive(r.pid)) {
      return { ...r, status: 'abandoned', error: r.error ?? `process ${r.pid} ended without finishing the run` };
    }
    return r;
  }
}

function byStart(a: RunRecord, b: RunRecord): number {
  return a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId);
}

/** Index lines of a day; a torn line (a crash or a full disk mid-append) is skipped: the record files stay the truth. */
function parseIndexLines(text: string | null): RunRecord[] {
  if (text === null) return [];
  const out: RunRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let r: RunRecord;
    try {
      r = JSON.parse(line) as RunRecord;
    } catch (e) {
      void e; // torn line: this run is read from its record when no complete line of it remains
      continue;
    }
    out.push(r);
  }
  return out;
}
