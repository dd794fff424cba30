/**
 * Worker-thread entry of the prepare pool (jobs/prepare-pool.ts): runs one PrepareTask per message and answers
 * with its PreparedBatch, or its error in transferable form (class, kind and causes kept).
 */
import { parentPort } from 'node:worker_threads';
import { toTransferable } from '../events/error-transfer.js';
import { eventsIn, observationsOut, runPrepareTask, type WireEvent } from './prepare.js';
import type { MainMessage, WorkerReply } from './prepare-pool.js';

if (!parentPort) throw new Error('jobs/prepare-worker.js runs as a worker thread of the prepare pool');
const port = parentPort;
/** Tasks waiting for the main thread's mrr_delta events (source that states MRR). */
const waitingMrr = new Map<number, (events: WireEvent[]) => void>();
port.on('message', (m: MainMessage) => {
  if (m.type === 'mrr-events') {
    waitingMrr.get(m.id)?.(m.events);
    waitingMrr.delete(m.id);
    return;
  }
  const hook = (observations: Parameters<typeof observationsOut>[0]) =>
    new Promise<WireEvent[]>((resolve) => {
      waitingMrr.set(m.id, resolve);
      port.postMessage({ id: m.id, type: 'mrr', observations: observationsOut(observations) } satisfies WorkerReply);
    }).then(eventsIn);
  runPrepareTask(m.task, hook).then(
    (value) => port.postMessage({ id: m.id, type: 'done', ok: true, value } satisfies WorkerReply),
    (e: unknown) => port.postMessage({ id: m.id, type: 'done', ok: false, error: toTransferable(e) } satisfies WorkerReply),
  );
});
