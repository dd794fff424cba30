/**
 * Which version of an event the table records, and what a later version becomes (docs/warehouse.md,
 * "Identity and corrections"). Rules, the same inside one batch and across runs:
 * - an event_id appears at most once in the whole table; the highest seqn (record version) is the truth;
 * - a version that changes an already recorded event's money or instant never rewrites the recorded row: it
 *   becomes two correction rows, a REVERSAL (the recorded row with amount and mrr_delta negated, on the
 *   recorded row's day) and a RESTATEMENT (the new values), each with its own deterministic event_id
 *   (events/identity.ts correctionEventId) and `corrects_event_id` naming the event;
 * - an older version arriving after a newer one changes nothing (counted `staleVersions`); a re-read with the
 *   same money and instant is a duplicate (a higher seqn is still remembered, so a stale version cannot
 *   resurrect old values later);
 * - the same identity and the same version with different money or instant is a CONFLICTING_DUPLICATE
 *   quarantine entry: the recorded (or, inside a batch, the later-lineage) record stays.
 *
 * The per-source event index remembers, for every event_id ever recorded, the highest seqn seen, the
 * currently effective row (eff_id: the event itself or its latest RESTATEMENT) and its values. It is a list
 * of immutable Parquet segments in the table state (state.ts IndexSegment), committed with the data they
 * describe; a commit adds one segment for the ids it touched and merges small segments binary-counter style
 * (O(log n) segments, each entry rewritten O(log n) times). Segments are sorted by event_id in small row
 * groups, and a lookup names the batch's ids as a constant IN list, so DuckDB reads only the row groups that may
 * hold them (lookupSql): O(batch) rows a segment, not O(index). The day partitions are never scanned.
 *
 * Pure decisions (decide, inBatch) are separate from the SQL that feeds them (resolveVersions).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { correctionEventId } from '../events/identity.js';
import type { QuarantineEntry } from '../events/model.js';
import { FatalError } from '../events/errors.js';
import type { ConflictInfo } from './batch-rules.js';
import type { Tx, WarehouseCore } from './core.js';
import { copyCount, queryAll, readParquetSql, sqlString } from './duck.js';
import { FACT_COLUMNS, FACT_DIR_KEY, FACT_TABLE, partitionDir } from './schema.js';
import { partitionPath, type IndexChange, type IndexSegment, type TableState } from './state.js';

/** What decides sameness: the money and the instant (and the type, which keys the totals). */
export interface VersionValues {
  seqn: bigint;
  eventType: string;
  /** event_ts, UTC µs. */
  eventTs: bigint;
  /** DECIMAL(38,9) text as DuckDB prints it. */
  amount: string;
  currency: string;
  mrrDelta: string | null;
}

export type Decision =
  /** not recorded before: written as an original */
  | 'NEW'
  /** same version, same values: nothing written */
  | 'DUPLICATE'
  /** a newer version with the same values: nothing written, its seqn remembered */
  | 'NEWER_SAME'
  /** an older version than the recorded one: nothing written */
  | 'STALE'
  /** same version, different values: quarantined */
  | 'CONFLICT'
  /** a newer version with different values: REVERSAL + RESTATEMENT rows */
  | 'CORRECTION';

export function sameValues(a: VersionValues, b: VersionValues): boolean {
  return a.eventType === b.eventType && a.eventTs === b.eventTs && a.amount === b.amount && a.currency === b.currency && a.mrrDelta === b.mrrDelta;
}

/** The rule for one incoming version against what the table recorded for its event_id. */
export function decide(incoming: VersionValues, recorded: VersionValues | null): Decision {
  if (!recorded) return 'NEW';
  if (incoming.seqn < recorded.seqn) return 'STALE';
  const same = sameValues(incoming, recorded);
  if (incoming.seqn === recorded.seqn) return same ? 'DUPLICATE' : 'CONFLICT';
  return same ? 'NEWER_SAME' : 'CORRECTION';
}

export { inBatch, type ConflictInfo } from './batch-rules.js';

