/**
 * The declared schemas of the warehouse tables and the pure mapping BillingEvent → fact row.
 * A fact row is flat: money as unscaled DECIMAL(38,9) bigints, timestamps as UTC microseconds, dates as text.
 */
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import type { Money } from '../events/money.js';
import type { ColumnSpec, CellValue } from './columns.js';
import { dayOfEpochDay } from '../partitions/index.js';

export const FACT_TABLE = 'fact_billing_event';
export const QUARANTINE_TABLE = 'quarantine';
/** The DATE column inside each table's files that the table is partitioned by (an Iceberg identity partition). */
export const FACT_PARTITION_KEY = 'event_date';
export const QUARANTINE_PARTITION_KEY = 'ingest_date';
export const DIMENSION_PARTITION_KEY = 'snapshot_date';
/**
 * The Hive folder key of each table's partitions (`event_day=YYYY-MM-DD/`). Never a column of the files: a Hive
 * reader (pyarrow, pandas, Spark, DuckDB, Polars) adds it as a partition column beside the true-typed DATE
 * column inside the files, instead of failing to merge the two (docs/warehouse.md "BI hand-off").
 */
export const FACT_DIR_KEY = 'event_day';
export const QUARANTINE_DIR_KEY = 'ingest_day';
export const DIMENSION_DIR_KEY = 'snapshot_day';
/** Folder keys of tables written before the rename (the key was the column's name); read as the current key. */
const LEGACY_DIR_KEYS: Readonly<Record<string, string>> = { event_date: FACT_DIR_KEY, ingest_date: QUARANTINE_DIR_KEY, snapshot_date: DIMENSION_DIR_KEY };

/** The partition directory of a day: `partitionDir(FACT_DIR_KEY, '2024-01-03')` = `event_day=2024-01-03`. */
export function partitionDir(key: string, day: string): string {
  return `${key}=${day}`;
}

/** The day of a partition directory `<key>=YYYY-MM-DD` (any key). */
export function dayOfPartitionDir(dir: string): string {
  return dir.slice(dir.indexOf('=') + 1);
}

/** A partition directory name as the current layout spells it (`event_date=D` of an older table → `event_day=D`). */
export function currentPartitionDir(dir: string): string {
  const i = dir.indexOf('=');
  const key = i > 0 ? LEGACY_DIR_KEYS[dir.slice(0, i)] : undefined;
  return key ? `${key}${dir.slice(i)}` : dir;
}

/** Whether a directory name is in the layout before the rename (`event_date=…`, `ingest_date=…`, `snapshot_date=…`). */
export function isLegacyPartitionDir(dir: string): boolean {
  return currentPartitionDir(dir) !== dir;
}

const c = (name: string, kind: ColumnSpec['kind'], nullable: boolean, doc: string): ColumnSpec => ({ name, kind, nullable, doc });

