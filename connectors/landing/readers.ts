/**
 * File readers: one landed file (CSV, JSON lines, JSON pages; gzip by extension) → raw records with their
 * line/position. A record that cannot be parsed is still yielded, with `parseError` set, so it reaches
 * quarantine: nothing is dropped. Whole files are read into memory once (the same bytes are hashed).
 */
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { RecordError } from '../../events/errors.js';
import type { FileFormat, ObjectSpec } from '../../config/sources.js';
import { asList, resolveRecordsPath, getPath } from '../paths.js';
import type { RawRecord } from '../types.js';

export interface FileName {
  prefix: string;
  suffix: string | null;
  format: FileFormat;
  gzip: boolean;
}

const NAME_RE = /^([A-Za-z0-9_]+)(?:-([^.]+))?\.(csv|jsonl|json)(\.gz)?$/;

/** `invoice_item-2.csv.gz` → {prefix: invoice_item, suffix: 2, format: csv, gzip: true}; null when not a data file. */
export function parseFileName(name: string): FileName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  return { prefix: m[1]!, suffix: m[2] ?? null, format: m[3] as FileFormat, gzip: m[4] !== undefined };
}

function malformed(file: string, message: string, value: unknown, where: { line?: number; position?: number }): RecordError {
  return new RecordError('MALFORMED_RECORD', message, value, { file, ...where });
}

/** Reads the records of one file. `file` is the landing-relative path used in locations. */
export async function* readRecords(bytes: Buffer, name: FileName, spec: ObjectSpec, file: string): AsyncGenerator<RawRecord> {
  let buf = bytes;
  if (name.gzip) {
    try {
      buf = gunzipSync(bytes);
    } catch (e) {
      const err = malformed(file, `file is not valid gzip: ${(e as Error).message}`, null, { position: 0 });
      yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText: `(${bytes.length} bytes of invalid gzip)`, parseError: err };
      return;
    }
  }
  if (name.format === 'csv') yield* readCsv(buf, spec, file);
  else if (name.format === 'jsonl') yield* readJsonLines(buf.toString('utf8'), spec, file);
  else yield* readJsonPages(buf.toString('utf8'), spec, file);
}

function* readCsv(buf: Buffer, spec: ObjectSpec, file: string): Generator<RawRecord> {
  const skipped: RawRecord[] = [];
  // The whole file is in memory already (it was hashed): the synchronous parser avoids stream overhead.
  const rows = parseCsv(buf, {
    delimiter: spec.csv?.delimiter ?? ',',
    bom: true,
    info: true,
    raw: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err, raw) => {
      const line = Number(err?.lines ?? 0);
      const error = malformed(file, `unparseable CSV record: ${err?.message ?? 'unknown error'}`, raw ?? null, { line });
      skipped.push({ object: spec.object, data: {}, location: { file, line }, rawText: raw ?? '', parseError: error });
      return undefined;
    },
  }) as unknown as { record: string[]; info: { lines: number }; raw: string }[];
  let header: string[] | null = null;
  for (const { record, info, raw } of rows) {
    if (header === null) {
      header = record.map((h) => h.trim());
      continue;
    }
    const line = info.lines;
    if (record.length !== header.length) {
      const rawText = raw.replace(/\r?\n$/, '');
      const err = malformed(file, `row has ${record.length} fields but the header has ${header.length}: columns are shifted or the row is cut`, rawText, { line });
      yield { object: spec.object, data: {}, location: { file, line }, rawText, parseError: err };
      continue;
    }
    const data: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) data[header[i]!] = record[i];
    yield { object: spec.object, data, location: { file, line } };
  }
  yield* skipped;
}

function pickRecord(value: unknown, paths: string[]): unknown {
  for (const p of paths) {
    const v = getPath(value, p);
    if (v !== undefined) return v;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function* readJsonLines(text: string, spec: ObjectSpec, file: string): Generator<RawRecord> {
  const lines = text.split('\n');
  const paths = asList(spec.recordPath);
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i]!.replace(/\r$/, '');
    if (lineText.trim() === '') continue;
    const line = i + 1;
    let parsed: unknown;
    try {
      parsed = parseLossless(lineText);
    } catch (e) {
      yield { object: spec.object, data: {}, location: { file, line }, rawText: lineText, parseError: malformed(file, `line is not valid JSON: ${(e as Error).message}`, lineText, { line }) };
      continue;
    }
    const rec = pickRecord(parsed, paths);
    if (!isObject(rec)) {
      const err = malformed(file, `line holds no JSON object at ${paths.join(' or ')}`, lineText, { line });
      yield { object: spec.object, data: {}, location: { file, line }, rawText: lineText, parseError: err };
      continue;
    }
    yield { object: spec.object, data: rec, location: { file, line }, rawText: lineText };
  }
}

function* readJsonPages(text: string, spec: ObjectSpec, file: string): Generator<RawRecord> {
  let doc: unknown;
  try {
    doc = parseLossless(text);
  } catch (e) {
    const err = malformed(file, `file is not valid JSON: ${(e as Error).message}`, null, { position: 0 });
    yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText: text, parseError: err };
    return;
  }
  const paths = asList(spec.recordsPath);
  let records: unknown[] | null = null;
  for (const p of paths) {
    records = resolveRecordsPath(doc, p);
    if (records !== null) break;
  }
  if (records === null) {
    const err = malformed(file, `no records at ${paths.join(' or ')} in this document`, null, { position: 0 });
    yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText: text, parseError: err };
    return;
  }
  for (let position = 0; position < records.length; position++) {
    const rec = records[position];
    if (!isObject(rec)) {
      const rawText = rec === undefined ? 'undefined' : String(stringifyLossless(rec));
      const err = malformed(file, `record ${position} at ${paths.join(' or ')} is not a JSON object`, rawText, { position });
      yield { object: spec.object, data: {}, location: { file, position }, rawText, parseError: err };
      continue;
    }
    yield { object: spec.object, data: rec, location: { file, position } };
  }
}