export function conflictEntry(source: string, runId: string, c: ConflictInfo): QuarantineEntry {
  return {
    billingSource: source,
    sourceFile: c.sourceFile,
    sourcePosition: c.sourcePosition,
    field: null,
    rawValue: c.values,
    reason: 'CONFLICTING_DUPLICATE',
    message: `event ${c.eventId} version (seqn) ${c.seqn} says ${c.values}, but ${c.keptAt} has the same event and version with ${c.keptValues}; the table keeps the latter. Fix the source record, or give the new values a higher version`,
    rawRecord: JSON.stringify({ eventId: c.eventId, seqn: c.seqn.toString(), values: c.values }),
    ingestRunId: runId,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The index on disk and the SQL around it.

export const INDEX_DIR = '_index';
const MATCHED = 'ingest_matched';
const ACTIONS = 'ingest_actions';
const REVERSALS = 'ingest_reversals';
/** The batch's event ids, and the index entries of those the index knows (the highest v of each). */
const IDS = 'ingest_ids';
const KNOWN = 'ingest_known';

/**
 * Runs `statement` under DuckDB's profiler and returns the rows its Parquet scans produced: what the lookup read,
 * counted by the engine that read it (a scan skipping a row group by its min/max does not count its rows).
 */
async function parquetRowsRead(conn: DuckDBConnection, statement: string): Promise<number> {
  const rows = await queryAll(conn, `EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`);
  const plan = JSON.parse(String(rows[0]?.[1])) as ProfiledOp;
  let n = 0;
  const walk = (op: ProfiledOp) => {
    if (op.operator_type === 'TABLE_SCAN' && op.extra_info?.Function === 'READ_PARQUET') n += Number(op.operator_cardinality ?? 0);
    for (const c of op.children ?? []) walk(c);
  };
  walk(plan);
  return n;
}
interface ProfiledOp {
  operator_type?: string;
  operator_cardinality?: number;
  extra_info?: { Function?: string };
  children?: ProfiledOp[];
}

export interface VersionCounts {
  duplicatesExisting: number;
  staleVersions: number;
  conflicts: number;
  corrections: number;
  /**
   * Index rows the lookup read: the rows DuckDB's Parquet scans of the source's index segments produced (profiled,
   * EXPLAIN ANALYZE), i.e. the rows of the row groups they did not skip. The work of the lookup, counted.
   */
  indexRowsRead: number;
}

export interface Resolution {
  counts: VersionCounts;
  conflicts: QuarantineEntry[];
  /** Days receiving REVERSAL rows (with how many) and days receiving RESTATEMENT rows. */
  reversalDays: Map<string, number>;
  restatementDays: Set<string>;
  /** The index segments the batch was matched against. */
  segments: readonly IndexSegment[];
}

/** Human text of an index/staged row's values. */
function valuesText(type: string, ts: bigint, amount: string, currency: string, mrr: string | null): string {
  const iso = new Date(Number(ts / 1000n)).toISOString();
  return `${type} ${amount} ${currency} at ${iso}${mrr === null ? '' : ` (mrr_delta ${mrr})`}`;
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * Matches the batch's winners (`winners`: a relation with the fact columns, one row per event_id) against the
 * source's index, decides each match, and prepares the temp tables that `originalsSql`, `restatementsSql`,
 * `reversalsSql` and `writeIndexSegment` read. Call once per commit, on the commit's connection.
 */
export async function resolveVersions(conn: DuckDBConnection, core: WarehouseCore, tx: Tx, source: string, runId: string, winners: string): Promise<Resolution> {
  const state = tx.state;
  const segments = await indexSegments(conn, core, tx, source);
  const res: Resolution = { counts: { duplicatesExisting: 0, staleVersions: 0, conflicts: 0, corrections: 0, indexRowsRead: 0 }, conflicts: [], reversalDays: new Map(), restatementDays: new Set(), segments };
  const w = `SELECT event_id, seqn, event_type, epoch_us(event_ts) AS ts, amount, currency, mrr_delta, source_version, source_file, source_position, ingest_run_id, CAST(event_date AS VARCHAR) AS day FROM ${winners}`;
  if (segments.length === 0) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${MATCHED} AS SELECT *, NULL::VARCHAR AS eff_id, NULL::BIGINT AS r_seqn, NULL::VARCHAR AS r_type, NULL::BIGINT AS r_ts, NULL::DECIMAL(38,9) AS r_amount, NULL::VARCHAR AS r_currency, NULL::DECIMAL(38,9) AS r_mrr FROM (${w}) WHERE false`);
  } else {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${IDS} AS SELECT event_id FROM ${winners}`);
    // the matches first, the highest v of each from them: one scan of the segments (a QUALIFY over the scan makes
    // DuckDB read every segment twice, event_id and v, then the matches' other columns)
    res.counts.indexRowsRead = await parquetRowsRead(conn, await lookupSql(conn, core, segments));
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${KNOWN} AS SELECT * FROM ${KNOWN} QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY v DESC) = 1`);
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${MATCHED} AS
      SELECT w.*, i.eff_id, i.seqn AS r_seqn, i.event_type AS r_type, i.event_ts AS r_ts, i.amount AS r_amount, i.currency AS r_currency, i.mrr_delta AS r_mrr
      FROM (${w}) w JOIN ${KNOWN} i USING (event_id)`);
  }
  const rows = await queryAll(conn, `SELECT event_id, seqn, event_type, ts, amount::VARCHAR, currency, mrr_delta::VARCHAR, source_file, source_position, day,
      eff_id, r_seqn, r_type, r_ts, r_amount::VARCHAR, r_currency, r_mrr::VARCHAR FROM ${MATCHED}`);
  const actions: string[] = [];
  for (const r of rows) {
    const id = String(r[0]);
    const incoming: VersionValues = { seqn: r[1] as bigint, eventType: String(r[2]), eventTs: r[3] as bigint, amount: String(r[4]), currency: String(r[5]), mrrDelta: text(r[6]) };
    const recorded: VersionValues = { seqn: r[11] as bigint, eventType: String(r[12]), eventTs: r[13] as bigint, amount: String(r[14]), currency: String(r[15]), mrrDelta: text(r[16]) };
    const effId = String(r[10]);
    switch (decide(incoming, recorded)) {
      case 'DUPLICATE':
        res.counts.duplicatesExisting++;
        break;
      case 'NEWER_SAME':
        res.counts.duplicatesExisting++;
        actions.push(`(${sqlString(id)}, 'NEWER_SAME', NULL, ${sqlString(effId)})`);
        break;
      case 'STALE':
        res.counts.staleVersions++;
        break;
      case 'CONFLICT':
        res.counts.conflicts++;
        res.conflicts.push(
          conflictEntry(source, runId, {
            eventId: id,
            seqn: incoming.seqn,
            sourceFile: String(r[7]),
            sourcePosition: Number(r[8] as bigint),
            values: valuesText(incoming.eventType, incoming.eventTs, incoming.amount, incoming.currency, incoming.mrrDelta),
            keptValues: valuesText(recorded.eventType, recorded.eventTs, recorded.amount, recorded.currency, recorded.mrrDelta),
            keptAt: 'the table',
          }),
        );
        break;
      case 'CORRECTION': {
        res.counts.corrections++;
        const day = dayOfUs(recorded.eventTs);
        res.reversalDays.set(day, (res.reversalDays.get(day) ?? 0) + 1);
        res.restatementDays.add(String(r[9]));
        actions.push(`(${sqlString(id)}, 'CORRECTION', ${sqlString(correctionEventId(id, 'REVERSAL', incoming.seqn))}, ${sqlString(correctionEventId(id, 'RESTATEMENT', incoming.seqn))})`);
        break;
      }
      case 'NEW':
        throw new Error('internal: a matched event cannot be new');
    }
  }
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${ACTIONS} (event_id VARCHAR, action VARCHAR, rev_id VARCHAR, new_eff_id VARCHAR)`);
  for (let i = 0; i < actions.length; i += 1000) await conn.run(`INSERT INTO ${ACTIONS} VALUES ${actions.slice(i, i + 1000).join(', ')}`);
  await buildReversals(conn, core, state, source, res);
  return res;
}

/**
 * The statement that fills KNOWN: the entries of the batch's ids (IDS) in the segments (every v of each). A
 * sorted segment (IndexSegment.sorted) is probed with the ids as a constant IN list: DuckDB skips every row group
 * whose event_id min/max holds none of them (its zone maps), so it reads at most one row group (INDEX_ROW_GROUP
 * rows) per id and segment, whatever the segment's size. A segment the batch would read
 * most of anyway (see PROBE_SKIP), a batch of more than MAX_PROBE_IDS ids and a segment of the old layout (unsorted,
 * written before sorted segments) are matched by a semi-join that reads the segment whole, as before; the next merge
 * that takes an old segment writes it sorted.
 */
async function lookupSql(conn: DuckDBConnection, core: WarehouseCore, segments: readonly IndexSegment[]): Promise<string> {
  const [[count]] = (await queryAll(conn, `SELECT count(*)::BIGINT FROM ${IDS}`)) as [[bigint]];
  const k = Number(count);
  const probes = (s: IndexSegment) => s.sorted === true && k <= MAX_PROBE_IDS && k * INDEX_ROW_GROUP * PROBE_SKIP <= s.rows;
  const probed = segments.filter(probes);
  const scanned = segments.filter((s) => !probes(s));
  const parts: string[] = [];
  if (probed.length > 0) {
    const ids = (await queryAll(conn, `SELECT event_id FROM ${IDS} ORDER BY event_id`)).map((r) => sqlString(String(r[0])));
    if (ids.length > 0) parts.push(`SELECT ${INDEX_SELECT} FROM ${readParquetSql(await localFiles(core, probed))} WHERE event_id IN (${ids.join(', ')})`);
  }
  if (scanned.length > 0) parts.push(`SELECT ${INDEX_SELECT} FROM ${readParquetSql(await localFiles(core, scanned))} WHERE event_id IN (SELECT event_id FROM ${IDS})`);
  const union = parts.length === 0 ? `SELECT ${INDEX_SELECT} FROM ${readParquetSql(await localFiles(core, segments))} WHERE false` : parts.map((p) => `(${p})`).join(' UNION ALL ');
  return `CREATE OR REPLACE TEMP TABLE ${KNOWN} AS ${union}`;
}

const localFiles = (core: WarehouseCore, segments: readonly IndexSegment[]) => Promise.all(segments.map((s) => core.storage.localFile(s.blob)));

function dayOfUs(us: bigint): string {
  return new Date(Number(us / 1000n)).toISOString().slice(0, 10);
}

/** The fact select list of a reversal: the recorded row, negated, caused by the new version `d`. */
function reversalSelect(): string {
  const over: Record<string, string> = {
    event_id: 'd.rev_id',
    seqn: 'd.seqn',
    corrects_event_id: 'd.event_id',
    correction_kind: `'REVERSAL'`,
    source_version: 'd.source_version',
    amount: 'CAST(-r.amount AS DECIMAL(38,9))',
    mrr_delta: 'CAST(-r.mrr_delta AS DECIMAL(38,9))',
    source_file: 'd.source_file',
    source_position: 'd.source_position',
    ingest_run_id: 'd.ingest_run_id',
  };
  return FACT_COLUMNS.map((c) => `${over[c.name] ?? `r."${c.name}"`} AS "${c.name}"`).join(', ');
}

async function buildReversals(conn: DuckDBConnection, core: WarehouseCore, state: TableState, source: string, res: Resolution): Promise<void> {
  const files: string[] = [];
  for (const day of res.reversalDays.keys()) {
    const p = state.partitions.get(partitionPath(FACT_TABLE, partitionDir(FACT_DIR_KEY, day)));
    for (const f of p?.files ?? []) files.push(await core.storage.localFile(f.blob));
  }
  if (res.counts.corrections === 0 || files.length === 0) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${REVERSALS} AS SELECT ${FACT_COLUMNS.map((c) => `NULL AS "${c.name}"`).join(', ')} WHERE false`);
    if (res.counts.corrections > 0) throw new FatalError(`the event index of ${source} names rows on days ${[...res.reversalDays.keys()].join(', ')} that hold no files; the index is inconsistent with the table (report this as a bug)`);
    return;
  }
  const read = `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${REVERSALS} AS
    SELECT ${reversalSelect()} FROM ${read} r
    JOIN (SELECT m.*, a.rev_id FROM ${MATCHED} m JOIN ${ACTIONS} a USING (event_id) WHERE a.action = 'CORRECTION') d ON r.event_id = d.eff_id
    WHERE r.billing_source = ${sqlString(source)}`);
  const [[n]] = (await queryAll(conn, `SELECT count(*)::BIGINT FROM ${REVERSALS}`)) as [[bigint]];
  if (Number(n) !== res.counts.corrections) {
    throw new FatalError(`the event index of ${source} names ${res.counts.corrections} recorded rows to correct, but their days hold ${n} of them; the index is inconsistent with the table (report this as a bug). Nothing was published`);
  }
}

