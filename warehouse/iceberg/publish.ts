/**
 * The Iceberg v2 view of every declared table (warehouse/schema.ts TABLES: the fact and quarantine tables,
 * billing records and assignments, the MRR state), published after every commit (see docs/warehouse.md,
 * "Iceberg"). For warehouse version N each table gets, under `iceberg/<table>/metadata/`:
 *
 *   m-<group>-v<N>.avro       a manifest for each group whose partitions changed in N (a month `YYYY-MM` of a
 *                             day-partitioned table, else one partition: a bill run, a source); unchanged groups
 *                             keep the manifest an earlier version wrote: reused, as Iceberg intends
 *   snap-v<N>.avro            the manifest list of snapshot N (one entry per group holding live files), when N
 *                             changed the table; a snapshot that changed nothing of it points at its parent's
 *   v<N>.metadata.json        table metadata; its current snapshot has id N and sequence number N
 *   version-hint.text         "N": the file-system (Hadoop) catalog's pointer, written last
 *
 * The data files are the warehouse's own immutable Parquet blobs (`_store/blobs/...`), never copied.
 * Snapshot N is exactly the state of warehouse version N; its summary carries the commit id, run, source and
 * operation. Everything is a pure function of (state N, commit N, Iceberg metadata N-1), written through
 * Storage with deterministic bytes, so publishing again after a crash is harmless: the commit path publishes
 * before it moves `current`, and recovery re-publishes a logged version whose publication was interrupted.
 *
 * Cost per commit: the touched groups' manifests (their live files), a manifest list of one entry per group,
 * and a metadata file holding the last `keepSnapshots` snapshots (older ones stay readable through their own
 * immutable v<K>.metadata.json). None of it grows with the number of commits.
 */
import { createHash } from 'node:crypto';
import { FatalError } from '../../events/errors.js';
import type { CommitEntry, FileEntry, PartitionState, TableState } from '../state.js';
import type { ObjectStorage } from '../storage.js';
import { decodeAvroFile, encodeAvroFile, manifestEntrySchema, MANIFEST_FILE_SCHEMA, type ManifestEntry, type ManifestFile } from './avro.js';
import { comparePartitionValues, fieldId, ICEBERG_TABLES, icebergSchema, isoToMicros, lastColumnId, manifestGroupOf, nameMapping, partitionBound, partitionSpec, partitionValue, PARTITION_FIELD_ID, SORT_ORDER_ID, sortOrders, timestampBound, type IcebergTableDef, type PartitionValue } from './schema.js';

export const ICEBERG_DIR = 'iceberg';
/** Snapshots kept in each metadata file (older ones: read their own v<K>.metadata.json). */
export const DEFAULT_KEEP_SNAPSHOTS = 100;

export interface IcebergOptions {
  /**
   * URI at which engines see the warehouse root (e.g. `s3://bucket/wh` after a sync, or
   * `http://host/wh`); default `file://<root>`. Every path in the metadata is absolute under it.
   */
  location?: string;
  keepSnapshots?: number;
}

export const tableDir = (table: string) => `${ICEBERG_DIR}/${table}`;
export const metadataDir = (table: string) => `${tableDir(table)}/metadata`;
export const metadataName = (version: number) => `v${version}.metadata.json`;
const manifestListName = (version: number) => `snap-v${version}.avro`;
const manifestName = (group: string, version: number) => `m-${group}-v${version}.avro`;
/** The group and version of a manifest's path (a group may hold '-' and 'v': the version is the last `-v<N>`). */
const MANIFEST_RE = /\/m-(.+)-v(\d+)\.avro$/;

export function locationRoot(storage: ObjectStorage, o: IcebergOptions): string {
  if (o.location) return o.location.replace(/\/+$/, '');
  if (storage.root.startsWith('/')) return `file://${storage.root.replace(/\/+$/, '')}`;
  throw new FatalError(`the Iceberg view of ${storage.root} needs its location (the URI engines read the warehouse at): set iceberg.location`);
}

