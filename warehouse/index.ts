/** The warehouse: the Parquet fact table on disk (see docs/warehouse.md). */
export { FactTable, type TableInfo, type HistoryItem } from './table.js';
export { loadFingerprint, type IngestInput, type IngestResult, type Staged } from './ingest.js';
export { stageEventsAt } from './stage.js';
export { isCompact, type CompactResult } from './compact.js';
export { csvField, csvLine, type ExportRequest, type ExportResult } from './export.js';
export { DEFAULT_TUNING, type TuningOptions, type WarehouseOptions } from './options.js';
export { FACT_COLUMNS, FACT_TABLE, QUARANTINE_COLUMNS, QUARANTINE_TABLE, FACT_ORDER_SQL, factRowFromEvent, compareFactRows, type FactRow } from './schema.js';
export type { ColumnSpec, ColumnKind } from './columns.js';
export type { TotalRow, ManifestDocument, CommitEntry } from './state.js';
export { LocalStorage, type ObjectStorage, type Storage } from './storage.js';
export { WAREHOUSE_MARKERS } from './core.js';
export { tableDef, partitionBasis, MERGE_AT, type TableWrite } from './tables.js';
export { TABLES, BILLING_RECORDS_TABLE, BILLING_ASSIGNMENTS_TABLE, MRR_STATE_TABLE, MRR_STATE_DIR_KEY, BILLING_RECORD_COLUMNS, BILLING_ASSIGNMENT_COLUMNS, MRR_STATE_COLUMNS, type TableDef } from './schema.js';
export type { CellValue } from './columns.js';