/** The temp table of the batch's ids the index knew (one row per event_id, with its staged `day`), after resolveVersions. */
export function matchedTable(): string {
  return MATCHED;
}

/** Staged winners of one day written as originals: those the index did not know. */
export function originalsWhere(): string {
  return `event_id NOT IN (SELECT event_id FROM ${MATCHED})`;
}

/** RESTATEMENT rows of one day's staged winners (the fact columns, ids replaced). */
export function restatementsSql(dayRelation: string): string {
  const over: Record<string, string> = { event_id: 'a.new_eff_id', corrects_event_id: 's.event_id', correction_kind: `'RESTATEMENT'` };
  return `SELECT ${FACT_COLUMNS.map((c) => `${over[c.name] ?? `s."${c.name}"`} AS "${c.name}"`).join(', ')} FROM ${dayRelation} s JOIN ${ACTIONS} a ON s.event_id = a.event_id AND a.action = 'CORRECTION'`;
}

/** REVERSAL rows that belong on `day`. */
export function reversalsSql(day: string): string {
  return `SELECT * FROM ${REVERSALS} WHERE event_date = DATE ${sqlString(day)}`;
}

const INDEX_SELECT = 'event_id, eff_id, seqn, event_type, event_ts, amount, currency, mrr_delta, v';
/**
 * Rows of a row group of an index segment: what a lookup reads at most per batch id and segment (a Parquet row
 * group is the unit DuckDB skips by min/max). Not smaller: every lookup reads the segments' footers, one row
 * group's statistics per INDEX_ROW_GROUP entries; at 2048 a lookup against 50 M entries peaked at 591 MB RSS,
 * at 8192 283 MB (docs/bench.md, "The event-index lookup").
 */
