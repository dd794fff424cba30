/**
 * File readers: one landed file (CSV, JSON lines, JSON pages; gzip by extension) → raw records with their
 * line/position. A record that cannot be parsed is still yielded, with `parseError` set, so it reaches
 * quarantine: nothing is dropped. A source is a buffer (a landing file of at most WHOLE_FILE_BYTES, read once) or
 * a stream (bytes.ts): memory is bounded by a few chunks and one record (at most `maxRecordBytes`), whatever the
 * size of the file. First whether the file is valid gzip and valid UTF-8 (both decide how every record is read; a
 * stream is read once for it), then the records; a plain CSV buffer is split by splitCsvText, csv-parse otherwise.
 */
import { isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import { Parser as CsvParser } from 'csv-parse';
import { stringify as stringifyLossless } from 'lossless-json';
import { parseJson as parseLossless } from './json-parse.js';
import { RecordError, RetriableError } from '../../events/errors.js';
import type { FileFormat, ObjectSpec } from '../../config/sources.js';
import { asList, BadElement, followSegments, resolveRecordsPath, getPath } from '../paths.js';
import type { RawRecord } from '../types.js';
import { asBuffer, chunksOf, completeUpTo, gunzipped, textOf, Utf8Check, type ByteSource } from './bytes.js';
import { Chars, LazyList, NotWalkable, spineOf, walkDocument, type Scanned, type SpineNode } from './json-walk.js';

export type { ByteSource } from './bytes.js';

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

/** Default cap on one record's size (configurable: `maxRecordBytes`); a larger record is RECORD_TOO_LARGE. */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

export interface ReadLimits {
  maxRecordBytes: number;
}

/** What a quarantine entry keeps of a huge record: its start and its size, never the whole text. */
function headOf(text: string, from = 0, to = text.length): string {
  const n = to - from;
  return n <= 1024 ? text.slice(from, to) : `${text.slice(from, from + 1024)}… (${n} characters in all)`;
}

/** headOf for a record read in pieces: `head` holds its first characters (at least 1025 when it has more), `n` is its length. */
function headOfPieces(head: string, n: number): string {
  return n <= 1024 ? head : `${head.slice(0, 1024)}… (${n} characters in all)`;
}

function tooLarge(file: string, n: number, cap: number, where: { line?: number; position?: number }, rawText: string): RecordError {
  return new RecordError('RECORD_TOO_LARGE', `record is ${n} bytes, more than the ${cap}-byte limit (maxRecordBytes); not parsed`, rawText, { file, ...where });
}

/** The dotted path of the first text value holding U+FFFD (where an invalid byte sequence was decoded), or null. */
function replacedAt(v: unknown, prefix: string): string | null {
  if (typeof v === 'string') return v.includes('\uFFFD') ? prefix || '$' : null;
  if (v === null || typeof v !== 'object' || v instanceof BadElement) return null;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const hit = replacedAt(x, prefix ? `${prefix}.${k}` : k);
    if (hit) return hit;
  }
  return null;
}

/**
 * In a file that is not valid UTF-8, a record holding a replaced byte sequence is quarantined (BAD_ENCODING),
 * naming the field: `ID<FF>` and `ID<FE>` must not both become `ID\uFFFD` and collapse into one identity.
 */
async function* checkEncoding(records: AsyncIterable<RawRecord> | Iterable<RawRecord>, invalid: boolean, file: string): AsyncGenerator<RawRecord> {
  for await (const r of records) {
    const field = invalid && !r.parseError ? replacedAt(r.data, '') : null;
    if (field === null) {
      yield r;
      continue;
    }
    const where = r.location.line !== undefined ? { line: r.location.line } : { position: r.location.position ?? 0 };
    const value = getPath(r.data, field);
    const err = new RecordError('BAD_ENCODING', `field "${field}" holds bytes that are not valid UTF-8 (shown as U+FFFD); fix the export's encoding — the value is never guessed`, typeof value === 'string' ? value : null, { file, ...where, field });
    yield { ...r, data: {}, parseError: err, rawText: r.rawText ?? JSON.stringify(r.data) };
  }
}

/** What the first pass over a file's bytes tells: its size, whether it is valid gzip (when named .gz) and valid UTF-8. */
interface Probe {
  bytes: number;
  gzipError: Error | null;
  utf8: boolean;
}

