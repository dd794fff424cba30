/**
 * The Iceberg v2 description of the warehouse tables, derived from their ColumnSpec lists (warehouse/schema.ts)
 * so the two cannot drift: schema with field ids, the name mapping that ties those ids to the Parquet column
 * names, the identity partition spec, the sort order, and the single-value binary encoding of bounds.
 * Pure values, no I/O.
 *
 * Field ids: the Parquet files are written by DuckDB and parquet-wasm without Parquet field ids, so every
 * table carries `schema.name-mapping.default` (Iceberg spec, "Column Projection" rule 2), which Spark, Trino,
 * pyiceberg, iceberg-rust and DuckDB's reader honour for files without ids.
 */
import type { ColumnKind, ColumnSpec } from '../columns.js';
import { FACT_TABLE, TABLES, type TableDef } from '../schema.js';
import { epochDay } from '../../partitions/index.js';

/** The kinds a partition value can have here (an identity partition of a date, a string or a long). */
export type PartitionKind = 'date' | 'utf8' | 'int64';

export interface IcebergTableDef {
  /** Warehouse table (directory) name, also the Iceberg table name. */
  readonly table: string;
  /** The columns of the data files (field id = position + 1). */
  readonly columns: readonly ColumnSpec[];
  /**
   * A partition key that is only the folder's name, not a column of the files (billing's `run`): declared as an
   * Iceberg column with field id FOLDER_KEY_FIELD_ID, filled by readers from the manifest's identity partition
   * value (Iceberg spec, Column Projection rule 1: a Hive table migrated in place). Null when the key is a column.
   */
  readonly folderKey: ColumnSpec | null;
  /** The column the table is partitioned by (identity partition): a file column, or `folderKey`. */
  readonly partitionKey: string;
  readonly partitionKind: PartitionKind;
  /** The Hive folder key of its partitions (`<dirKey>=<value>` directories). */
  readonly dirKey: string;
  /** Manifests per month of a day partition (`month`), or one per partition (`partition`: few, or one a bill run). */
  readonly manifestGroup: 'month' | 'partition';
  /** Columns that identify a row (Iceberg identifier-field-ids). */
  readonly identifier: readonly string[];
  /** The in-partition sort order of files marked sorted, or [] when the table declares none. */
  readonly sortColumns: readonly string[];
  /** Column holding the instant whose min/max the manifest records per file (facts: event_ts). */
  readonly tsColumn: string | null;
}

/** What the Iceberg view adds to a declared table (warehouse/schema.ts TABLES): identity, sort order, the instant bounded per file. */
const EXTRAS: Readonly<Record<string, Pick<IcebergTableDef, 'identifier' | 'sortColumns' | 'tsColumn'>>> = {
  [FACT_TABLE]: { identifier: ['event_id'], sortColumns: ['billing_source', 'event_type', 'event_ts', 'seqn', 'event_id'], tsColumn: 'event_ts' },
  billing_records: { identifier: ['record_id'], sortColumns: [], tsColumn: null },
  billing_assignments: { identifier: ['event_id'], sortColumns: [], tsColumn: null },
};
const NO_EXTRAS = { identifier: [], sortColumns: [], tsColumn: null };

/** The Iceberg description of a declared table: columns, partitioning and types all from its TableDef. */
export function icebergTableDef(def: TableDef): IcebergTableDef {
  const col = def.columns.find((c) => c.name === def.partitionKey);
  if (col && def.folderKeyKind) throw new Error(`internal: ${def.name}'s partition key ${def.partitionKey} is a column of its files and also declared folder-only`);
  if (!col && !def.folderKeyKind) throw new Error(`internal: ${def.name}'s partition key ${def.partitionKey} is neither a column of its files nor declared folder-only (folderKeyKind)`);
  const folderKey: ColumnSpec | null = col ? null : { name: def.partitionKey, kind: def.folderKeyKind!, nullable: false, doc: `partition: the value of the folder ${def.dirKey ?? def.partitionKey}=<value> (not a column of the files)` };
  const kind = (col ?? folderKey)!.kind;
  if (kind !== 'date' && kind !== 'utf8' && kind !== 'int64') throw new Error(`internal: ${def.name} is partitioned by ${def.partitionKey} of kind ${kind}; the Iceberg view supports date, utf8 and int64`);
  return {
    table: def.name,
    columns: def.columns,
    folderKey,
    partitionKey: def.partitionKey,
    partitionKind: kind,
    dirKey: def.dirKey ?? def.partitionKey,
    manifestGroup: kind === 'date' ? 'month' : 'partition',
    ...(EXTRAS[def.name] ?? NO_EXTRAS),
  };
}

/** Every declared table, in TABLES order: the fact and quarantine tables, billing records and assignments, the MRR state. */
export const ICEBERG_TABLES: readonly IcebergTableDef[] = [...TABLES.values()].map(icebergTableDef);

/** Partition field ids start at 1000 (Iceberg convention). */
export const PARTITION_FIELD_ID = 1000;
/** Field id of a folder-only partition key: far above the file columns' ids, so appending a file column never renumbers it. */
export const FOLDER_KEY_FIELD_ID = 10_000;
export const SORT_ORDER_ID = 1;

