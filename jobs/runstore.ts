/**
 * The durable run store: one JSON file per run under `<state>/runs/<YYYY-MM-DD>/<runId>.json` (day the run
 * started), rewritten atomically (temp + fsync + rename) at every state change. Only the process that owns a
 * run writes its file, so several processes share the store safely with no server and no lock; a reader sees
 * each run's last complete state. A run left 'running' by a process that died is reported as 'abandoned'.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from './clock.js';
import { isoUtc } from './clock.js';
import type { ErrorKind } from '../events/errors.js';
import { redact } from '../events/redact.js';
import { HOST, pidAlive, readJson, writeFileAtomic } from './fsutil.js';

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
}

export type RunPatch = Partial<Omit<RunRecord, 'runId' | 'startedAt' | 'pid' | 'host'>>;

export interface RunQuery {
  job?: string;
  source?: string;
  window?: string;
  status?: RunStatus;
  /** Only runs started at or after this instant (ms). */
  sinceMs?: number;
}

export interface RunStoreOptions {
  dir: string;
  clock: Clock;
  newId?: (job: string, source: string | null, nowMs: number) => string;
  isAlive?: (pid: number) => boolean;
}

function defaultId(job: string, source: string | null, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${job}${source ? '-' + source : ''}-${randomBytes(4).toString('hex')}`;
}

export class RunStore {
  readonly dir: string;
  private readonly newId: NonNullable<RunStoreOptions['newId']>;
  private readonly isAlive: (pid: number) => boolean;
  private readonly paths = new Map<string, string>();

  constructor(private readonly o: RunStoreOptions) {
    this.dir = o.dir;
    this.newId = o.newId ?? defaultId;
    this.isAlive = o.isAlive ?? pidAlive;
  }

  private fileFor(runId: string, startedAt: string): string {
    return path.join(this.dir, startedAt.slice(0, 10), `${runId}.json`);
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
    await this.write(rec);
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

  private async write(rec: RunRecord): Promise<void> {
    const file = this.paths.get(rec.runId) ?? this.fileFor(rec.runId, rec.startedAt);
    this.paths.set(rec.runId, file);
    // a run record is a file people read: errors quoting a connection URL are redacted
    await writeFileAtomic(file, redact(JSON.stringify(rec)) + '\n');
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const all = await this.list();
    return all.find((r) => r.runId === runId);
  }

  /** Runs matching `q`, oldest first; a 'running' run whose process is gone is returned as 'abandoned'. */
  async list(q: RunQuery = {}): Promise<RunRecord[]> {
    let days: string[];
    try {
      days = (await fs.readdir(this.dir)).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const sinceDay = q.sinceMs === undefined ? '' : isoUtc(q.sinceMs).slice(0, 10);
    const out: RunRecord[] = [];
    for (const day of days.sort()) {
      if (day < sinceDay) continue;
      const names = (await fs.readdir(path.join(this.dir, day))).filter((n) => n.endsWith('.json'));
      for (const n of names) {
        const rec = await readJson<RunRecord>(path.join(this.dir, day, n));
        if (!rec) continue;
        const r = this.effective(rec);
        if (q.job && r.job !== q.job) continue;
        if (q.source && r.source !== q.source) continue;
        if (q.window && r.window !== q.window) continue;
        if (q.status && r.status !== q.status) continue;
        if (q.sinceMs !== undefined && Date.parse(r.startedAt) < q.sinceMs) continue;
        out.push(r);
      }
    }
    return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
  }

  private effective(r: RunRecord): RunRecord {
    if (r.status === 'running' && r.host === HOST && r.pid !== process.pid && !this.isAlive(r.pid)) {
      return { ...r, status: 'abandoned', error: r.error ?? `process ${r.pid} ended without finishing the run` };
    }
    return r;
  }
}