async function probe(src: ByteSource, gzip: boolean): Promise<Probe> {
  if (!gzip && typeof src !== 'function') return { bytes: src.byteLength, gzipError: null, utf8: isUtf8(src) };
  let bytes = 0;
  const utf8 = new Utf8Check();
  if (!gzip) {
    for await (const c of chunksOf(src)) {
      bytes += c.length;
      utf8.push(c);
    }
    return { bytes, gzipError: null, utf8: utf8.end() };
  }
  // the whole file is read even after a gzip error: its size is reported, and a verifying source sees every byte
  const z = createGunzip();
  let gzipError: Error | null = null;
  z.on('data', (c: Buffer) => utf8.push(c));
  const done = new Promise<void>((resolve) => {
    z.on('end', resolve);
    z.on('error', (e) => {
      gzipError ??= e;
      resolve();
    });
  });
  for await (const c of chunksOf(src)) {
    bytes += c.length;
    if (gzipError === null && !z.write(c)) await Promise.race([once(z, 'drain'), done]);
  }
  if (gzipError === null) z.end();
  await done;
  z.destroy();
  return { bytes, gzipError, utf8: gzipError === null && utf8.end() };
}

/**
 * Reads the records of one file. `file` is the landing-relative path used in locations. `src` is the file's bytes
 * or a function opening them as a stream; it is read twice (a check of gzip and UTF-8, then the records).
 */
export async function* readRecords(src: ByteSource, name: FileName, spec: ObjectSpec, file: string, limits: ReadLimits = { maxRecordBytes: DEFAULT_MAX_RECORD_BYTES }): AsyncGenerator<RawRecord> {
  const p = await probe(src, name.gzip);
  if (p.gzipError) {
    const err = malformed(file, `file is not valid gzip: ${p.gzipError.message}`, null, { position: 0 });
    yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText: `(${p.bytes} bytes of invalid gzip)`, parseError: err };
    return;
  }
  const bytes = () => (name.gzip ? gunzipped(chunksOf(src)) : chunksOf(src));
  const invalid = !p.utf8;
  const cap = limits.maxRecordBytes;
  // a plain CSV file held whole, valid UTF-8 (the usual case): split without csv-parse where it can be
  const whole = typeof src !== 'function' && !name.gzip && !invalid && src.byteLength <= cap ? asBuffer(src) : null;
  const records = name.format === 'csv' ? (whole ? readCsvWhole(whole, spec, file, cap) : readCsv(bytes(), spec, file, cap)) : name.format === 'jsonl' ? readJsonLines(textOf(bytes()), spec, file, cap) : readJsonPageStream(() => textOf(bytes()), spec, file, cap);
  // a valid UTF-8 file (the usual case) has nothing to check: no generator layer per record for it
  yield* invalid ? checkEncoding(records, invalid, file) : records;
}

interface CsvRow {
  record: string[];
  info: { lines: number };
  raw: string;
}

/** The parts of csv-parse's streaming state the reader touches to drop a record over the cap while it is read. */
interface CsvApi {
  parse(buf: Buffer | undefined, end: boolean, push: (r: CsvRow) => void, close: () => void): Error | undefined;
  state: { rawBuffer: { buf: Buffer; length: number; reset(): void; append(b: number): void }; field: { reset(): void }; record: string[] };
}

/** A CSV record over the cap while it is being read: only its first characters and its size are kept. */
interface BigRecord {
  head: string;
  chars: number;
  bytes: number;
}

/**
 * One split CSV row → its record (null for the header row, which it remembers): the header's names trimmed, a
 * repeated header name or a row whose field count is not the header's is MALFORMED_RECORD with the row's raw text.
 */
function csvRecordOf(spec: ObjectSpec, file: string, cap: number): (record: string[], line: number, raw: string | (() => string)) => RawRecord | null {
  let header: string[] | null = null;
  let repeated: string | null = null;
  // `raw` as a function: the splitter's rows (never over the cap: the file is not) build it only for an error
  return (record, line, rawIn) => {
    const raw = () => (typeof rawIn === 'string' ? rawIn : rawIn());
    if (header === null) {
      const h = record.map((x) => x.trim());
      header = h;
      const firstAt = new Map<string, number>();
      h.forEach((x, i) => {
        if (repeated === null && firstAt.has(x)) repeated = `the header repeats column "${x}" (columns ${firstAt.get(x)! + 1} and ${i + 1}): which value is meant cannot be told`;
        firstAt.set(x, i);
      });
      return null;
    }
    if (typeof rawIn === 'string' && rawIn.length > cap) {
      const rawText = headOf(rawIn);
      return { object: spec.object, data: {}, location: { file, line }, rawText, parseError: tooLarge(file, Buffer.byteLength(rawIn), cap, { line }, rawText) };
    }
    if (repeated !== null) {
      const rawText = raw().replace(/\r?\n$/, '');
      return { object: spec.object, data: {}, location: { file, line }, rawText, parseError: malformed(file, repeated, header.join(','), { line }) };
    }
    if (record.length !== header.length) {
      const rawText = raw().replace(/\r?\n$/, '');
      const err = malformed(file, `row has ${record.length} fields but the header has ${header.length}: columns are shifted or the row is cut`, rawText, { line });
      return { object: spec.object, data: {}, location: { file, line }, rawText, parseError: err };
    }
    const data: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) data[header[i]!] = record[i];
    return { object: spec.object, data, location: { file, line } };
  };
}

