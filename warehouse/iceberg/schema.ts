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
import { FACT_COLUMNS, FACT_DIR_KEY, FACT_PARTITION_KEY, FACT_TABLE, QUARANTINE_COLUMNS, QUARANTINE_DIR_KEY, QUARANTINE_PARTITION_KEY, QUARANTINE_TABLE } from '../schema.js';
import { epochDay } from '../../partitions/index.js';

export interface IcebergTableDef {
  /** Warehouse table (directory) name, also the Iceberg table name. */
  readonly table: string;
  readonly columns: readonly ColumnSpec[];
  /** The DATE column (in the data files) the table is partitioned by: an identity partition in Iceberg. */
  readonly partitionKey: string;
  /** The Hive folder key of its partitions (`<dirKey>=YYYY-MM-DD` directories; not a column). */
  readonly dirKey: string;
  /** Columns that identify a row (Iceberg identifier-field-ids). */
  readonly identifier: readonly string[];
  /** The in-partition sort order of files marked sorted, or [] when the table declares none. */
  readonly sortColumns: readonly string[];
  /** Column holding the instant whose min/max the manifest records per file (facts: event_ts). */
  readonly tsColumn: string | null;
}

export const ICEBERG_TABLES: readonly IcebergTableDef[] = [
  { table: FACT_TABLE, columns: FACT_COLUMNS, partitionKey: FACT_PARTITION_KEY, dirKey: FACT_DIR_KEY, identifier: ['event_id'], sortColumns: ['billing_source', 'event_type', 'event_ts', 'seqn', 'event_id'], tsColumn: 'event_ts' },
  { table: QUARANTINE_TABLE, columns: QUARANTINE_COLUMNS, partitionKey: QUARANTINE_PARTITION_KEY, dirKey: QUARANTINE_DIR_KEY, identifier: [], sortColumns: [], tsColumn: null },
];

/** Partition field ids start at 1000 (Iceberg convention). */
export const PARTITION_FIELD_ID = 1000;
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

/** Field id of a column: its 1-based position in the ColumnSpec list (columns are only ever appended). */
export function fieldId(def: IcebergTableDef, column: string): number {
  const i = def.columns.findIndex((c) => c.name === column);
  if (i < 0) throw new Error(`internal: table ${def.table} has no column ${column}`);
  return i + 1;
}

export function icebergSchema(def: IcebergTableDef) {
  const schema: Record<string, unknown> = {
    type: 'struct',
    'schema-id': 0,
    fields: def.columns.map((c, i) => ({ id: i + 1, name: c.name, required: !c.nullable, type: icebergType(c.kind), ...(c.doc ? { doc: c.doc } : {}) })),
  };
  if (def.identifier.length > 0) schema['identifier-field-ids'] = def.identifier.map((c) => fieldId(def, c));
  return schema;
}

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

/** Days since the epoch of a Hive partition value `YYYY-MM-DD`. */
export function partitionDays(dir: string, key: string): number {
  const m = new RegExp(`^${key}=(\\d{4}-\\d{2}-\\d{2})$`).exec(dir);
  if (!m) throw new Error(`internal: partition directory "${dir}" is not ${key}=YYYY-MM-DD`);
  return epochDay(m[1]!);
}

/** µs since the epoch of ISO text `YYYY-MM-DDTHH:MM:SS.ffffffZ` (as the manifests record min/max), exact. */
export function isoToMicros(iso: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) throw new Error(`internal: "${iso}" is not an ISO UTC instant`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}
