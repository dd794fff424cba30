/**
 * Stable identity. event_id = first 32 hex chars (128 bits) of
 *   sha256( "v1" \x1f billing_source \x1f source_object_type \x1f source_record_id \x1f source_version )
 * where each part is trimmed text and a missing version is the empty string. The unit-separator byte cannot
 * occur in the parts, so different tuples never hash the same text. Re-reading the same source record yields
 * the same id; a new version or change marker yields a new one.
 */
import { createHash, hash } from 'node:crypto';

const SEP = '\x1f';

export interface IdentityParts {
  billingSource: string;
  sourceObjectType: string;
  sourceRecordId: string;
  /** The source's version / change marker (updated_at, resource_version, status...), if any. */
  sourceVersion?: string | null;
}

export function eventId(parts: IdentityParts): string {
  const text = `v1${SEP}${part(parts.billingSource)}${SEP}${part(parts.sourceObjectType)}${SEP}${part(parts.sourceRecordId)}${SEP}${part(parts.sourceVersion ?? '')}`;
  // one-shot hash (no Hash object per event); the same sha256 as createHash().update().digest()
  return hash('sha256', text, 'hex').slice(0, 32);
}

/** One identity part: trimmed text without the unit separator. */
function part(p: string): string {
  const s = String(p).trim();
  if (s.includes(SEP)) throw new Error(`identity part contains a unit separator: ${JSON.stringify(s)}`);
  return s;
}

export type CorrectionKind = 'REVERSAL' | 'RESTATEMENT';

/**
 * event_id of a correction row (docs/warehouse.md, "Corrections"): the first 32 hex chars of
 *   sha256( "v1-correction" \x1f corrected event_id \x1f kind \x1f seqn of the version that caused it )
 * Each record version changes an event at most once, so these ids are unique in the table and the same
 * history always yields the same ids.
 */
export function correctionEventId(correctedEventId: string, kind: CorrectionKind, seqn: bigint): string {
  return createHash('sha256').update(['v1-correction', correctedEventId, kind, seqn.toString()].join(SEP)).digest('hex').slice(0, 32);
}