/** A copy of a string that shares no memory with the text it was cut from (valid UTF-16: decoded from valid UTF-8). */
function flatCopy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** The fast CSV splitter met something it leaves to csv-parse. */
const LEAVE = Symbol('leave to csv-parse');

/**
 * The common case of a CSV file held whole (valid UTF-8, no CR, a one-character delimiter), split without csv-parse:
 * RFC 4180 fields (quoted with doubled quotes inside, newlines allowed in quotes), blank lines skipped and counted.
 * Each row is what csv-parse gives with the options readCsv uses (fields, `info.lines`, `raw`); the first thing
 * outside that case (a quote inside an unquoted field, text after a closing quote, a quote never closed) returns
 * LEAVE, and the caller reads the file again with csv-parse, keeping the rows already given.
 */
function* splitCsvText(text: string, delim: string, buf: Buffer): Generator<{ record: string[]; lines: number; raw: () => string }, typeof LEAVE | null> {
  const n = text.length;
  // Field values must not pin the file's text (V8 keeps a slice of 13 characters or more as a view of its parent, and
  // a value may outlive the file: an MRR observation, a quarantine entry): each is a copy, as csv-parse's are. When
  // every character is one byte (ASCII after the BOM), a field is decoded from the bytes directly.
  const bom = text.charCodeAt(0) === 0xfeff;
  const shift = bom ? 2 : 0; // the BOM is 3 bytes and 1 character
  const ascii = buf.length - shift === n;
  const own = (a: number, b: number): string => (b - a < 13 ? text.slice(a, b) : ascii ? buf.toString('latin1', a + shift, b + shift) : flatCopy(text.slice(a, b)));
  const d = delim.charCodeAt(0);
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let rawStart = i;
  let nl = 0; // newlines consumed
  let quote = text.indexOf('"', i);
  if (quote < 0) quote = n;
  while (i < n) {
    if (text.charCodeAt(i) === 10) {
      // a blank line: skipped, counted, and part of the next row's raw text (as csv-parse has it)
      nl++;
      i++;
      continue;
    }
    const record: string[] = [];
    let lineEnd = text.indexOf('\n', i);
    if (lineEnd < 0) lineEnd = n;
    for (;;) {
      if (i === quote) {
        let v = '';
        let j = i + 1;
        let q: number;
        for (;;) {
          q = text.indexOf('"', j);
          if (q < 0) return LEAVE; // never closed
          if (text.charCodeAt(q + 1) !== 34) break;
          v += text.slice(j, q + 1);
          j = q + 2;
        }
        v += text.slice(j, q);
        // the newlines inside the quotes count as lines; the row's line ends at the first newline after them
        let k = lineEnd;
        while (k >= 0 && k < q) {
          nl++;
          k = text.indexOf('\n', k + 1);
        }
        lineEnd = k < 0 ? n : k;
        i = q + 1;
        quote = text.indexOf('"', i);
        if (quote < 0) quote = n;
        record.push(v.length < 13 ? v : flatCopy(v));
        if (i === lineEnd) break;
        if (text.charCodeAt(i) !== d) return LEAVE; // text after a closing quote
        i++;
        continue;
      }
      let e = text.indexOf(delim, i);
      if (e < 0 || e > lineEnd) e = lineEnd;
      if (quote < e) return LEAVE; // a quote inside an unquoted field (csv-parse's relax_quotes rules)
      record.push(own(i, e));
      i = e;
      if (e === lineEnd) break;
      i++;
    }
    // the row ends at lineEnd (a newline, or the end of the text)
    const end = lineEnd < n ? lineEnd + 1 : n;
    const from = rawStart;
    yield { record, lines: nl + 1, raw: () => flatCopy(text.slice(from, end)) };
    if (lineEnd < n) nl++;
    i = end;
    rawStart = end;
  }
  return null;
}