/** The fact table, column by column (documented in docs/warehouse.md). */
export const FACT_COLUMNS: readonly ColumnSpec[] = [
  c('event_id', 'utf8', false, '32 hex chars: stable identity of the source record version (events/identity.ts)'),
  c('seqn', 'int64', false, 'order key from upstream (source sequence/version, else extract position)'),
  c('billing_source', 'utf8', false, 'source system, e.g. zuora, stripe, chargebee'),
  c('event_type', 'utf8', false, 'canonical event type (EVENT_TYPES)'),
  c('source_object_type', 'utf8', false, 'source object, e.g. invoice, charge'),
  c('source_record_id', 'utf8', false, 'id of the record in the source'),
  c('source_version', 'utf8', true, 'source version / change marker'),
  c('event_ts', 'timestamp_us_utc', false, 'event instant, microseconds, UTC'),
  c('event_date', 'date', false, 'UTC day of event_ts; the table is partitioned by it (Hive folders event_day=YYYY-MM-DD)'),
  c('ts_precision', 'utf8', false, 'day | minute | second | millisecond | microsecond'),
  c('ts_truncated', 'bool', false, 'source gave a date only; event_ts is that midnight'),
  c('ts_ambiguous', 'bool', false, 'local time fell in a DST fold'),
  c('ts_nonexistent', 'bool', false, 'local time fell in a DST gap'),
  c('source_ts_raw', 'utf8', false, 'timestamp text exactly as the source wrote it'),
  c('source_timezone', 'utf8', false, 'IANA zone used to read a zone-less source timestamp'),
  c('source_local_date', 'date', false, 'calendar date as the source saw it'),
  c('amount', 'decimal38_9', false, 'signed delta in major units of currency; DECIMAL(38,9)'),
  c('currency', 'utf8', false, 'ISO 4217 code'),
  c('account_id', 'utf8', true, 'billing account key'),
  c('subscription_id', 'utf8', true, 'subscription key'),
  c('invoice_id', 'utf8', true, 'invoice key'),
  c('product_id', 'utf8', true, 'product / plan key'),
  c('mrr_delta', 'decimal38_9', true, 'MRR change carried by the record, when any; DECIMAL(38,9)'),
  c('account_name', 'utf8', true, 'account attributes as of load (dim_account)'),
  c('account_segment', 'utf8', true, 'account segment as of load'),
  c('account_country', 'utf8', true, 'account country as of load'),
  c('product_name', 'utf8', true, 'product name as of load (dim_product)'),
  c('plan_name', 'utf8', true, 'plan name as of load'),
  c('dim_status', 'utf8', false, 'OK | MISSING_ACCOUNT | MISSING_PRODUCT | MISSING_BOTH | NO_KEY | NOT_ENRICHED'),
  c('source_file', 'utf8', false, 'lineage: landing-zone file, endpoint or query'),
  c('source_position', 'int64', false, 'lineage: 1-based line, else 0-based record position'),
  c('ingest_run_id', 'utf8', false, 'lineage: the run that loaded the row'),
  c('corrects_event_id', 'utf8', true, 'null on an original event; on a correction row the event_id of the event it corrects (warehouse/versions.ts)'),
  c('correction_kind', 'utf8', true, 'null on an original event; REVERSAL (the recorded values negated, on their day) or RESTATEMENT (the new values)'),
];

export const FACT_COLUMN_NAMES: readonly string[] = FACT_COLUMNS.map((s) => s.name);

/** A fact row as stored. Keys are the column names. */
export interface FactRow {
  event_id: string;
  seqn: bigint;
  billing_source: string;
  event_type: string;
  source_object_type: string;
  source_record_id: string;
  source_version: string | null;
  event_ts: bigint;
  event_date: string;
  ts_precision: string;
  ts_truncated: boolean;
  ts_ambiguous: boolean;
  ts_nonexistent: boolean;
  source_ts_raw: string;
  source_timezone: string;
  source_local_date: string;
  amount: bigint;
  currency: string;
  account_id: string | null;
  subscription_id: string | null;
  invoice_id: string | null;
  product_id: string | null;
  mrr_delta: bigint | null;
  account_name: string | null;
  account_segment: string | null;
  account_country: string | null;
  product_name: string | null;
  plan_name: string | null;
  dim_status: string;
  source_file: string;
  source_position: bigint;
  ingest_run_id: string;
  corrects_event_id: string | null;
  correction_kind: string | null;
}

export const getCell = <R>(row: R, col: string): CellValue => (row as Record<string, CellValue>)[col] ?? null;

const MICROS_PER_DAY = 86_400_000_000n;

/** UTC day (YYYY-MM-DD) of a microsecond instant, without floats. */
export function dayOfMicros(us: bigint): string {
  const days = us >= 0n ? us / MICROS_PER_DAY : -((-us + MICROS_PER_DAY - 1n) / MICROS_PER_DAY);
  return dayOfEpochDay(Number(days));
}

/** ISO text with 6 fraction digits, e.g. 2024-01-03T04:05:06.123456Z. */
export function microsToIso(us: bigint): string {
  const ms = us >= 0n ? us / 1000n : -((-us + 999n) / 1000n);
  const frac = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return new Date(Number(ms)).toISOString().slice(0, 19) + '.' + frac.toString().padStart(6, '0') + 'Z';
}

/**
 * Maps an event to its stored row. Throws an Error naming the event and field when the event is inconsistent
 * (the ingest path turns that into a quarantine entry).
 */
