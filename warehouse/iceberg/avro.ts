/**
 * Iceberg v2 manifests and manifest lists as Avro object container files (avsc). The Avro schemas carry the
 * Iceberg field ids (`field-id`, `element-id`, `key-id`, `value-id`), as the spec requires: readers such as
 * the Java library resolve manifest fields by id. Encoding is deterministic (the sync marker derives from the
 * file's name), so re-publishing a version after a crash writes the same bytes.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import avro from 'avsc';
import { PARTITION_FIELD_ID, type PartitionKind, type PartitionValue } from './schema.js';

/** A manifest entry as this module writes and reads it (longs as JS numbers: every value here is far below 2^53). */
export interface ManifestEntry {
  /** 0 existing, 1 added, 2 deleted. */
  status: 0 | 1 | 2;
  snapshot_id: number | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: {
    content: 0;
    file_path: string;
    file_format: 'PARQUET';
    /** The identity partition value: days since the epoch (date), the text (string) or the number (long). */
    partition: { [partitionName: string]: PartitionValue | null };
    record_count: number;
    file_size_in_bytes: number;
    lower_bounds: { key: number; value: Buffer }[] | null;
    upper_bounds: { key: number; value: Buffer }[] | null;
    sort_order_id: number | null;
  };
}

export interface ManifestFile {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: 0;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: number;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: { contains_null: boolean; contains_nan: boolean | null; lower_bound: Buffer | null; upper_bound: Buffer | null }[] | null;
}

const opt = (type: unknown) => ['null', type];
/** A required Avro field with its Iceberg field id. */
const req = (name: string, type: unknown, id: number) => ({ name, type, 'field-id': id });
/** An optional (null-unioned) Avro field with its Iceberg field id. */
const nul = (name: string, type: unknown, id: number) => ({ name, type: opt(type), default: null, 'field-id': id });

function boundsMap(name: string, id: number, keyId: number, valueId: number) {
  return {
    name,
    type: opt({ type: 'array', logicalType: 'map', items: { type: 'record', name: `k${keyId}_v${valueId}`, fields: [{ name: 'key', type: 'int', 'field-id': keyId }, { name: 'value', type: 'bytes', 'field-id': valueId }] } }),
    default: null,
    'field-id': id,
  };
}

const PARTITION_AVRO_TYPES: Readonly<Record<PartitionKind, unknown>> = { date: { type: 'int', logicalType: 'date' }, int64: 'long', utf8: 'string' };

/** The manifest_entry schema of a table whose partition spec is one identity field named `partitionName` of `kind`. */
export function manifestEntrySchema(partitionName: string, kind: PartitionKind) {
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      req('status', 'int', 0),
      nul('snapshot_id', 'long', 1),
      nul('sequence_number', 'long', 3),
      nul('file_sequence_number', 'long', 4),
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            req('content', 'int', 134),
            req('file_path', 'string', 100),
            req('file_format', 'string', 101),
            {
              name: 'partition',
              'field-id': 102,
              type: { type: 'record', name: 'r102', fields: [{ name: partitionName, type: opt(PARTITION_AVRO_TYPES[kind]), default: null, 'field-id': PARTITION_FIELD_ID }] },
            },
            req('record_count', 'long', 103),
            req('file_size_in_bytes', 'long', 104),
            boundsMap('lower_bounds', 125, 126, 127),
            boundsMap('upper_bounds', 128, 129, 130),
            nul('sort_order_id', 'int', 140),
          ],
        },
      },
    ],
  };
}

export const MANIFEST_FILE_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    // [name, Avro type, Iceberg field id], as in the spec's manifest_file table
    ...(
      [
        ['manifest_path', 'string', 500], ['manifest_length', 'long', 501], ['partition_spec_id', 'int', 502], ['content', 'int', 517],
        ['sequence_number', 'long', 515], ['min_sequence_number', 'long', 516], ['added_snapshot_id', 'long', 503],
        ['added_files_count', 'int', 504], ['existing_files_count', 'int', 505], ['deleted_files_count', 'int', 506],
        ['added_rows_count', 'long', 512], ['existing_rows_count', 'long', 513], ['deleted_rows_count', 'long', 514],
      ] as const
    ).map(([name, type, id]) => req(name, type, id)),
    {
      name: 'partitions',
      type: opt({
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            req('contains_null', 'boolean', 509),
            nul('contains_nan', 'boolean', 518),
            nul('lower_bound', 'bytes', 510),
            nul('upper_bound', 'bytes', 511),
          ],
        },
      }),
      default: null,
      'field-id': 507,
    },
  ],
};

/** An Avro object container file of `records`, with `metadata` in its header, as bytes. */
export async function encodeAvroFile(schema: object, records: readonly unknown[], metadata: Record<string, string>, name: string): Promise<Uint8Array> {
  const meta: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(metadata)) meta[k] = Buffer.from(v, 'utf8');
  const syncMarker = createHash('sha256').update(`billing-mart avro sync ${name}`).digest().subarray(0, 16);
  // A schema object (not a Type) keeps the field-id attributes in the header; writeHeader: true writes it even for zero records.
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, { codec: 'null', metadata: meta, syncMarker, writeHeader: true } as unknown as avro.EncoderOptions);
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const done = pipeline(encoder, sink);
  for (const r of records) encoder.write(r);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** The records and header metadata of an Avro object container file. */
export async function decodeAvroFile<T>(bytes: Uint8Array): Promise<{ records: T[]; metadata: Record<string, string> }> {
  const records: T[] = [];
  const metadata: Record<string, string> = {};
  const decoder = new avro.streams.BlockDecoder();
  decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
    for (const [k, v] of Object.entries(header.meta)) metadata[k] = v.toString('utf8');
  });
  await pipeline(
    Readable.from([Buffer.from(bytes)]),
    decoder,
    new Writable({
      objectMode: true,
      write(rec: T, _enc, cb) {
        records.push(rec);
        cb();
      },
    }),
  );
  return { records, metadata };
}