/**
 * The records of a CSV file held whole in `buf` (valid UTF-8, at most the record cap): split by splitCsvText, and
 * where that leaves the file to csv-parse, the rest of the file's records from readCsv (the rows already given are
 * csv-parse's first rows, so they are skipped there).
 */
async function* readCsvWhole(buf: Buffer, spec: ObjectSpec, file: string, cap: number): AsyncGenerator<RawRecord> {
  const delim = spec.csv?.delimiter ?? ',';
  const text = buf.toString('utf8');
  if (delim.length === 1 && delim !== '"' && delim !== '\n' && delim !== '\r' && !text.includes('\r')) {
    const toRecord = csvRecordOf(spec, file, cap);
    const split = splitCsvText(text, delim, buf);
    let given = 0;
    for (;;) {
      const r = split.next();
      if (r.done) {
        if (r.value === null) return;
        break;
      }
      const rec = toRecord(r.value.record, r.value.lines, r.value.raw);
      if (rec) yield rec;
      given++;
    }
    let skip = given;
    for await (const r of readCsv(chunksOf(buf), spec, file, cap, () => skip-- > 0)) yield r;
    return;
  }
  yield* readCsv(chunksOf(buf), spec, file, cap);
}

async function* readCsv(bytes: AsyncIterable<Buffer>, spec: ObjectSpec, file: string, cap: number, skipRow: () => boolean = () => false): AsyncGenerator<RawRecord> {
  const skipped: RawRecord[] = [];
  let big: BigRecord | null = null;
  /** The whole record's raw text as a quarantine keeps it, and its size, when it was read in pieces. */
  const bigRaw = (tail: string): { rawText: string; chars: number; bytes: number } => {
    const b = big!;
    big = null;
    const chars = b.chars + tail.length;
    return { rawText: headOfPieces(b.head + tail.slice(0, 1025), chars), chars, bytes: b.bytes + Buffer.byteLength(tail) };
  };
  const rows: (CsvRow | { tooLarge: { rawText: string; bytes: number; line: number } })[] = [];
  const api = (
    new CsvParser({
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
        const code = (err as { code?: string } | undefined)?.code;
        const pieces = big ? bigRaw(raw ?? '') : null;
        const rawText = pieces ? pieces.rawText : headOf(raw ?? '');
        const error = code === 'CSV_MAX_RECORD_SIZE' ? tooLarge(file, (raw ?? '').length || cap + 1, cap, { line }, rawText) : malformed(file, `unparseable CSV record: ${err?.message ?? 'unknown error'}`, pieces ? rawText : (raw ?? null), { line });
        skipped.push({ object: spec.object, data: {}, location: { file, line }, rawText, parseError: error });
        return undefined;
      },
    }) as unknown as { api: CsvApi }
  ).api;
  let pushed = 0;
  const push = (r: CsvRow) => {
    pushed++;
    if (big) {
      const b = bigRaw(r.raw);
      rows.push({ tooLarge: { rawText: b.rawText, bytes: b.bytes, line: r.info.lines } });
    } else rows.push(r);
  };
  /** After each chunk: a record (not the header) grown past the cap gives up its text, keeping its start and size. */
  const bound = () => {
    const st = api.state;
    const raw = st.rawBuffer;
    if (pushed === 0 || raw.length <= cap) return;
    const cut = completeUpTo(raw.buf.subarray(0, raw.length));
    const text = raw.buf.toString('utf8', 0, cut);
    if (!big) {
      if (text.length <= cap + 3) return; // a few characters more may still be split across the cut: decide later
      big = { head: '', chars: 0, bytes: 0 };
    }
    big.chars += text.length;
    big.bytes += Buffer.byteLength(text);
    if (big.head.length <= 1024) big.head += text.slice(0, 1025 - big.head.length);
    const rest = Buffer.from(raw.buf.subarray(cut, raw.length));
    raw.reset();
    for (const b of rest) raw.append(b);
    st.field.reset();
    st.record = [''];
  };
  const close = () => undefined;
  const feed = (buf: Buffer | undefined, end: boolean) => {
    const err = api.parse(buf, end, push, close);
    if (err) throw err;
    if (!end) bound();
  };
  const toRecord = csvRecordOf(spec, file, cap);
  function* drain(): Generator<RawRecord> {
    for (const row of rows) {
      if ('tooLarge' in row) {
        const { rawText, bytes: n, line } = row.tooLarge;
        yield { object: spec.object, data: {}, location: { file, line }, rawText, parseError: tooLarge(file, n, cap, { line }, rawText) };
        continue;
      }
      const r = toRecord(row.record, row.info.lines, row.raw);
      if (skipRow()) continue; // given already (readCsvWhole)
      if (r) yield r;
    }
    rows.length = 0;
  }
  for await (const chunk of bytes) {
    feed(chunk, false);
    yield* drain();
  }
  feed(undefined, true);
  yield* drain();
  // records csv-parse could not split come after the others, as they always did
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

