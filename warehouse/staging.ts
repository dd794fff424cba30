/**
 * Staging, the CPU-heavy half of an ingest prepare: each event becomes one CSV line (lines.ts), held in a
 * LineBuffer, de-duplicated inside the batch, sorted per day and written to the prepare's scratch directory.
 * Kept free of DuckDB, Parquet and the table (plain files and the line format only), so a prepare worker
 * thread (jobs/prepare-worker.ts) loads little more than the connectors and this.
 */
import { join as joinPath } from 'node:path';
import type { BillingEvent, DimensionAttributes, QuarantineEntry } from '../events/model.js';
import type { IngestInput } from './ingest.js';
import { LineBuffer, dayChecker, hash53, stageLine, writeLines } from './lines.js';
import { removeLocal } from './scratch.js';
import { RunKeys, mergeRuns, resolveCrossRun } from './run-merge.js';
import type { TuningOptions } from './options.js';
import type { ConflictInfo } from './batch-rules.js';

export interface Staged {
  rowsIn: number;
  rejected: QuarantineEntry[];
  /** Each day's staged CSV file: sorted and de-duplicated inside the batch (a spilled batch's runs merged into it). */
  files: Map<string, string[]>;
  /** Live rows staged per day. */
  rows: Map<string, number>;
  /** Rows written to each staged file (what DuckDB must read back from it). */
  fileRows: Map<string, number>;
  /** Whether the batch spilled sorted runs (merged at the end of the stage into one file per day: run-merge.ts). */
  spilled: boolean;
  duplicatesInBatch: number;
  /** Same event_id and seqn with different values inside the batch (the losers; versions.ts). */
  conflicts: ConflictInfo[];
}

/**
 * What staging needs of a load: its source, run and events (a worker thread stages with only these), and, when the
 * events are not enriched yet, their dimension attributes: each line takes them as it is written (no copy of the event).
 */
export type StageInput = Pick<IngestInput, 'source' | 'runId' | 'events'> & { dims?: (e: BillingEvent) => DimensionAttributes };

/**
 * stageEvents into the local directory `scratch` (no warehouse handle: a prepare worker thread calls this with
 * the scratch path its commit was given). Tuning and fault points come in as values.
 */
export async function stageEventsAt(scratch: string, input: StageInput, t: Pick<TuningOptions, 'spillRows' | 'spillBytes'>, fault: (point: string) => Promise<void> = async () => undefined): Promise<Staged> {
  const s: Staged = { rowsIn: 0, rejected: [], files: new Map(), rows: new Map(), fileRows: new Map(), spilled: false, duplicatesInBatch: 0, conflicts: [] };
  const checkDay = dayChecker();
  const keys = new RunKeys();
  let buf = new LineBuffer();
  let fileNo = 0;
  const flush = async () => {
    for (const [day, idx] of buf.sortedByDay()) {
      const path = joinPath(scratch, `stage-${day}-${String(fileNo++).padStart(5, '0')}.csv`);
      const { rows } = await writeLines(path, buf, idx);
      if (s.spilled) for (const i of idx) keys.add(hash53(buf.eventIdAt(i)), buf.ordAt(i));
      s.fileRows.set(path, rows);
      s.files.set(day, [...(s.files.get(day) ?? []), path]);
      s.rows.set(day, (s.rows.get(day) ?? 0) + idx.length);
    }
    s.duplicatesInBatch += buf.duplicates;
    s.conflicts.push(...buf.conflicts);
    buf = new LineBuffer();
  };
  for await (const ev of input.events as AsyncIterable<BillingEvent>) {
    s.rowsIn++;
    // Only the validation of this one event may quarantine it; staging I/O (a spill, a full disk) fails the commit.
    let line: string;
    try {
      if (ev.billingSource !== input.source) throw new Error(`event ${ev.eventId} is from source ${ev.billingSource}, but this load is for ${input.source}`);
      line = stageLine(ev, s.rowsIn, checkDay, input.dims ? input.dims(ev) : ev.dims);
    } catch (e) {
      s.rejected.push({
        billingSource: ev.billingSource,
        sourceFile: ev.lineage.sourceFile,
        sourcePosition: ev.lineage.sourcePosition,
        field: null,
        rawValue: null,
        reason: 'BAD_VALUE',
        message: `the warehouse cannot store this event: ${(e as Error).message}`,
        rawRecord: JSON.stringify({ eventId: ev.eventId, eventTs: String(ev.eventTs), eventDate: ev.eventDate, billingSource: ev.billingSource }),
        ingestRunId: input.runId,
      });
      continue;
    }
    if (buf.length >= t.spillRows || buf.textBytes >= t.spillBytes) {
      s.spilled = true;
      await flush();
      await fault('ingest:after-spill');
    }
    buf.add(ev, line);
  }
  if (buf.length > 0) await flush();
  if (s.spilled) await mergeSpilled(scratch, s, keys, t.spillRows);
  return s;
}

/**
 * A spilled batch's runs merged into one sorted, de-duplicated file per day (run-merge.ts), so the batch converts
 * like one that fit in memory: its cross-run duplicates and conflicts counted with the in-run ones.
 */
async function mergeSpilled(scratch: string, s: Staged, keys: RunKeys, spillRows: number): Promise<void> {
  const groups = keys.candidateGroups(Math.max(1000, spillRows));
  keys.release();
  const cross = await resolveCrossRun([...s.files.values()].flat(), groups);
  s.conflicts.push(...cross.conflicts);
  s.duplicatesInBatch += cross.duplicates;
  for (const [day, runs] of [...s.files]) {
    const path = joinPath(scratch, `stage-${day}-merged.csv`);
    const rows = await mergeRuns(runs, s.fileRows, cross.losers, path);
    for (const f of runs) s.fileRows.delete(f);
    if (rows === 0) {
      await removeLocal(path);
      s.files.delete(day);
      s.rows.delete(day);
      continue;
    }
    s.files.set(day, [path]);
    s.fileRows.set(path, rows);
    s.rows.set(day, rows);
  }
}