export function factRowFromEvent(e: BillingEvent): FactRow {
  const where = `event ${e.eventId} (${e.lineage.sourceFile}:${e.lineage.sourcePosition})`;
  if (e.amount.currency !== (e.mrrDelta?.currency ?? e.amount.currency)) throw new Error(`${where}: mrr_delta currency ${e.mrrDelta?.currency} differs from amount currency ${e.amount.currency}`);
  const day = dayOfMicros(e.eventTs);
  if (day !== e.eventDate) throw new Error(`${where}: event_date ${e.eventDate} is not the UTC day of event_ts (${microsToIso(e.eventTs)})`);
  if (!Number.isSafeInteger(e.lineage.sourcePosition)) throw new Error(`${where}: source_position ${e.lineage.sourcePosition} is not an integer`);
  const d = e.dims;
  return {
    event_id: e.eventId,
    seqn: e.seqn,
    billing_source: e.billingSource,
    event_type: e.eventType,
    source_object_type: e.sourceObjectType,
    source_record_id: e.sourceRecordId,
    source_version: e.sourceVersion,
    event_ts: e.eventTs,
    event_date: e.eventDate,
    ts_precision: e.tsPrecision,
    ts_truncated: e.tsTruncated,
    ts_ambiguous: e.tsAmbiguous,
    ts_nonexistent: e.tsNonexistent,
    source_ts_raw: e.sourceTsRaw,
    source_timezone: e.sourceTimezone,
    source_local_date: e.sourceLocalDate,
    amount: unscaledOf(e.amount),
    currency: e.amount.currency,
    account_id: e.accountId,
    subscription_id: e.subscriptionId,
    invoice_id: e.invoiceId,
    product_id: e.productId,
    mrr_delta: e.mrrDelta ? unscaledOf(e.mrrDelta) : null,
    account_name: d?.accountName ?? null,
    account_segment: d?.accountSegment ?? null,
    account_country: d?.accountCountry ?? null,
    product_name: d?.productName ?? null,
    plan_name: d?.planName ?? null,
    dim_status: d?.dimStatus ?? 'NOT_ENRICHED',
    source_file: e.lineage.sourceFile,
    source_position: BigInt(e.lineage.sourcePosition),
    ingest_run_id: e.lineage.ingestRunId,
    corrects_event_id: null,
    correction_kind: null,
  };
}