/** One JSON line → its record (or the reason it is none). */
function jsonLine(lineText: string, line: number, paths: string[], spec: ObjectSpec, file: string): RawRecord {
  let parsed: unknown;
  try {
    parsed = parseLossless(lineText);
  } catch (e) {
    return { object: spec.object, data: {}, location: { file, line }, rawText: lineText, parseError: malformed(file, `line is not valid JSON: ${(e as Error).message}`, lineText, { line }) };
  }
  const rec = pickRecord(parsed, paths);
  if (!isObject(rec)) {
    const err = malformed(file, `line holds no JSON object at ${paths.join(' or ')}`, lineText, { line });
    return { object: spec.object, data: {}, location: { file, line }, rawText: lineText, parseError: err };
  }
  return { object: spec.object, data: rec, location: { file, line }, rawText: lineText };
}

const BLANK = /^\s*$/;

/**
 * JSON lines from decoded text pieces. A line longer than the cap is not kept: only its first characters, its
 * length and whether it is blank are, until its newline; it becomes RECORD_TOO_LARGE (a blank one is skipped).
 */
async function* readJsonLines(text: AsyncIterable<string>, spec: ObjectSpec, file: string, cap: number): AsyncGenerator<RawRecord> {
  const paths = asList(spec.recordPath);
  let line = 0;
  let pending = '';
  /** The current line once it outgrew the cap. */
  let big: { head: string; chars: number; bytes: number; blank: boolean; cr: boolean } | null = null;
  const complete = (lineText: string): RawRecord | null => {
    if (lineText.trim() === '') return null;
    if (lineText.length > cap) {
      const rawText = headOf(lineText);
      return { object: spec.object, data: {}, location: { file, line }, rawText, parseError: tooLarge(file, Buffer.byteLength(lineText), cap, { line }, rawText) };
    }
    return jsonLine(lineText, line, paths, spec, file);
  };
  const absorb = (piece: string) => {
    if (!piece) return;
    const b = big!;
    b.chars += piece.length;
    b.bytes += Buffer.byteLength(piece);
    if (b.blank && !BLANK.test(piece)) b.blank = false;
    if (b.head.length <= 1024) b.head += piece.slice(0, 1025 - b.head.length);
    b.cr = piece.charCodeAt(piece.length - 1) === 13;
  };
  const completeBig = (): RawRecord | null => {
    const b = big!;
    big = null;
    const chars = b.chars - (b.cr ? 1 : 0); // the line's own text ends before a CR of a CRLF
    if (b.blank) return null;
    const rawText = headOfPieces(b.head.slice(0, Math.min(b.head.length, chars)), chars);
    return { object: spec.object, data: {}, location: { file, line }, rawText, parseError: tooLarge(file, b.bytes - (b.cr ? 1 : 0), cap, { line }, rawText) };
  };
  for await (const piece of text) {
    let from = 0;
    for (let nl = piece.indexOf('\n'); nl >= 0; nl = piece.indexOf('\n', from)) {
      line++;
      let r: RawRecord | null;
      if (big) {
        absorb(piece.slice(from, nl));
        r = completeBig();
      } else {
        const lineText = (from === 0 ? pending + piece.slice(0, nl) : piece.slice(from, nl)).replace(/\r$/, '');
        r = complete(lineText);
      }
      if (from === 0) pending = '';
      from = nl + 1;
      if (r) yield r;
    }
    const rest = piece.slice(from);
    if (big) absorb(rest);
    else {
      pending = from === 0 ? pending + rest : rest;
      if (pending.length > cap + 1) {
        big = { head: '', chars: 0, bytes: 0, blank: true, cr: false };
        absorb(pending);
        pending = '';
      }
    }
  }
  line++;
  const last = big ? completeBig() : complete(pending.replace(/\r$/, ''));
  if (last) yield last;
}

/** End (exclusive) of the JSON string starting at `i` (a quote), or -1 when it is not terminated. */
function stringEnd(t: string, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = t.charCodeAt(j);
    if (c === 92) j++; // backslash
    else if (c === 34) return j + 1;
  }
  return -1;
}

