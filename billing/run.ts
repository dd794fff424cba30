/** What one bill run records about itself (the manifest of its record set); pure values. */
import type { PolicySegment } from './cycles.js';

export const RUN_MANIFEST_FORMAT = 'billing-mart/billing-run/v1';

export interface RunManifest {
  format: typeof RUN_MANIFEST_FORMAT;
  seq: number;
  runId: string;
  createdAt: string;
  /** --through as given (inclusive day). */
  through: string;
  /** The billing logic timeline in force after this run (full history; earlier segments never change). */
  timeline: PolicySegment[];
  /** Billed through before/after this run (exclusive day); null before anything was billed. */
  watermarkBefore: string | null;
  watermarkAfter: string | null;
  /** Periods closed by this run. */
  periods: { start: string; end: string; cycle: string; per: string }[];
  /** Counts of the events this run read (beforeStart: those of them dated before billing starts; `check billing` counts the table's). */
  counts: { records: number; assignments: number; onTime: number; late: number; latePending: number; beforeStart: number };
  /**
   * Every fact-table data file of the version this run billed from: the warehouse's immutable objects (relative to
   * the warehouse root). The run read only those that could hold an unbilled event (jobs/billing/bill.ts).
   */
  factFiles: string[];
}

/** The partition value of run `seq` in the billing tables (`run=00000001`). */
export function runPartition(seq: number): string {
  return String(seq).padStart(8, '0');
}
