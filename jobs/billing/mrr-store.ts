/**
 * Durable MRR delta state: an append-only log under <warehouse>/billing/mrr_state/.
 * Each run that changes the state adds ONE file `<seq>.jsonl` (seq = 8 digits, 00000001, 00000002, …) holding
 * the new snapshot of every subscription it touched, one JSON line each. Loading folds the files in seq order;
 * a later snapshot of a subscription replaces the earlier one. Files are written to a temp name and link()ed
 * into place, so a killed run leaves nothing visible and two concurrent runs cannot both take the same seq.
 *
 * Order of operations for a caller: compute (planMrrRun) → commit the delta events to the fact table →
 * persist(). If the process dies between the two, the next run recomputes the same rows with the same
 * event_ids and the fact table's de-duplication drops them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FatalError, RetriableError } from '../../events/errors.js';
import {
  applyMrrObservations,
  mrrDeltaToEvent,
  subscriptionKey,
  type MrrApplyResult,
  type MrrObservation,
  type MrrState,
  type MrrSubscriptionState,
} from '../../events/mrr.js';
import type { BillingEvent } from '../../events/model.js';
import { uniqueSuffix } from './fs.js';

export const MRR_STATE_DIR = path.join('billing', 'mrr_state');
const FILE_RE = /^(\d{8})\.jsonl$/;

interface StoredVersion {
  seq: string;
  version: string;
  effectiveTs: string;
  value: string;
  emitted: string;
  rows: number;
  sourceFile: string;
  sourcePosition: number;
}
interface StoredSub {
  billingSource: string;
  subscriptionId: string;
  accountId: string | null;
  currency: string;
  versions: StoredVersion[];
  runId: string;
}

function toStored(s: MrrSubscriptionState, runId: string): StoredSub {
  return {
    billingSource: s.billingSource,
    subscriptionId: s.subscriptionId,
    accountId: s.accountId,
    currency: s.currency,
    versions: s.versions.map((v) => ({ ...v, seq: v.seq.toString(), effectiveTs: v.effectiveTs.toString() })),
    runId,
  };
}

function fromStored(o: StoredSub, where: string): MrrSubscriptionState {
  if (!o || typeof o.billingSource !== 'string' || typeof o.subscriptionId !== 'string' || typeof o.currency !== 'string' || !Array.isArray(o.versions)) {
    throw new FatalError(`${where}: not an MRR state line (needs billingSource, subscriptionId, currency, versions); the MRR state log is corrupt — restore the file from backup`);
  }
  return {
    billingSource: o.billingSource,
    subscriptionId: o.subscriptionId,
    accountId: o.accountId ?? null,
    currency: o.currency,
    versions: o.versions.map((v, i) => {
      if (!/^-?\d+$/.test(String(v.seq)) || !/^-?\d+$/.test(String(v.effectiveTs))) {
        throw new FatalError(`${where}: version #${i} of subscription ${o.subscriptionId} has a non-integer seq or effectiveTs; the MRR state log is corrupt`);
      }
      return { ...v, seq: BigInt(v.seq), effectiveTs: BigInt(v.effectiveTs) };
    }),
  };
}

export class MrrStateStore {
  private constructor(
    readonly dir: string,
    readonly state: MrrState,
    /** Seq of the last file loaded (0 when none). */
    readonly seq: number,
  ) {}

  /** `scope`: one log per billing source (`<warehouse>/billing/mrr_state/<source>/`), so sources never contend. */
  static async open(warehouseDir: string, scope?: string): Promise<MrrStateStore> {
    const dir = scope === undefined ? path.join(warehouseDir, MRR_STATE_DIR) : path.join(warehouseDir, MRR_STATE_DIR, scope);
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => FILE_RE.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new MrrStateStore(dir, new Map(), 0);
      throw e;
    }
    const state = new Map<string, MrrSubscriptionState>();
    for (const name of names) {
      const file = path.join(dir, name);
      const lines = (await fs.readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let parsed: StoredSub;
        try {
          parsed = JSON.parse(line) as StoredSub;
        } catch (e) {
          throw new FatalError(`${file}:${i + 1}: invalid JSON in the MRR state log (${(e as Error).message}); restore the file from backup`, { cause: e });
        }
        const sub = fromStored(parsed, `${file}:${i + 1}`);
        state.set(subscriptionKey(sub.billingSource, sub.subscriptionId), sub);
      });
    }
    const last = names.length ? Number(FILE_RE.exec(names[names.length - 1]!)![1]) : 0;
    return new MrrStateStore(dir, state, last);
  }

  /** Appends the subscriptions whose state changed in `result` as the next log file. No-op when nothing changed. */
  async commit(runId: string, result: MrrApplyResult): Promise<string | undefined> {
    const changed = [...result.state.entries()].filter(([k, s]) => this.state.get(k) !== s).map(([, s]) => s);
    if (changed.length === 0) return undefined;
    await fs.mkdir(this.dir, { recursive: true });
    const name = `${String(this.seq + 1).padStart(8, '0')}.jsonl`;
    const final = path.join(this.dir, name);
    const tmp = path.join(this.dir, `.${name}.tmp-${uniqueSuffix()}`);
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(changed.map((s) => JSON.stringify(toStored(s, runId))).join('\n') + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.link(tmp, final);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new RetriableError(`another run wrote MRR state file ${final} first; re-run to recompute from the newer state`, { cause: e });
      }
      throw e;
    } finally {
      await fs.unlink(tmp);
    }
    return final;
  }
}

/** The jobs' MRR port over the state logs under `warehouseDir`: one log per source, planned under the source's MRR lock. */
export function mrrPort(warehouseDir: string): { plan(source: string, observations: readonly MrrObservation[], runId: string): Promise<{ events: BillingEvent[]; errors: MrrApplyResult['errors']; persist(): Promise<unknown> }> } {
  return {
    async plan(source, observations, runId) {
      const p = await planMrrRun(warehouseDir, observations, runId, source);
      return { events: p.events, errors: p.result.errors, persist: p.persist };
    },
  };
}

export interface MrrRunPlan {
  /** MRR_CHANGED events (amount 0, mrr_delta set) to commit to the fact table. */
  events: BillingEvent[];
  result: MrrApplyResult;
  /** Call AFTER the events are committed: appends the new state. */
  persist(): Promise<string | undefined>;
}

/** Loads the state, applies the observations and returns the delta events plus a persist() for afterwards. */
export async function planMrrRun(warehouseDir: string, observations: Iterable<MrrObservation>, runId: string, scope?: string): Promise<MrrRunPlan> {
  const store = await MrrStateStore.open(warehouseDir, scope);
  const result = applyMrrObservations(store.state, observations);
  return {
    events: result.deltas.map((d) => mrrDeltaToEvent(d, runId)),
    result,
    persist: () => store.commit(runId, result),
  };
}