const WS = new Set([32, 9, 10, 13]);
function skipWs(t: string, i: number, end: number): number {
  while (i < end && WS.has(t.charCodeAt(i))) i++;
  return i;
}

/** End (exclusive) of the JSON value starting at `i`, by bracket balance (content is checked by the parser), or -1. */
function valueEnd(t: string, i: number, end: number): number {
  const c = t[i];
  if (c === '"') return stringEnd(t, i, end);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const ch = t[j];
      if (ch === '"') {
        j = stringEnd(t, j, end) - 1;
        if (j < 0) return -1;
      } else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') if (--depth === 0) return j + 1;
    }
    return -1;
  }
  let j = i;
  while (j < end && !/[,\]}\s]/.test(t[j]!)) j++;
  return j > i ? j : -1;
}

const MAX_DEPTH = 64;

/**
 * Parses t[s, e) so that one bad element does not take its neighbours with it: a container that fails to parse
 * as a whole is split into its elements, each parsed on its own; an element that fails (a duplicate key, nesting
 * deeper than MAX_DEPTH, a syntax error, more than `cap` bytes) becomes a BadElement in its place.
 */
function parseTolerant(t: string, s: number, e: number, depth: number, cap: number, inList: boolean): unknown {
  s = skipWs(t, s, e);
  while (e > s && WS.has(t.charCodeAt(e - 1))) e--;
  const bad = (why: string) => new BadElement('MALFORMED_RECORD', why, headOf(t, s, e));
  if (inList && e - s > cap) return new BadElement('RECORD_TOO_LARGE', `element is ${e - s} characters, more than the ${cap}-byte limit (maxRecordBytes); not parsed`, headOf(t, s, e));
  const c = t[s];
  if (e - s <= cap || (c !== '{' && c !== '[')) {
    try {
      return parseLossless(t.slice(s, e));
    } catch (err) {
      if (c !== '{' && c !== '[') return bad(`not valid JSON: ${(err as Error).message}`);
    }
  }
  if (depth >= MAX_DEPTH) return bad(`nested deeper than ${MAX_DEPTH} levels`);
  const close = c === '{' ? '}' : ']';
  const out: unknown[] = [];
  const obj: Record<string, unknown> = {};
  let j = skipWs(t, s + 1, e);
  if (t[j] === close && skipWs(t, j + 1, e) === e) return c === '{' ? obj : out;
  for (;;) {
    let vs = j;
    if (c === '{') {
      const ke = t[j] === '"' ? stringEnd(t, j, e) : -1;
      if (ke < 0) return bad(`expected a quoted key at character ${j - s}`);
      let key: string;
      try {
        key = JSON.parse(t.slice(j, ke)) as string;
      } catch (err) {
        return bad(`key at character ${j - s} is not a valid JSON string: ${(err as Error).message}`);
      }
      const colon = skipWs(t, ke, e);
      if (t[colon] !== ':') return bad(`expected ":" after key ${JSON.stringify(key)}`);
      if (Object.prototype.hasOwnProperty.call(obj, key)) return bad(`duplicate key ${JSON.stringify(key)}`);
      vs = skipWs(t, colon + 1, e);
      const ve = valueEnd(t, vs, e);
      if (ve < 0) return bad(`the value of ${JSON.stringify(key)} is cut or unbalanced`);
      Object.defineProperty(obj, key, { value: parseTolerant(t, vs, ve, depth + 1, cap, false), enumerable: true, writable: true, configurable: true });
      j = skipWs(t, ve, e);
    } else {
      const ve = valueEnd(t, vs, e);
      if (ve < 0) {
        // the rest of the list cannot be split reliably: one bad element for it, the ones before survive
        out.push(new BadElement('MALFORMED_RECORD', `element ${out.length} is cut or unbalanced (and what follows it)`, headOf(t, vs, e)));
        return out;
      }
      out.push(parseTolerant(t, vs, ve, depth + 1, cap, true));
      j = skipWs(t, ve, e);
    }
    if (t[j] === ',') {
      j = skipWs(t, j + 1, e);
      continue;
    }
    if (t[j] === close && skipWs(t, j + 1, e) === e) return c === '{' ? obj : out;
    if (c === '[') {
      out.push(new BadElement('MALFORMED_RECORD', `unexpected ${JSON.stringify(t[j] ?? 'end')} after element ${out.length - 1}`, headOf(t, j, e)));
      return out;
    }
    return bad(`unexpected ${JSON.stringify(t[j] ?? 'end')} at character ${j - s}`);
  }
}

