/**
 * Event-rule conditions: `{status: paid}` (equals, case-insensitive), `{type: [a, b]}` (in), or operators
 * `{equals, not, in, notIn, present, matches}`. A mapping = all must hold; a list of mappings = any may hold.
 */
import type { FieldCondition, When } from '../../config/sources.js';
import { getPath, textOf } from '../paths.js';

const regexCache = new Map<string, RegExp>();
function regex(src: string): RegExp {
  let re = regexCache.get(src);
  if (!re) {
    re = new RegExp(src, 'i');
    regexCache.set(src, re);
  }
  return re;
}

function norm(v: unknown): string | null {
  const t = textOf(v);
  return t === null ? null : t.toLowerCase();
}

function eq(actual: string | null, expected: string | number | boolean): boolean {
  return actual !== null && actual === String(expected).toLowerCase();
}

export function fieldMatches(value: unknown, cond: FieldCondition): boolean {
  const v = norm(value);
  if (Array.isArray(cond)) return cond.some((c) => eq(v, c));
  if (typeof cond !== 'object') return eq(v, cond);
  if (cond.present !== undefined && (v !== null) !== cond.present) return false;
  if (cond.equals !== undefined && !eq(v, cond.equals)) return false;
  if (cond.not !== undefined && eq(v, cond.not)) return false;
  if (cond.in !== undefined && !cond.in.some((c) => eq(v, c))) return false;
  if (cond.notIn !== undefined && cond.notIn.some((c) => eq(v, c))) return false;
  if (cond.matches !== undefined && (v === null || !regex(cond.matches).test(textOf(value)!))) return false;
  return true;
}

export function whenMatches(data: unknown, when: When | undefined): boolean {
  if (when === undefined) return true;
  const alternatives = Array.isArray(when) ? when : [when];
  return alternatives.some((m) => Object.entries(m).every(([field, cond]) => fieldMatches(getPath(data, field), cond)));
}

/** The fields a rule set looks at, with their values: used to explain "no rule matched" in quarantine. */
export function conditionFields(whens: (When | undefined)[]): string[] {
  const out = new Set<string>();
  for (const w of whens) if (w) for (const m of Array.isArray(w) ? w : [w]) for (const k of Object.keys(m)) out.add(k);
  return [...out];
}