export const INDEX_ROW_GROUP = 8192;
/** The layout this build writes (IndexSegment.sorted); the bench names its synthetic indexes by it. */
export const INDEX_LAYOUT = `sorted-${INDEX_ROW_GROUP}`;
/**
 * A sorted segment is probed (its row groups skipped by the IN list) when a batch of k ids reads at most 1/PROBE_SKIP
 * of it (k × INDEX_ROW_GROUP × PROBE_SKIP ≤ rows), else semi-joined whole: a long IN list costs DuckDB CPU and
 * memory per row group it checks (20 000 ids against 10 M entries: 2.2x the CPU and 2.6x the RSS of the semi-join,
 * docs/bench.md), so it only pays where it skips most of the segment. Either way a lookup reads at most
 * PROBE_SKIP × INDEX_ROW_GROUP rows per batch id and segment. At most MAX_PROBE_IDS ids
 * are named in the SQL (~35 bytes each).
 */
export const PROBE_SKIP = 2;
const MAX_PROBE_IDS = 5_000;
/**
 * How index segments are written: ordered by event_id, in row groups of INDEX_ROW_GROUP rows (the lookup skips
 * the row groups holding none of the batch's ids). ZSTD level 1, not DuckDB's default 3: the segments are ours
 * alone, level 1 wrote them in ~55 % of the CPU at the same size, and the segment is written under the writer lock
 * (docs/bench.md, session 6).
 */