/** The first BadElement inside a parsed value (a record that holds one is quarantined whole), or null. */
function badInside(v: unknown, depth = 0): BadElement | null {
  if (v instanceof BadElement) return v;
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return null;
  for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
    const b = badInside(x, depth + 1);
    if (b) return b;
  }
  return null;
}

function* readJsonPages(text: string, spec: ObjectSpec, file: string, cap: number): Generator<RawRecord> {
  // an empty page holds no records, as an empty CSV or JSON-lines file does
  if (text.trim() === '') return;
  let doc: unknown;
  let tolerant = false;
  let trailingAt = -1;
  /** The data after the document, as one quarantined record after the last one. */
  function* trailing(position: number): Generator<RawRecord> {
    if (trailingAt < 0) return;
    const rawText = headOf(text, trailingAt);
    const err = malformed(file, `trailing data after the JSON document (at character ${trailingAt}); the document before it was read`, rawText, { position });
    yield { object: spec.object, data: {}, location: { file, position }, rawText, parseError: err };
  }
  try {
    if (text.length > cap) throw new Error('too large to parse whole');
    doc = parseLossless(text);
  } catch {
    tolerant = true;
    const s = skipWs(text, 0, text.length);
    const end = valueEnd(text, s, text.length);
    if (end < 0) {
      doc = parseTolerant(text, s, text.length, 0, cap, false);
    } else {
      doc = parseTolerant(text, s, end, 0, cap, false);
      const rest = skipWs(text, end, text.length);
      if (rest < text.length) trailingAt = rest;
    }
    if (doc instanceof BadElement) {
      const err = malformed(file, `file is not valid JSON: ${doc.message}`, null, { position: 0 });
      yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText: doc.rawText, parseError: err };
      yield* trailing(1);
      return;
    }
  }
  const paths = asList(spec.recordsPath);
  let records: unknown[] | null = null;
  for (const p of paths) {
    records = resolveRecordsPath(doc, p);
    if (records !== null) break;
  }
  if (records === null) {
    const err = malformed(file, `no records at ${paths.join(' or ')} in this document`, null, { position: 0 });
    yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText: headOf(text), parseError: err };
    yield* trailing(1);
    return;
  }
  for (let position = 0; position < records.length; position++) yield pageRecord(records[position], position, tolerant, paths, spec, file);
  yield* trailing(records.length);
}

/** One record of a JSON page (from the whole document or a streamed list) → the record, or why it is none. */
function pageRecord(rec: unknown, position: number, tolerant: boolean, paths: string[], spec: ObjectSpec, file: string): RawRecord {
  const broken = tolerant ? badInside(rec) : null;
  if (broken) {
    const err = new RecordError(broken.reason, `record ${position} at ${paths.join(' or ')}: ${broken.message}`, broken.rawText, { file, position });
    return { object: spec.object, data: {}, location: { file, position }, rawText: broken.rawText, parseError: err };
  }
  if (!isObject(rec)) {
    const rawText = rec === undefined ? 'undefined' : String(stringifyLossless(rec));
    const err = malformed(file, `record ${position} at ${paths.join(' or ')} is not a JSON object`, rawText, { position });
    return { object: spec.object, data: {}, location: { file, position }, rawText, parseError: err };
  }
  return { object: spec.object, data: rec, location: { file, position } };
}

/** How a JSON page document is read, after a first walk over its text. */
type PagePlan =
  | { kind: 'empty' }
  | { kind: 'stream'; node: LazyList['node']; depth: number; rest: string[]; trailing: { at: number; text: Scanned } | null }
  | { kind: 'whole'; why: NotWalkable | null; chars: number; head: string };

/**
 * The first walk: can the records be streamed (a perfectly formed spine, the winning records path through a
 * streamed list)? Else the document is read by the whole-document rules (when it is at most the cap).
 */
async function planPage(text: AsyncIterable<string>, root: SpineNode, paths: string[], cap: number): Promise<PagePlan> {
  const c = new Chars(text[Symbol.asyncIterator]());
  const whole = async (why: NotWalkable | null): Promise<PagePlan> => {
    await c.rest(0);
    return { kind: 'whole', why, chars: c.at, head: c.head };
  };
  await c.skipWs();
  const first = await c.peek();
  if (first === undefined) return { kind: 'empty' };
  if (first !== '{' && first !== '[') return whole(null);
  let shape: unknown;
  try {
    const walk = walkDocument(c, root, cap, () => false, (t, depth) => parseTolerant(t, 0, t.length, depth, cap, false));
    for (;;) {
      const n = await walk.next();
      if (n.done) {
        shape = n.value;
        break;
      }
    }
  } catch (e) {
    if (e instanceof NotWalkable) return whole(e);
    throw e;
  }
  const winner = winningList(shape, paths);
  if (!winner) return whole(null);
  await c.skipWs();
  const trailing = (await c.more()) ? { at: c.at, text: await c.rest(0) } : null;
  return { kind: 'stream', node: winner.list.node, depth: winner.list.depth, rest: winner.rest, trailing };
}

