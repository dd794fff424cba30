/**
 * The connector seam: raw records with their source location, mapped one by one into canonical events or a
 * RecordError (→ quarantine). Kept small on purpose: adding a source is writing a mapping, not a framework.
 */
import type { RecordError, SourceLocation } from '../events/errors.js';
import type { BillingEvent } from '../events/model.js';

export interface RecordLocation {
  /** Path relative to the landing zone (posix separators). */
  file: string;
  /** 1-based line in a CSV / JSON-lines file (the CSV header is line 1). */
  line?: number;
  /** 0-based record position inside a JSON page document. */
  position?: number;
}

export interface RawRecord {
  /** The source object (mapping) this record belongs to. */
  object: string;
  /** Parsed fields: CSV cells as strings; JSON values parsed losslessly (numbers are LosslessNumber). */
  data: Record<string, unknown>;
  location: RecordLocation;
  /**
   * The record as the source wrote it (JSON line text, unparseable CSV text), kept for quarantine and replay;
   * when absent, `data` as JSON is used (built only if the record is quarantined).
   */
  rawText?: string;
  /**
   * Set when the record could not even be parsed (bad JSON, wrong CSV column count): the mapper turns it
   * straight into a quarantine entry.
   */
  parseError?: RecordError;
}

/** Where a record (and optionally one of its fields) is in its source file: file with line or position. */
export function locOf(r: RawRecord, field?: string): SourceLocation {
  const l: SourceLocation = { file: r.location.file };
  if (r.location.line !== undefined) l.line = r.location.line;
  else if (r.location.position !== undefined) l.position = r.location.position;
  if (field !== undefined) l.field = field;
  return l;
}

export interface MapContext {
  ingestRunId: string;
}

/** A record a skip rule matched: not a billing event, counted under its rule (`<object>.<rule>`), never quarantined. */
export class Skipped {
  readonly kind = 'skipped' as const;
  constructor(readonly rule: string) {}
}

export type MapResult = BillingEvent[] | RecordError | Skipped;

/** A file the pick-up found (path relative to the landing zone). */
export interface InputFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface ControlTotals {
  source: string;
  date: string;
  generated_at?: string;
  /** Where the numbers came from (file, query), when the provider knows. */
  origin?: string;
  /** The event types these numbers vouch for (an API recount lists only some objects); absent: all of them. */
  eventTypes?: string[];
  totals: { event_type: string; currency: string; rows: number; amount_sum: string }[];
}