const INDEX_PARQUET = `(FORMAT PARQUET, COMPRESSION ZSTD, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE ${INDEX_ROW_GROUP})`;

/** Writes one index file (rows of INDEX_SELECT's columns) from `select` at the local path `local`, ordered by event_id; returns its row count. */
export async function writeIndexFile(conn: DuckDBConnection, select: string, local: string): Promise<number> {
  return copyCount(conn, `COPY (SELECT * FROM (${select}) ORDER BY event_id) TO ${sqlString(local)} ${INDEX_PARQUET}`);
}

/**
 * Writes this commit's index segment (entries for the ids it recorded or whose seqn/effective row changed),
 * merging trailing segments binary-counter style, and returns the source's new segment list (null: unchanged).
 * Every segment written is sorted by event_id (writeIndexFile): a merge that takes a segment of the old, unsorted
 * layout writes its entries sorted.
 */
export async function writeIndexSegment(conn: DuckDBConnection, core: WarehouseCore, tx: Tx, source: string, winners: string, res: Resolution): Promise<IndexChange | null> {
  const v = tx.version;
  const dir = `${tx.blobDir}/${INDEX_DIR}/${encodeURIComponent(source)}`;
  const blob = `${dir}/seg-${tx.commitId}.parquet`;
  const scratch = await core.storage.scratchDir(tx.tmpDir);
  const local = `${scratch}/index-seg-${encodeURIComponent(source)}.parquet`;
  const n = await writeIndexFile(
    conn,
    `SELECT event_id, event_id AS eff_id, seqn, event_type, epoch_us(event_ts) AS event_ts, amount, currency, mrr_delta, ${v}::BIGINT AS v FROM ${winners} WHERE ${originalsWhere()}
      UNION ALL
      SELECT m.event_id, a.new_eff_id, m.seqn, m.event_type, m.ts, m.amount, m.currency, m.mrr_delta, ${v}::BIGINT FROM ${MATCHED} m JOIN ${ACTIONS} a USING (event_id)`,
    local,
  );
  const before = res.segments;
  if (n === 0) return tx.state.indexes.has(source) ? null : { source, segments: [...before] };
  const segments = [...before, { blob, rows: n, version: v, sorted: true }];
  const k = mergeCount(segments.map((s) => s.rows));
  if (k <= 1) {
    await core.storage.putFile(blob, local);
    return { source, segments };
  }
  const tail = segments.splice(segments.length - k, k);
  const merged = `${dir}/merged-${tx.commitId}.parquet`;
  const mergedLocal = `${scratch}/index-merged-${encodeURIComponent(source)}.parquet`;
  const inputs = await Promise.all(tail.map((s) => (s.blob === blob ? Promise.resolve(local) : core.storage.localFile(s.blob))));
  const rows = await writeIndexFile(conn, `SELECT ${INDEX_SELECT} FROM ${readParquetSql(inputs)} QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY v DESC) = 1`, mergedLocal);
  await core.storage.putFile(merged, mergedLocal);
  segments.push({ blob: merged, rows, version: v, sorted: true });
  return { source, segments };
}