/** The first records path that resolves in the walked shape, when it goes through a streamed list (else null). */
function winningList(shape: unknown, paths: string[]): { list: LazyList; rest: string[] } | null {
  for (const p of paths) {
    if (p === '$') return shape instanceof LazyList ? { list: shape, rest: [] } : null;
    const segs = p.split('.');
    let node: unknown = shape;
    let resolved = true;
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k]!;
      const isArr = seg.endsWith('[]');
      const key = isArr ? seg.slice(0, -2) : seg;
      const v = key === '' || node instanceof BadElement ? node : isObject(node) && !(node instanceof LazyList) ? node[key] : undefined;
      if (isArr) {
        if (v instanceof LazyList) return { list: v, rest: segs.slice(k + 1) };
        if (!Array.isArray(v)) resolved = false;
        break;
      }
      if (v === undefined) {
        resolved = false;
        break;
      }
      node = v;
    }
    if (resolved) return null; // resolves to a value kept whole: the whole-document rules read it
  }
  return null;
}

/**
 * JSON pages as a stream: a first walk plans the read (see planPage), the second yields the records of the list
 * element by element, each parsed on its own (a bad element is quarantined alone, its neighbours load).
 */
async function* readJsonPageStream(open: () => AsyncIterable<string>, spec: ObjectSpec, file: string, cap: number): AsyncGenerator<RawRecord> {
  const paths = asList(spec.recordsPath);
  const root = spineOf(paths);
  const plan = await planPage(open(), root, paths, cap);
  if (plan.kind === 'empty') return;
  if (plan.kind === 'whole') {
    if (plan.chars <= cap) {
      let text = '';
      for await (const s of open()) text += s;
      yield* readJsonPages(text, spec, file, cap);
      return;
    }
    const rawText = headOfPieces(plan.head, plan.chars);
    const why = plan.why?.message ?? `no records list at ${paths.join(' or ')}`;
    const err = plan.why?.tooLarge || !plan.why
      ? new RecordError('RECORD_TOO_LARGE', `the document is ${plan.chars} characters, more than the ${cap}-byte limit (maxRecordBytes), and its records cannot be read one by one (${why}); not parsed`, rawText, { file, position: 0 })
      : malformed(file, `file is not valid JSON: ${why}; the document is ${plan.chars} characters, more than the ${cap}-byte limit (maxRecordBytes), so its records were not read one by one`, rawText, { position: 0 });
    yield { object: spec.object, data: {}, location: { file, position: 0 }, rawText, parseError: err };
    return;
  }
  const c = new Chars(open()[Symbol.asyncIterator]());
  await c.skipWs();
  const mine = (l: LazyList) => l.node === plan.node && l.depth === plan.depth;
  let position = 0;
  try {
    const walk = walkDocument(c, root, cap, mine, (t, depth) => parseTolerant(t, 0, t.length, depth, cap, false));
    for (;;) {
      const n = await walk.next();
      if (n.done) break;
      const { list, value } = n.value;
      if (!mine(list)) continue;
      const elem = value.text === null ? new BadElement('RECORD_TOO_LARGE', `element is ${value.chars} characters, more than the ${cap}-byte limit (maxRecordBytes); not parsed`, headOfPieces(value.head, value.chars)) : parseTolerant(value.text, 0, value.text.length, list.depth + 1, cap, true);
      for (const rec of followSegments([elem], plan.rest, true) ?? []) yield pageRecord(rec, position++, true, paths, spec, file);
    }
  } catch (e) {
    if (e instanceof NotWalkable) throw new RetriableError(`landing file ${file} changed between the two reads of this run (${e.message}); the run will be retried`, { cause: e });
    throw e;
  }
  if (plan.trailing) {
    const { at, text } = plan.trailing;
    const rawText = headOfPieces(text.head, text.chars);
    const err = malformed(file, `trailing data after the JSON document (at character ${at}); the document before it was read`, rawText, { position });
    yield { object: spec.object, data: {}, location: { file, position }, rawText, parseError: err };
  }
}
