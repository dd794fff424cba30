/**
 * Field paths in raw records: a CSV column name, or a dotted JSON path (`status_transitions.paid_at`).
 * A key that literally contains dots is found first; `[]` segments are only meaningful in records paths.
 */
import { isLosslessNumber } from 'lossless-json';

export function getPath(data: unknown, path: string): unknown {
  if (path === '$') return data;
  if (data === null || typeof data !== 'object') return undefined;
  const obj = data as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  // try the longest literal prefix first so `a.b.c` finds {"a.b": {"c": 1}} too
  for (let i = path.lastIndexOf('.'); i > 0; i = path.lastIndexOf('.', i - 1)) {
    const head = path.slice(0, i);
    if (Object.prototype.hasOwnProperty.call(obj, head)) return getPath(obj[head], path.slice(i + 1));
  }
  return undefined;
}

export function asList(p: string | string[] | undefined): string[] {
  if (p === undefined) return [];
  return Array.isArray(p) ? p : [p];
}

/** The value as text, or null when absent/empty. Numbers keep their exact source digits. */
export function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (isLosslessNumber(v)) return v.value;
  if (typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'number') return String(v);
  return null;
}

/** First path with a present, non-empty value. */
export function firstPresent(data: unknown, paths: string | string[] | undefined): { path: string; value: unknown } | null {
  for (const p of asList(paths)) {
    const v = getPath(data, p);
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' && v.trim() === '') continue;
    return { path: p, value: v };
  }
  return null;
}

/**
 * Resolves a records path (`list[].invoice`, `data[]`, `$`) in a parsed JSON document.
 * Returns null when the path does not exist in this document (so the next alternative can be tried).
 */
/** A JSON element that could not be parsed, kept in place of the value so the records around it survive. */
export class BadElement {
  constructor(readonly reason: 'MALFORMED_RECORD' | 'RECORD_TOO_LARGE', readonly message: string, readonly rawText: string) {}
}

export function resolveRecordsPath(doc: unknown, path: string): unknown[] | null {
  if (path === '$') return Array.isArray(doc) ? doc : [doc];
  return followSegments([doc], path.split('.'), false);
}

/**
 * The records path's segments applied to `cur` (resolveRecordsPath's loop; a streaming reader applies the
 * segments after the first `[]` to each list element on its own, with `sawArray` set).
 */
export function followSegments(cur: unknown[], segs: readonly string[], sawArray: boolean): unknown[] | null {
  for (const seg of segs) {
    const isArr = seg.endsWith('[]');
    const key = isArr ? seg.slice(0, -2) : seg;
    const next: unknown[] = [];
    for (const node of cur) {
      const v = key === '' || node instanceof BadElement ? node : node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined;
      if (isArr) {
        if (!Array.isArray(v)) {
          if (!sawArray) return null;
          next.push(v instanceof BadElement ? v : undefined); // an element without the expected list: kept, so it is quarantined, not lost
          continue;
        }
        next.push(...v);
      } else {
        if (v === undefined && !sawArray) return null;
        next.push(v); // undefined inside a list = an element without the expected key: kept for quarantine
      }
    }
    if (isArr) sawArray = true;
    cur = next;
  }
  return cur;
}