/** How many trailing segments to merge: while the one before the tail is no larger than the tail (a binary counter). */
export function mergeCount(rows: readonly number[]): number {
  let k = 1;
  let tail = rows[rows.length - 1] ?? 0;
  while (k < rows.length && rows[rows.length - 1 - k]! <= tail) {
    tail += rows[rows.length - 1 - k]!;
    k++;
  }
  return k;
}

/**
 * The source's index segments; a table written before the index existed gets one built from its fact files
 * (once, in the first commit that needs it: every event_id of the source with its highest seqn).
 */
async function indexSegments(conn: DuckDBConnection, core: WarehouseCore, tx: Tx, source: string): Promise<readonly IndexSegment[]> {
  const state = tx.state;
  const have = state.indexes.get(source);
  if (have) return have;
  const files: string[] = [];
  for (const p of state.partitions.values()) {
    if (p.table !== FACT_TABLE) continue;
    if (p.files.some((f) => f.totals.some((t) => t.billing_source === source))) for (const f of p.files) files.push(await core.storage.localFile(f.blob));
  }
  if (files.length === 0) return [];
  const dir = `${tx.blobDir}/${INDEX_DIR}/${encodeURIComponent(source)}`;
  const blob = `${dir}/bootstrap-${tx.commitId}.parquet`;
  const local = `${await core.storage.scratchDir(tx.tmpDir)}/index-bootstrap-${encodeURIComponent(source)}.parquet`;
  const rows = await writeIndexFile(
    conn,
    `SELECT coalesce(corrects_event_id, event_id) AS event_id, event_id AS eff_id, seqn, event_type, epoch_us(event_ts) AS event_ts, amount, currency, mrr_delta, 0::BIGINT AS v
      FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false) WHERE billing_source = ${sqlString(source)} AND coalesce(correction_kind, '') <> 'REVERSAL'
      QUALIFY row_number() OVER (PARTITION BY coalesce(corrects_event_id, event_id) ORDER BY seqn DESC, event_id) = 1`,
    local,
  );
  await core.storage.putFile(blob, local);
  return [{ blob, rows, version: 0, sorted: true }];
}