export function icebergType(kind: ColumnKind): string {
  switch (kind) {
    case 'utf8':
      return 'string';
    case 'int64':
      return 'long';
    case 'bool':
      return 'boolean';
    case 'timestamp_us_utc':
      return 'timestamptz';
    case 'date':
      return 'date';
    case 'decimal38_9':
      return 'decimal(38, 9)';
  }
}

/** Field id of a column: its 1-based position in the ColumnSpec list (columns are only ever appended); a folder-only key FOLDER_KEY_FIELD_ID. */
export function fieldId(def: IcebergTableDef, column: string): number {
  if (def.folderKey?.name === column) return FOLDER_KEY_FIELD_ID;
  const i = def.columns.findIndex((c) => c.name === column);
  if (i < 0) throw new Error(`internal: table ${def.table} has no column ${column}`);
  return i + 1;
}

/** The highest field id (the metadata's last-column-id). */
export function lastColumnId(def: IcebergTableDef): number {
  return def.folderKey ? FOLDER_KEY_FIELD_ID : def.columns.length;
}

export function icebergSchema(def: IcebergTableDef) {
  const field = (c: ColumnSpec) => ({ id: fieldId(def, c.name), name: c.name, required: !c.nullable, type: icebergType(c.kind), ...(c.doc ? { doc: c.doc } : {}) });
  const schema: Record<string, unknown> = {
    type: 'struct',
    'schema-id': 0,
    fields: [...def.columns.map(field), ...(def.folderKey ? [field(def.folderKey)] : [])],
  };
  if (def.identifier.length > 0) schema['identifier-field-ids'] = def.identifier.map((c) => fieldId(def, c));
  return schema;
}

/** Field ids to the files' column names (a folder-only key is in no file: readers take it from the partition). */
export function nameMapping(def: IcebergTableDef): string {
  return JSON.stringify(def.columns.map((c, i) => ({ 'field-id': i + 1, names: [c.name] })));
}

export function partitionSpec(def: IcebergTableDef) {
  return { 'spec-id': 0, fields: [{ name: def.partitionKey, transform: 'identity', 'source-id': fieldId(def, def.partitionKey), 'field-id': PARTITION_FIELD_ID }] };
}

export function sortOrders(def: IcebergTableDef) {
  const unsorted = { 'order-id': 0, fields: [] };
  if (def.sortColumns.length === 0) return [unsorted];
  return [unsorted, { 'order-id': SORT_ORDER_ID, fields: def.sortColumns.map((c) => ({ transform: 'identity', 'source-id': fieldId(def, c), direction: 'asc', 'null-order': 'nulls-first' })) }];
}

/** Single-value binary serialization (Iceberg spec Appendix D) of a date: int32 days, little-endian. */
export function dateBound(days: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(days);
  return b;
}

/** Single-value binary serialization of a timestamptz: int64 microseconds from the epoch, little-endian. */
export function timestampBound(micros: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(micros);
  return b;
}

/** Single-value binary serialization of a long: int64, little-endian. */
export function longBound(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
}

/** A partition value as the manifest stores it: days since the epoch (date), the text (string), the number (long). */
export type PartitionValue = number | string;

/** The identity partition value of a partition directory `<dirKey>=<value>`, in the table's partition type. */
export function partitionValue(def: IcebergTableDef, dir: string): PartitionValue {
  const prefix = `${def.dirKey}=`;
  const text = dir.startsWith(prefix) ? dir.slice(prefix.length) : null;
  if (def.partitionKind === 'date') {
    if (text === null || !/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new Error(`internal: partition directory "${dir}" of ${def.table} is not ${def.dirKey}=YYYY-MM-DD`);
    return epochDay(text);
  }
  if (def.partitionKind === 'int64') {
    if (text === null || !/^\d{1,15}$/.test(text)) throw new Error(`internal: partition directory "${dir}" of ${def.table} is not ${def.dirKey}=<number>`);
    return Number(text);
  }
  if (text === null || text === '') throw new Error(`internal: partition directory "${dir}" of ${def.table} is not ${def.dirKey}=<value>`);
  return text;
}

/** The single-value binary serialization of a partition value (Iceberg spec Appendix D). */
export function partitionBound(def: IcebergTableDef, v: PartitionValue): Buffer {
  if (def.partitionKind === 'date') return dateBound(v as number);
  if (def.partitionKind === 'int64') return longBound(v as number);
  return Buffer.from(v as string, 'utf8');
}

/** Orders partition values as Iceberg compares them (numbers; strings by their UTF-8 bytes). */
export function comparePartitionValues(a: PartitionValue, b: PartitionValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return Buffer.compare(Buffer.from(String(a), 'utf8'), Buffer.from(String(b), 'utf8'));
}

/** The name of the manifest group of a partition directory: `YYYY-MM` for day partitions, else the folder's value. */
export function manifestGroupOf(def: IcebergTableDef, dir: string): string {
  const value = dir.slice(dir.indexOf('=') + 1);
  return def.manifestGroup === 'month' ? value.slice(0, 7) : value;
}

/** µs since the epoch of ISO text `YYYY-MM-DDTHH:MM:SS.ffffffZ` (as the manifests record min/max), exact. */
export function isoToMicros(iso: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) throw new Error(`internal: "${iso}" is not an ISO UTC instant`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}
