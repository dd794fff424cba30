/**
 * Rule conditions: `{status: paid}` (equals, case-insensitive), `{type: [a, b]}` (in), or operators
 * `{equals, not, in, notIn, present, matches}` and the numeric `{gt, gte, lt, lte, eq, ne}` on exact decimals.
 * The right-hand side of equals/not and of the numeric operators may be another column: `{gt: {column: paid}}`.
 * A mapping = all must hold; a list of mappings = any may hold.
 */
import { Decimal } from '../../events/money.js';
import { RecordError, type SourceLocation } from '../../events/errors.js';
import { isColumnRef, NUMERIC_OPERATORS, type FieldCondition, type NumericOperator, type When } from '../../config/sources.js';
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

function eq(actual: string | null, expected: string | number | boolean | null): boolean {
  return actual !== null && expected !== null && actual === String(expected).toLowerCase();
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Where a condition's field is in the source (for the error of a non-numeric value under a numeric operator). */
export type Locate = (field: string) => SourceLocation | undefined;
const nowhere: Locate = () => undefined;

/** A field's value as an exact decimal; null when empty; a non-number is a RecordError naming the field. */
function decimalOf(raw: unknown, field: string, locate: Locate): Decimal | null {
  const t = textOf(raw);
  if (t === null) return null;
  if (!NUMBER_TEXT.test(t)) throw new RecordError('BAD_VALUE', `"${field}" = ${JSON.stringify(t)} is not a number, but a rule compares it numerically`, t, locate(field));
  return new Decimal(t);
}

const COMPARE: Record<NumericOperator, (c: number) => boolean> = {
  gt: (c) => c > 0,
  gte: (c) => c >= 0,
  lt: (c) => c < 0,
  lte: (c) => c <= 0,
  eq: (c) => c === 0,
  ne: (c) => c !== 0,
};

/** Evaluates one field's condition; `data` is the whole record (for column operands). */
export function fieldMatches(value: unknown, cond: FieldCondition, data: unknown = undefined, field = '?', locate: Locate = nowhere): boolean {
  const v = norm(value);
  if (Array.isArray(cond)) return cond.some((c) => eq(v, c));
  if (typeof cond !== 'object') return eq(v, cond);
  const operand = (o: unknown) => (isColumnRef(o) ? norm(getPath(data, o.column)) : (o as string | number | boolean));
  if (cond.present !== undefined && (v !== null) !== cond.present) return false;
  if (cond.equals !== undefined && !eq(v, operand(cond.equals))) return false;
  if (cond.not !== undefined && eq(v, operand(cond.not))) return false;
  if (cond.in !== undefined && !cond.in.some((c) => eq(v, c))) return false;
  if (cond.notIn !== undefined && cond.notIn.some((c) => eq(v, c))) return false;
  if (cond.matches !== undefined && (v === null || !regex(cond.matches).test(textOf(value)!))) return false;
  for (const op of NUMERIC_OPERATORS) {
    const rhs = cond[op];
    if (rhs === undefined) continue;
    const left = decimalOf(value, field, locate);
    const right = isColumnRef(rhs) ? decimalOf(getPath(data, rhs.column), rhs.column, locate) : new Decimal(rhs);
    // an empty side never satisfies a comparison (not even `ne`): absence is tested with `present`
    if (left === null || right === null || !COMPARE[op](left.comparedTo(right))) return false;
  }
  return true;
}

export function whenMatches(data: unknown, when: When | undefined, locate: Locate = nowhere): boolean {
  if (when === undefined) return true;
  let alternatives = compiled.get(when);
  if (!alternatives) compiled.set(when, (alternatives = compileWhen(when)));
  for (const tests of alternatives) {
    let all = true;
    for (const t of tests) {
      if (!t.test(getPath(data, t.field), data, locate)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** One field's condition, compiled once per configuration object: what fieldMatches answers, in the same order. */
interface FieldTest {
  field: string;
  test(value: unknown, data: unknown, locate: Locate): boolean;
}

/** Conditions are configuration (validated, frozen): compiled on first use. */
const compiled = new WeakMap<object, FieldTest[][]>();

function compileWhen(when: When): FieldTest[][] {
  return (Array.isArray(when) ? when : [when]).map((m) => Object.entries(m).map(([field, cond]) => ({ field, test: compileField(field, cond) })));
}

/** The equals / in forms with their expected values lower-cased once; every other form is fieldMatches itself. */
function compileField(field: string, cond: FieldCondition): FieldTest['test'] {
  if (Array.isArray(cond)) {
    const expected = cond.filter((c) => c !== null).map((c) => String(c).toLowerCase());
    return (value) => {
      const v = norm(value);
      return v !== null && expected.includes(v);
    };
  }
  if (typeof cond !== 'object') {
    const expected = String(cond).toLowerCase();
    return (value) => norm(value) === expected;
  }
  return (value, data, locate) => fieldMatches(value, cond, data, field, locate);
}

/** The fields a rule set looks at, with their values: used to explain "no rule matched" in quarantine. */
export function conditionFields(whens: (When | undefined)[]): string[] {
  const out = new Set<string>();
  for (const w of whens) if (w) for (const m of Array.isArray(w) ? w : [w]) for (const k of Object.keys(m)) out.add(k);
  return [...out];
}
