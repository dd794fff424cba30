/**
 * The in-batch rule of the event_id versions (versions.ts holds the rest and the SQL): plain values only, no
 * DuckDB, so staging (staging.ts, lines.ts) loads it in a prepare worker thread without the database.
 */

/**
 * Inside one batch, two records with the same event_id: >0 when `a` wins (higher seqn), <0 when `b` does,
 * 0 when the seqn is equal (the caller breaks the tie by lineage); `conflict` when equal seqn carries
 * different values.
 */
export function inBatch(a: { seqn: bigint; values: string }, b: { seqn: bigint; values: string }): { order: number; conflict: boolean } {
  if (a.seqn !== b.seqn) return { order: a.seqn > b.seqn ? 1 : -1, conflict: false };
  return { order: 0, conflict: a.values !== b.values };
}

export interface ConflictInfo {
  eventId: string;
  seqn: bigint;
  sourceFile: string;
  sourcePosition: number;
  /** What this record says / what the kept one says (for people). */
  values: string;
  keptValues: string;
  keptAt: string;
}

