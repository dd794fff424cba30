/**
 * A small pool of worker threads that run ingest prepares (jobs/prepare.ts) on the other cores, so a backfill's
 * `--parallel` units read, map and stage at the same time while the main thread publishes under the writer
 * lock. One task at a time per worker; a task is one value (PrepareTask) and its answer one value
 * (PreparedBatch), or an error rebuilt with its class, kind and causes (events/error-transfer.ts).
 * Idle workers do not keep the process alive; `close()` ends them. Memory: the threads share the warehouse's
 * staging budget (budgetShare) and a thread that staged a spilled unit is replaced (docs/bench.md, "Two big
 * prepares at once").
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fromTransferable, type TransferableError } from '../events/error-transfer.js';
import { FatalError, RetriableError } from '../events/errors.js';
import { DEFAULT_TUNING } from '../warehouse/options.js';
import { eventsOut, observationsIn, type MrrHook, type PreparedBatch, type PrepareTask, type WireEvent, type WireObservation } from './prepare.js';

/** What runs prepares somewhere else (a worker pool; the jobs layer only sees this). */
export interface PrepareExecutor {
  /** Where the prepares run ('worker' threads), for logs and tests. */
  readonly kind: string;
  /** `mrr`: the MRR step of a source that states MRR (runs in this thread; see MrrHook). */
  run(task: PrepareTask, mrr?: MrrHook): Promise<PreparedBatch>;
  close(): Promise<void>;
}

/** Messages from a worker: its MRR observations (a source that states MRR), then the task's end. */
export type WorkerReply =
  | { id: number; type: 'mrr'; observations: WireObservation[] }
  | { id: number; type: 'done'; ok: true; value: PreparedBatch }
  | { id: number; type: 'done'; ok: false; error: TransferableError };
/** Messages to a worker: a task, or the mrr_delta events answering its observations. */
export type MainMessage = { id: number; type: 'task'; task: PrepareTask } | { id: number; type: 'mrr-events'; events: WireEvent[] };

/**
 * The compiled worker entry. From the built package (dist/jobs/prepare-pool.js) it is the sibling file; from the
 * TypeScript sources (vitest) it is the build's copy, since a worker thread loads plain JavaScript.
 */
export function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.endsWith('.ts') ? path.join(path.dirname(here), '..', 'dist', 'jobs', 'prepare-worker.js') : path.join(path.dirname(here), 'prepare-worker.js');
  if (!existsSync(js)) throw new FatalError(`the prepare worker ${js} is missing: build the package first (npm run build)`);
  return js;
}

/** Threads for `parallel` units at once: at most one per core the process may use. */
export function poolSize(parallel: number): number {
  return Math.max(1, Math.min(Math.floor(parallel), os.availableParallelism()));
}

/**
 * Old-generation heap of a prepare worker. A prepare holds at most spillRows staged rows (~30 MB at 100 000) plus
 * the landing file being read; without a cap each thread's heap grows lazily and two of them pushed the ingest's
 * peak RSS from ~440 MB to ~600 MB (200 k-event bench, 2 workers); with it ~530 MB.
 */
export const WORKER_HEAP_MB = 192;

/** WORKER_HEAP_MB, or less when this process was given less heap (`--max-old-space-size`): a worker gets no more than its parent. */
export function workerHeapMb(): number {
  return Math.max(16, Math.min(WORKER_HEAP_MB, Math.floor(v8.getHeapStatistics().heap_size_limit / 2 ** 20)));
}

/**
 * The staging budget of one prepare when `concurrent` prepares run at once: the warehouse's `spillRows` and
 * `spillBytes` are the budget of the process (its RSS target is one number), so each of the pool's threads gets
 * its share (at least 1 row and 1 MiB). A (source, day) under the share never spills, so small days are prepared
 * exactly as before; a big one spills earlier (the same output: run-merge.ts). Two prepares each holding the whole
 * budget took a 2 M-event day's ingest to 600–700 MB of RSS (docs/bench.md, "Two big prepares at once").
 */