/** Money → unscaled DECIMAL(38,9), exact (same as Money.toUnscaled, via its fixed 9-place text: faster). */
export function unscaledOf(m: Money): bigint {
  return BigInt(m.toFixed().replace('.', ''));
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The in-partition order: (billing_source, event_type, event_ts, seqn), then event_id for a total order. */
export function compareFactRows(a: FactRow, b: FactRow): number {
  return cmpStr(a.billing_source, b.billing_source) || cmpStr(a.event_type, b.event_type) || cmpBig(a.event_ts, b.event_ts) || cmpBig(a.seqn, b.seqn) || cmpStr(a.event_id, b.event_id);
}

/** SQL ORDER BY equivalent of compareFactRows. */
export const FACT_ORDER_SQL = 'billing_source, event_type, event_ts, seqn, event_id';

/**
 * Which of two rows with the same event_id wins: highest seqn, then the later lineage position, so the
 * choice does not depend on arrival order. Returns true when `a` should replace `b`.
 */
export function supersedes(a: FactRow, b: FactRow): boolean {
  return (cmpBig(a.seqn, b.seqn) || cmpStr(a.source_file, b.source_file) || cmpBig(a.source_position, b.source_position) || cmpStr(a.ingest_run_id, b.ingest_run_id)) > 0;
}

/** The quarantine table: QuarantineEntry fields plus the commit that stored them. */
export const QUARANTINE_COLUMNS: readonly ColumnSpec[] = [
  c('billing_source', 'utf8', false, 'source system'),
  c('source_file', 'utf8', false, 'file, endpoint or query the record came from'),
  c('source_position', 'int64', false, '1-based line, else 0-based record position'),
  c('field', 'utf8', true, 'offending field, when one is to blame'),
  c('raw_value', 'utf8', true, 'offending raw value as text'),
  c('reason', 'utf8', false, 'reason code (events/errors.ts QUARANTINE_REASONS)'),
  c('message', 'utf8', false, 'what is wrong, for people'),
  c('raw_record', 'utf8', false, 'the whole raw record as JSON, for replay'),
  c('ingest_run_id', 'utf8', false, 'run that read the record'),
  c('commit_version', 'int64', false, 'table version of the commit that stored the entry'),
  c('committed_at', 'timestamp_us_utc', false, 'commit time, UTC'),
  c('ingest_date', 'date', false, 'UTC day of committed_at; the table is partitioned by it (Hive folders ingest_day=YYYY-MM-DD)'),
];

export function quarantineRow(q: QuarantineEntry, version: number, committedAtUs: bigint): Record<string, CellValue> {
  return {
    billing_source: q.billingSource,
    source_file: q.sourceFile,
    source_position: BigInt(Math.trunc(q.sourcePosition)),
    field: q.field,
    raw_value: q.rawValue,
    reason: q.reason,
    message: q.message,
    raw_record: q.rawRecord,
    ingest_run_id: q.ingestRunId,
    commit_version: BigInt(version),
    committed_at: committedAtUs,
    ingest_date: dayOfMicros(committedAtUs),
  };
}

/** Columns of a dimension snapshot: the row objects' keys (all text) plus snapshot_date. */
export function dimensionColumns(keys: readonly string[]): ColumnSpec[] {
  return [...keys.map((k) => c(k, 'utf8', true, 'dimension attribute')), c(DIMENSION_PARTITION_KEY, 'date', false, 'snapshot day (Hive folders snapshot_day=YYYY-MM-DD)')];
}

/**
 * A table of the warehouse beside the fact table (docs/warehouse.md "Other tables"): its declared columns, its
 * Hive partition key and the order rows are exported in. `latestBy`: a keyed snapshot table, where for each key
 * only the rows of the newest `commit_version` count (older snapshots of a key are merged away by later commits).
 */
export interface TableDef {
  readonly name: string;
  readonly partitionKey: string;
  /** The Hive folder key when it differs from the partition column (`event_day=` for `event_date`); default partitionKey. */
  readonly dirKey?: string;
  /**
   * The type of a partition key that is not a column of the files, only the folder's name (`run=00000001`: the
   * bill run's number, int64). Unset when the partition key is a column. The Iceberg view declares such a key as a
   * column that readers fill from the manifest's partition value (as for a Hive table migrated in place).
   */
  readonly folderKeyKind?: ColumnSpec['kind'];
  readonly columns: readonly ColumnSpec[];
  /** Export order (SQL ORDER BY list, after the partition). */
  readonly order: string;
  readonly latestBy?: readonly string[];
}

export const BILLING_RECORDS_TABLE = 'billing_records';
export const BILLING_ASSIGNMENTS_TABLE = 'billing_assignments';
export const MRR_STATE_TABLE = 'mrr_state';
/** Partition key of the billing tables: the bill run's sequence number (8 digits). */
export const BILLING_PARTITION_KEY = 'run';
/** Partition key of the MRR state: one partition per billing source. */
export const MRR_STATE_PARTITION_KEY = 'billing_source';
/** Its Hive folder key: not a file column, so Hive readers (pyarrow, Spark) add it instead of clashing with the column. */
export const MRR_STATE_DIR_KEY = 'source';

/** Billing records: one row per party, cycle and currency, written once by the bill run `run` (docs/billing.md). */
export const BILLING_RECORD_COLUMNS: readonly ColumnSpec[] = [
  c('record_id', 'utf8', false, '32 hex chars: identity of the party cycle and currency'),
  c('run_id', 'utf8', false, 'bill run that wrote the record'),
  c('cycle_id', 'utf8', false, '<cycle>:<per>:<source>:<party>:<start>..<end> (end exclusive)'),
  c('cycle', 'utf8', false, 'monthly or weekly'),
  c('per', 'utf8', false, 'account or subscription'),
  c('billing_source', 'utf8', false, 'source system of the party'),
  c('party_id', 'utf8', false, 'account or subscription id ("-" when the events have none)'),
  c('period_start', 'date', false, 'first day of the cycle'),
  c('period_end', 'date', false, 'day after the cycle (exclusive)'),
  c('currency', 'utf8', false, 'ISO 4217'),
  c('event_count', 'int64', false, 'events assigned'),
  c('amount_sum', 'decimal38_9', false, 'exact sum of their amount'),
  c('mrr_delta_sum', 'decimal38_9', false, 'exact sum of their mrr_delta'),
  c('late_event_count', 'int64', false, 'late events (dated before the cycle, arrived after theirs was billed)'),
  c('late_amount_sum', 'decimal38_9', false, 'exact sum of the late events amount'),
];

/** Billing assignments: one row per event billed, naming its record. */
export const BILLING_ASSIGNMENT_COLUMNS: readonly ColumnSpec[] = [
  c('event_id', 'utf8', false, 'the fact table event billed'),
  c('record_id', 'utf8', false, 'the record it is billed in'),
  c('run_id', 'utf8', false, 'bill run that assigned it'),
  c('cycle_id', 'utf8', false, 'cycle it is billed in'),
  c('event_date', 'date', false, 'UTC day of the event'),
  c('late', 'bool', false, 'billed in a later cycle than its own'),
  c('original_cycle_id', 'utf8', true, 'the cycle a late event belonged to'),
  c('currency', 'utf8', false, 'ISO 4217'),
  c('amount', 'decimal38_9', false, 'the event amount'),
];

/** MRR state: per subscription, every version known (events/mrr.ts MrrSubscriptionState), one row a version. */
export const MRR_STATE_COLUMNS: readonly ColumnSpec[] = [
  c('billing_source', 'utf8', false, 'source system; also the Hive partition key'),
  c('subscription_id', 'utf8', false, 'subscription'),
  c('account_id', 'utf8', true, 'account of its latest version'),
  c('currency', 'utf8', false, 'currency of its MRR'),
  c('version_seq', 'int64', false, 'order of the version (higher is newer)'),
  c('version', 'utf8', false, 'version label as the source wrote it'),
  c('effective_ts', 'timestamp_us_utc', false, 'when the version took effect'),
  c('value', 'decimal38_9', false, 'the MRR the version states'),
  c('emitted', 'decimal38_9', false, 'sum of the mrr_delta rows already emitted for the version'),
  c('delta_rows', 'int64', false, 'mrr_delta rows emitted for the version'),
  c('source_file', 'utf8', false, 'lineage of the version'),
  c('source_position', 'int64', false, 'lineage: line or position'),
  c('run_id', 'utf8', false, 'ingest run that wrote this snapshot of the subscription'),
  c('commit_version', 'int64', false, 'table version of the commit that wrote it (the newest per subscription counts)'),
];

export const BILLING_RECORDS: TableDef = { name: BILLING_RECORDS_TABLE, partitionKey: BILLING_PARTITION_KEY, folderKeyKind: 'int64', columns: BILLING_RECORD_COLUMNS, order: 'cycle_id, currency, record_id' };
export const BILLING_ASSIGNMENTS: TableDef = { name: BILLING_ASSIGNMENTS_TABLE, partitionKey: BILLING_PARTITION_KEY, folderKeyKind: 'int64', columns: BILLING_ASSIGNMENT_COLUMNS, order: 'event_id, record_id' };
export const MRR_STATE: TableDef = { name: MRR_STATE_TABLE, partitionKey: MRR_STATE_PARTITION_KEY, dirKey: MRR_STATE_DIR_KEY, columns: MRR_STATE_COLUMNS, order: 'subscription_id, commit_version, version_seq', latestBy: ['billing_source', 'subscription_id'] };
export const FACT: TableDef = { name: FACT_TABLE, partitionKey: FACT_PARTITION_KEY, dirKey: FACT_DIR_KEY, columns: FACT_COLUMNS, order: FACT_ORDER_SQL };
export const QUARANTINE: TableDef = { name: QUARANTINE_TABLE, partitionKey: QUARANTINE_PARTITION_KEY, dirKey: QUARANTINE_DIR_KEY, columns: QUARANTINE_COLUMNS, order: 'billing_source, source_file, source_position, commit_version' };

/** Every table with a declared schema, by name (export --table, commits of extra tables). */
export const TABLES: ReadonlyMap<string, TableDef> = new Map([FACT, QUARANTINE, BILLING_RECORDS, BILLING_ASSIGNMENTS, MRR_STATE].map((t) => [t.name, t]));
