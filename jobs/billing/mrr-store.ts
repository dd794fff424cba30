/**
 * The MRR state as a warehouse table (`mrr_state`, partition `source=<source>`: the folder key is not the column `billing_source`, warehouse/schema.ts):
 * per subscription, every version known, one row a version; a commit that changes a subscription appends its
 * whole new snapshot, and the newest `commit_version` per subscription counts (the warehouse merges older
 * snapshots away every few commits).
 *
 * Planning reads only the subscriptions the batch observes (not the whole state), applies the pure
 * events/mrr.ts, and returns the MRR_CHANGED delta events together with the state write; ingest commits both
 * in ONE warehouse commit (IngestInput.tables), so the state can never fall behind the fact table: a run killed
 * anywhere leaves both as before or both as after. The write carries the partition version it was computed
 * from, and the commit refuses it (retriable) when another run changed the state meanwhile.
 */
import { FatalError } from '../../events/errors.js';
import { applyMrrObservations, mrrDeltaToEvent, subscriptionKey, type MrrApplyResult, type MrrObservation, type MrrState, type MrrSubscriptionState } from '../../events/mrr.js';
import type { BillingEvent } from '../../events/model.js';
import { unscaledToText } from '../../events/money.js';
import { textToUnscaled } from '../../warehouse/state.js';
import { MRR_STATE_DIR_KEY, MRR_STATE_TABLE, type CellValue } from '../../warehouse/index.js';
import type { MrrPlan, MrrPort, TableReader, TableWriteRequest } from '../ports.js';

export { MRR_STATE_TABLE };

export function stateRows(s: MrrSubscriptionState, runId: string): Record<string, CellValue>[] {
  return s.versions.map((v) => ({
    billing_source: s.billingSource,
    subscription_id: s.subscriptionId,
    account_id: s.accountId,
    currency: s.currency,
    version_seq: v.seq,
    version: v.version,
    effective_ts: v.effectiveTs,
    value: textToUnscaled(v.value),
    emitted: textToUnscaled(v.emitted),
    delta_rows: BigInt(v.rows),
    source_file: v.sourceFile,
    source_position: BigInt(v.sourcePosition),
    run_id: runId,
  }));
}

/** Rebuilds the state of the subscriptions in `rows` (one snapshot each, as readTable returns them). */
export function stateFromRows(rows: readonly Record<string, CellValue>[], where: string): Map<string, MrrSubscriptionState> {
  const state = new Map<string, MrrSubscriptionState>();
  for (const r of rows) {
    const source = r.billing_source;
    const sub = r.subscription_id;
    if (typeof source !== 'string' || typeof sub !== 'string' || typeof r.currency !== 'string' || typeof r.version_seq !== 'bigint' || typeof r.effective_ts !== 'bigint' || typeof r.value !== 'bigint' || typeof r.emitted !== 'bigint') {
      throw new FatalError(`${where}: a row of the MRR state is incomplete (${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}); restore the table from backup`);
    }
    const key = subscriptionKey(source, sub);
    let s = state.get(key);
    if (!s) state.set(key, (s = { billingSource: source, subscriptionId: sub, accountId: typeof r.account_id === 'string' ? r.account_id : null, currency: r.currency, versions: [] }));
    s.versions.push({
      seq: r.version_seq,
      version: String(r.version),
      effectiveTs: r.effective_ts,
      value: trimZeros(unscaledToText(r.value)),
      emitted: trimZeros(unscaledToText(r.emitted)),
      rows: Number(r.delta_rows),
      sourceFile: String(r.source_file),
      sourcePosition: Number(r.source_position),
    });
  }
  for (const s of state.values()) s.versions.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  return state;
}

/** "300.000000000" → "300", "1.500000000" → "1.5" (the text events/mrr.ts keeps; values compare as decimals anyway). */
function trimZeros(t: string): string {
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

/** Plans one batch of a source's MRR observations against the committed state (read through `reader`). */
export async function planMrr(reader: TableReader, source: string, observations: readonly MrrObservation[], runId: string): Promise<MrrPlan & { result: MrrApplyResult }> {
  const subs = [...new Set(observations.map((o) => o.subscriptionId))].sort();
  const { rows, basis } = await reader.readTable(MRR_STATE_TABLE, source, { column: 'subscription_id', values: subs });
  const before: MrrState = stateFromRows(rows, `${MRR_STATE_TABLE}/${MRR_STATE_DIR_KEY}=${source}`);
  const result = applyMrrObservations(before, observations);
  const changed = [...result.state.entries()].filter(([k, s]) => before.get(k) !== s).map(([, s]) => s);
  const tables: TableWriteRequest[] = changed.length ? [{ table: MRR_STATE_TABLE, partition: source, mode: 'append', basis, rows: changed.flatMap((s) => stateRows(s, runId)) }] : [];
  return { events: result.deltas.map((d) => mrrDeltaToEvent(d, runId)), errors: result.errors, tables, result };
}

/**
 * The jobs' MRR port over a warehouse (real or fake): state read per batch, written in the ingest's commit.
 * `preflight` runs before each plan (the real warehouse: refuse MRR state logs of the old layout).
 */
export function mrrPort(reader: TableReader, preflight?: () => Promise<void>): MrrPort {
  return {
    async plan(source, observations, runId) {
      if (preflight) await preflight();
      return planMrr(reader, source, observations, runId);
    },
  };
}

export type { BillingEvent };
