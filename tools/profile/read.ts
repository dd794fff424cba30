/**
 * Reading a file for profiling: CSV (header line), JSON lines (Airbyte record messages unwrapped), or a JSON
 * document (an array, a list page such as `{"list":[{"invoice":{...}}]}` or `{"data":[...]}`, or one object);
 * `.gz` is decompressed. Nested objects flatten to dotted paths; every value becomes text (numbers keep their
 * exact source digits).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { FatalError } from '../../events/errors.js';
import type { ProfileRecord } from './profile.js';

export function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value === null || value === undefined) {
    if (prefix) out[prefix] = '';
  } else if (isLosslessNumber(value)) out[prefix] = value.value;
  else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') out[prefix] = String(value);
  else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  }
  // booleans and arrays are not timestamps: skipped
  return out;
}

/** `{"invoice": {...}}` (a Chargebee list entry) → the inner object. */
function unwrap(item: unknown): unknown {
  if (item && typeof item === 'object' && !Array.isArray(item)) {
    const entries = Object.entries(item as Record<string, unknown>);
    if (entries.length === 1 && entries[0]![1] && typeof entries[0]![1] === 'object' && !Array.isArray(entries[0]![1])) return entries[0]![1];
  }
  return item;
}

function documentRecords(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc.map(unwrap);
  if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    for (const key of ['list', 'data', 'records', 'items', 'results']) if (Array.isArray(o[key])) return (o[key] as unknown[]).map(unwrap);
    return [doc];
  }
  return [];
}

function kindOf(file: string): 'csv' | 'jsonl' | 'json' {
  const base = path.basename(file).replace(/\.gz$/i, '').toLowerCase();
  if (base.endsWith('.csv') || base.endsWith('.txt')) return 'csv';
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) return 'jsonl';
  if (base.endsWith('.json')) return 'json';
  throw new FatalError(`${file}: cannot tell the format from the name; expected .csv, .jsonl, .ndjson or .json (optionally .gz)`);
}

export async function readProfileRecords(file: string): Promise<ProfileRecord[]> {
  const kind = kindOf(file);
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new FatalError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (/\.gz$/i.test(file)) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new FatalError(`${file}: not a valid gzip file (${(e as Error).message})`, { cause: e });
    }
  }
  const text = buf.toString('utf8');
  if (kind === 'csv') {
    let rows: string[][];
    try {
      rows = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, bom: true, relax_quotes: true }) as string[][];
    } catch (e) {
      throw new FatalError(`${file}: not valid CSV (${(e as Error).message})`, { cause: e });
    }
    const header = rows[0] ?? [];
    return rows.slice(1).map((r, i) => ({ at: `line ${i + 2}`, fields: Object.fromEntries(header.map((h, k) => [h, r[k] ?? ''])) }));
  }
  if (kind === 'jsonl') {
    const out: ProfileRecord[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let v: unknown;
      try {
        v = parseLossless(line);
      } catch (e) {
        throw new FatalError(`${file}:${i + 1}: not valid JSON (${(e as Error).message}); profile expects one JSON object per line`, { cause: e });
      }
      const o = v as Record<string, unknown>;
      const rec = o && typeof o === 'object' && 'stream' in o && 'data' in o ? o.data : v; // Airbyte record message
      out.push({ at: `line ${i + 1}`, fields: flatten(rec) });
    });
    return out;
  }
  let doc: unknown;
  try {
    doc = parseLossless(text);
  } catch (e) {
    throw new FatalError(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return documentRecords(doc).map((r, i) => ({ at: `record ${i}`, fields: flatten(r) }));
}