/** A UUID (v4 layout) derived from text, so the same table gets the same uuid when rebuilt. */
function stableUuid(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Metadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: unknown[];
  'default-spec-id': number;
  'partition-specs': unknown[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': unknown[];
  properties: Record<string, string>;
  'current-snapshot-id': number;
  refs: Record<string, { 'snapshot-id': number; type: 'branch' }>;
  snapshots: Snapshot[];
  statistics: unknown[];
  'snapshot-log': { 'timestamp-ms': number; 'snapshot-id': number }[];
  'metadata-log': { 'timestamp-ms': number; 'metadata-file': string }[];
}

interface Snapshot {
  'snapshot-id': number;
  'parent-snapshot-id'?: number;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: Record<string, string>;
  'schema-id': number;
}

/**
 * Publishes warehouse version `entry.version` (whose state is `state`) to every Iceberg table. Call after the
 * commit point and before the version becomes `current`.
 */
export async function publishIceberg(storage: ObjectStorage, state: TableState, entry: CommitEntry, o: IcebergOptions = {}, faults?: (point: string) => void | Promise<void>): Promise<void> {
  if (state.version !== entry.version) throw new Error(`internal: Iceberg publish of version ${entry.version} got the state of version ${state.version}`);
  for (const def of ICEBERG_TABLES) await publishTable(storage, def, state, entry, o, faults);
}

async function readPrevious(storage: ObjectStorage, def: IcebergTableDef, version: number, location: string): Promise<{ meta: Metadata; manifests: ManifestFile[] } | null> {
  if (version < 1) return null;
  const text = await storage.readText(`${metadataDir(def.table)}/${metadataName(version)}`);
  if (text === null) return null;
  let meta: Metadata;
  try {
    meta = JSON.parse(text) as Metadata;
  } catch (e) {
    throw new FatalError(`Iceberg metadata ${storage.root}/${metadataDir(def.table)}/${metadataName(version)} is not valid JSON (${(e as Error).message}); delete ${storage.root}/${tableDir(def.table)} and the next commit rebuilds it`, { cause: e });
  }
  // A moved location or a snapshot that is not this version's: start over from the warehouse state.
  if (meta.location !== `${location}/${tableDir(def.table)}` || meta['current-snapshot-id'] !== version) return null;
  const snap = meta.snapshots.find((s) => s['snapshot-id'] === version)!;
  const listBytes = await storage.read(relOf(snap['manifest-list'], location));
  if (listBytes === null) return null;
  const { records } = await decodeAvroFile<ManifestFile>(listBytes);
  return { meta, manifests: records };
}

function relOf(uri: string, location: string): string {
  if (!uri.startsWith(`${location}/`)) throw new Error(`internal: ${uri} is not under ${location}`);
  return uri.slice(location.length + 1);
}

function fileBounds(def: IcebergTableDef, p: PartitionState, f: FileEntry): Pick<ManifestEntry['data_file'], 'lower_bounds' | 'upper_bounds'> {
  // a folder-only key is in no file: no column bounds for it (its value is the partition's)
  const value = partitionValue(def, p.dir);
  const lower = def.folderKey ? [] : [{ key: fieldId(def, def.partitionKey), value: partitionBound(def, value) }];
  const upper = def.folderKey ? [] : [{ key: fieldId(def, def.partitionKey), value: partitionBound(def, value) }];
  if (def.tsColumn && f.minTs && f.maxTs) {
    lower.push({ key: fieldId(def, def.tsColumn), value: timestampBound(isoToMicros(f.minTs)) });
    upper.push({ key: fieldId(def, def.tsColumn), value: timestampBound(isoToMicros(f.maxTs)) });
  }
  return { lower_bounds: lower.length ? lower : null, upper_bounds: upper.length ? upper : null };
}

async function publishTable(storage: ObjectStorage, def: IcebergTableDef, state: TableState, entry: CommitEntry, o: IcebergOptions, faults?: (point: string) => void | Promise<void>): Promise<void> {
  const N = entry.version;
  const root = locationRoot(storage, o);
  const tableLocation = `${root}/${tableDir(def.table)}`;
  const mdir = metadataDir(def.table);
  const prev = await readPrevious(storage, def, N - 1, root);
  const parts = [...state.partitions.values()].filter((p) => p.table === def.table);
  const groupOf = (dir: string) => manifestGroupOf(def, dir);
  const byGroup = new Map<string, PartitionState[]>();
  for (const p of parts) byGroup.set(groupOf(p.dir), [...(byGroup.get(groupOf(p.dir)) ?? []), p]);

  const prevByGroup = new Map<string, ManifestFile>();
  for (const m of prev?.manifests ?? []) prevByGroup.set(MANIFEST_RE.exec(m.manifest_path)![1]!, m);
  const touched = prev ? new Set(entry.changes.filter((c) => c.path.startsWith(`${def.table}/`)).map((c) => groupOf(c.path.slice(def.table.length + 1)))) : new Set([...byGroup.keys()]);
  const added = new Set(entry.added);

  const list: ManifestFile[] = [];
  const stats = { addedFiles: 0, deletedFiles: 0, addedRows: 0, deletedRows: 0 };
  const groups = [...new Set([...byGroup.keys(), ...prevByGroup.keys()])].sort();
  for (const group of groups) {
    const old = prevByGroup.get(group);
    if (!touched.has(group)) {
      // reused as it is, unless it holds only deleted entries (nothing live left to list)
      if (old && old.added_files_count + old.existing_files_count > 0) list.push(old);
      continue;
    }
    const before = new Map<string, ManifestEntry>();
    if (old) {
      const { records } = await decodeAvroFile<ManifestEntry>((await storage.read(relOf(old.manifest_path, root))) ?? failMissing(storage, old.manifest_path));
      for (const e of records) if (e.status !== 2) before.set(e.data_file.file_path, e);
    }
    const entries: ManifestEntry[] = [];
    const live = new Set<string>();
    for (const p of (byGroup.get(group) ?? []).sort((a, b) => (a.dir < b.dir ? -1 : 1))) {
      for (const f of p.files) {
        const file_path = `${root}/${f.blob}`;
        live.add(file_path);
        const was = before.get(file_path);
        const data_file: ManifestEntry['data_file'] = {
          content: 0,
          file_path,
          file_format: 'PARQUET',
          partition: { [def.partitionKey]: partitionValue(def, p.dir) },
          record_count: f.rows,
          file_size_in_bytes: f.bytes,
          ...fileBounds(def, p, f),
          sort_order_id: def.sortColumns.length > 0 && f.sorted ? SORT_ORDER_ID : null,
        };
        if (was && !added.has(f.blob)) entries.push({ status: 0, snapshot_id: was.snapshot_id, sequence_number: was.sequence_number, file_sequence_number: was.file_sequence_number, data_file });
        else {
          entries.push({ status: 1, snapshot_id: N, sequence_number: N, file_sequence_number: N, data_file });
          stats.addedFiles++;
          stats.addedRows += f.rows;
        }
      }
    }
    for (const [file_path, e] of before) {
      if (live.has(file_path)) continue;
      entries.push({ ...e, status: 2, snapshot_id: N });
      stats.deletedFiles++;
      stats.deletedRows += e.data_file.record_count;
    }
    if (entries.length === 0) continue;
    const name = manifestName(group, N);
    const bytes = await encodeAvroFile(manifestEntrySchema(def.partitionKey, def.partitionKind), entries, manifestHeader(def), `${def.table}/${name}`);
    await storage.writeDurable(`${mdir}/${name}`, bytes);
    list.push(manifestFileOf(def, `${tableLocation}/metadata/${name}`, bytes.length, N, entries));
  }

  const parentId = prev ? N - 1 : undefined;
  // A commit that changed nothing of this table (most commits, for the billing tables) lists exactly the parent's
  // manifests: its snapshot points at the parent's manifest list instead of writing the same entries again.
  const unchanged = prev !== null && !entry.changes.some((c) => c.path.startsWith(`${def.table}/`));
  let listUri: string;
  if (unchanged) listUri = prev!.meta.snapshots.find((s) => s['snapshot-id'] === N - 1)!['manifest-list'];
  else {
    const listName = manifestListName(N);
    const listBytes = await encodeAvroFile(MANIFEST_FILE_SCHEMA, list, { 'snapshot-id': String(N), ...(parentId ? { 'parent-snapshot-id': String(parentId) } : {}), 'sequence-number': String(N), 'format-version': '2' }, `${def.table}/${listName}`);
    await storage.writeDurable(`${mdir}/${listName}`, listBytes);
    listUri = `${tableLocation}/metadata/${listName}`;
  }
  if (faults) await faults(`iceberg:${def.table}:after-manifest-list`);

  const totalFiles = parts.reduce((n, p) => n + p.files.length, 0);
  const totalRows = parts.reduce((n, p) => n + p.files.reduce((m, f) => m + f.rows, 0), 0);
  const totalBytes = parts.reduce((n, p) => n + p.files.reduce((m, f) => m + f.bytes, 0), 0);
  const ts = Date.parse(entry.committedAt);
  const snapshot: Snapshot = {
    'snapshot-id': N,
    ...(parentId ? { 'parent-snapshot-id': parentId } : {}),
    'sequence-number': N,
    'timestamp-ms': ts,
    'manifest-list': listUri,
    summary: {
      operation: icebergOperation(entry, stats),
      'added-data-files': String(stats.addedFiles),
      'deleted-data-files': String(stats.deletedFiles),
      'added-records': String(stats.addedRows),
      'deleted-records': String(stats.deletedRows),
      'total-data-files': String(totalFiles),
      'total-records': String(totalRows),
      'total-files-size': String(totalBytes),
      'total-delete-files': '0',
      'total-position-deletes': '0',
      'total-equality-deletes': '0',
      'changed-partition-count': String(entry.changes.filter((c) => c.path.startsWith(`${def.table}/`)).length),
      'billing-mart.version': String(N),
      'billing-mart.commit-id': entry.commitId,
      'billing-mart.operation': entry.operation,
      ...(entry.runId ? { 'billing-mart.run-id': entry.runId } : {}),
      ...(entry.source ? { 'billing-mart.source': entry.source } : {}),
    },
    'schema-id': 0,
  };
  const keep = Math.max(1, o.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS);
  const snapshots = [...(prev?.meta.snapshots ?? []), snapshot].slice(-keep);
  const snapshotLog = [...(prev?.meta['snapshot-log'] ?? []), { 'timestamp-ms': ts, 'snapshot-id': N }].slice(-keep);
  const metadataLog = prev ? [...prev.meta['metadata-log'], { 'timestamp-ms': prev.meta['last-updated-ms'], 'metadata-file': `${tableLocation}/metadata/${metadataName(N - 1)}` }].slice(-keep) : [];
  const meta: Metadata = {
    'format-version': 2,
    'table-uuid': prev?.meta['table-uuid'] ?? stableUuid(`${tableLocation}|${entry.commitId}`),
    location: tableLocation,
    'last-sequence-number': N,
    'last-updated-ms': ts,
    'last-column-id': lastColumnId(def),
    'current-schema-id': 0,
    schemas: [icebergSchema(def)],
    'default-spec-id': 0,
    'partition-specs': [partitionSpec(def)],
    'last-partition-id': PARTITION_FIELD_ID,
    'default-sort-order-id': def.sortColumns.length > 0 ? SORT_ORDER_ID : 0,
    'sort-orders': sortOrders(def),
    properties: {
      'schema.name-mapping.default': nameMapping(def),
      'write.format.default': 'parquet',
      'write.parquet.compression-codec': 'zstd',
      'billing-mart.managed': 'read-only view of the billing-mart warehouse; every commit is made by billing-mart, never write through an engine',
    },
    'current-snapshot-id': N,
    refs: { main: { 'snapshot-id': N, type: 'branch' } },
    snapshots,
    statistics: [],
    'snapshot-log': snapshotLog,
    'metadata-log': metadataLog,
  };
  await storage.writeDurable(`${mdir}/${metadataName(N)}`, JSON.stringify(meta, null, 1) + '\n');
  await storage.writeDurable(`${mdir}/version-hint.text`, String(N));
}

function failMissing(storage: ObjectStorage, uri: string): never {
  throw new FatalError(`Iceberg manifest ${uri} is missing under ${storage.root}/${ICEBERG_DIR}; delete that directory and the next commit rebuilds the view from the warehouse`);
}

function icebergOperation(entry: CommitEntry, s: { addedFiles: number; deletedFiles: number }): string {
  if (entry.operation === 'compact' || (s.addedFiles === 0 && s.deletedFiles === 0)) return 'replace';
  if (s.deletedFiles === 0) return 'append';
  return s.addedFiles === 0 ? 'delete' : 'overwrite';
}

function manifestHeader(def: IcebergTableDef): Record<string, string> {
  return {
    schema: JSON.stringify(icebergSchema(def)),
    'schema-id': '0',
    'partition-spec': JSON.stringify(partitionSpec(def).fields),
    'partition-spec-id': '0',
    'format-version': '2',
    content: 'data',
  };
}

function manifestFileOf(def: IcebergTableDef, pathUri: string, length: number, version: number, entries: readonly ManifestEntry[]): ManifestFile {
  const count = (st: number) => entries.filter((e) => e.status === st);
  const rows = (es: ManifestEntry[]) => es.reduce((n, e) => n + e.data_file.record_count, 0);
  const liveSeqs = entries.filter((e) => e.status !== 2).map((e) => e.sequence_number ?? version);
  const values = entries.map((e) => e.data_file.partition[def.partitionKey] as PartitionValue).sort(comparePartitionValues);
  return {
    manifest_path: pathUri,
    manifest_length: length,
    partition_spec_id: 0,
    content: 0,
    sequence_number: version,
    min_sequence_number: liveSeqs.length > 0 ? Math.min(...liveSeqs) : version,
    added_snapshot_id: version,
    added_files_count: count(1).length,
    existing_files_count: count(0).length,
    deleted_files_count: count(2).length,
    added_rows_count: rows(count(1)),
    existing_rows_count: rows(count(0)),
    deleted_rows_count: rows(count(2)),
    partitions: [{ contains_null: false, contains_nan: null, lower_bound: partitionBound(def, values[0]!), upper_bound: partitionBound(def, values[values.length - 1]!) }],
  };
}