export function budgetShare(b: { spillRows: number; spillBytes?: number }, concurrent: number): { spillRows: number; spillBytes: number } {
  const n = Math.max(1, Math.floor(concurrent));
  return { spillRows: Math.max(1, Math.floor(b.spillRows / n)), spillBytes: Math.max(2 ** 20, Math.floor((b.spillBytes ?? DEFAULT_TUNING.spillBytes) / n)) };
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** Replaced after a spilled prepare (its exit is not a failure). */
  retired?: boolean;
}

export class PreparePool implements PrepareExecutor {
  readonly kind = 'worker';
  private readonly slots: Slot[] = [];
  private readonly waiting: ((s: Slot) => void)[] = [];
  private readonly pending = new Map<number, { resolve: (v: PreparedBatch) => void; reject: (e: unknown) => void; slot: Slot; mrr: MrrHook | undefined }>();
  private nextId = 1;
  private closed = false;
  /** Tasks run so far (tests and logs: the worker path was taken). */
  tasksRun = 0;
  /** Threads replaced after a spilled prepare (tests and logs). */
  retired = 0;

  constructor(readonly size: number, private readonly script: string = workerScript()) {
    if (!(size >= 1)) throw new Error(`internal: prepare pool size ${size}`);
  }

  run(task: PrepareTask, mrr?: MrrHook): Promise<PreparedBatch> {
    if (this.closed) return Promise.reject(new Error('internal: the prepare pool is closed'));
    return this.acquire().then(
      (slot) =>
        new Promise<PreparedBatch>((resolve, reject) => {
          const id = this.nextId++;
          this.pending.set(id, { resolve, reject, slot, mrr });
          slot.worker.ref();
          this.tasksRun++;
          slot.worker.postMessage({ id, type: 'task', task: { ...task, ...budgetShare(task, this.size) } } satisfies MainMessage);
        }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (this.slots.length < this.size) {
      const slot = this.spawn();
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise((r) => this.waiting.push(r));
  }

  /** Ends the slot's thread (its memory goes back to the system) and hands a fresh one to the next waiting task. */
  private retire(slot: Slot): void {
    slot.retired = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
    this.retired++;
    const next = this.waiting.shift();
    if (next && !this.closed) {
      const s = this.spawn();
      s.busy = true;
      next(s);
    }
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) {
      next(slot);
      return;
    }
    slot.busy = false;
    slot.worker.unref();
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { resourceLimits: { maxOldGenerationSizeMb: workerHeapMb() } });
    const slot: Slot = { worker, busy: false };
    worker.unref();
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'mrr') {
        // the MRR plan runs here (durable state); a failure fails the task, and the worker's wait ends with it
        const hook = p.mrr ?? (() => Promise.reject(new Error('internal: a source stating MRR was prepared without the MRR hook')));
        hook(observationsIn(m.observations)).then(
          (events) => worker.postMessage({ id: m.id, type: 'mrr-events', events: eventsOut(events) } satisfies MainMessage),
          (e: unknown) => {
            this.pending.delete(m.id);
            p.reject(e);
            void worker.terminate(); // its task waits for an answer that will not come: replace the thread
          },
        );
        return;
      }
      this.pending.delete(m.id);
      // A thread that staged a spilled (source, day) keeps the heap it grew (V8 does not give it back while the
      // isolate lives): a fresh thread takes the next unit. Small units (no spill) keep reusing their thread.
      if (m.ok && m.value.staged.spilled) this.retire(slot);
      else this.release(slot);
      if (m.ok) p.resolve(m.value);
      else p.reject(fromTransferable(m.error));
    });
    const fail = (e: unknown) => {
      // the thread died (out of memory, a crash in native code): its task fails retriably, a new thread replaces it
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const [id, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        p.reject(e);
      }
      const next = this.waiting.shift();
      if (next && !this.closed) {
        const s = this.spawn();
        s.busy = true;
        next(s);
      }
    };
    worker.on('error', (e) =>
      fail(
        (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new FatalError(`a prepare worker thread ran out of its ${workerHeapMb()} MB heap (a landing file or unit too large to stage); nothing was published`, { cause: e })
          : new RetriableError(`the prepare worker thread failed: ${e.message}`, { cause: e }),
      ),
    );
    worker.on('exit', (code) => {
      if (!this.closed && !slot.retired) fail(new RetriableError(`the prepare worker thread exited with code ${code} while preparing; nothing was published`));
    });
    this.slots.push(slot);
    return slot;
  }
}
