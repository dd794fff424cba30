/**
 * lossless-json's `parse(text)`, fast: the same value for every text lossless-json accepts (numbers as
 * LosslessNumber with their source digits, keys in JavaScript's own order, `__proto__` an own key), and the same
 * SyntaxError for every text it refuses. lossless-json builds each string one character at a time (a heap object
 * per character: most of the ingest's garbage); here a string without escapes is one slice, and one with escapes
 * is decoded by JSON.parse of its token (JSON's string grammar is lossless-json's: any code unit from U+0020, the
 * escapes \" \\ \/ \b \f \n \r \t \uXXXX).
 *
 * Whenever the fast path sees anything it does not handle itself (a syntax error, a duplicate key, whose rules
 * are lossless-json's: equal values kept, different ones refused), it hands the whole text to lossless-json,
 * whose answer (value or error) is then the answer. test/connectors/json-parse.test.ts compares the two on
 * seeded random documents and their mutations.
 */
import { LosslessNumber, parse as losslessParse } from 'lossless-json';

/** Thrown inside the fast path: let lossless-json decide. */
const DEFER: unique symbol = Symbol('defer');

export function parseJson(text: string): unknown {
  const v = parseJsonFast(text);
  return v === NOT_HANDLED ? losslessParse(text) : v;
}

/** What parseJsonFast answers for a text it leaves to lossless-json. */
export const NOT_HANDLED: unique symbol = Symbol('not handled');

/** The fast half alone: the value, or NOT_HANDLED (a syntax error or a duplicate key: lossless-json's rules decide). */
export function parseJsonFast(text: string): unknown {
  try {
    return new FastParser(text).document();
  } catch (e) {
    if (e !== DEFER) throw e;
    return NOT_HANDLED;
  }
}

/** Strings of at least this length are copied flat (a shorter slice is a copy already; a longer one would keep the whole text alive). */
const SLICE_COPY = 13;

class FastParser {
  private i = 0;
  constructor(private readonly t: string) {}

  document(): unknown {
    const v = this.value();
    if (this.i !== this.t.length) throw DEFER;
    return v;
  }

  private ws(): void {
    const t = this.t;
    let i = this.i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  /** A value with the white space around it (lossless-json's parseValue). */
  private value(): unknown {
    this.ws();
    const t = this.t;
    const c = t.charCodeAt(this.i);
    let v: unknown;
    if (c === 34) v = this.string();
    else if (c === 123) v = this.object();
    else if (c === 91) v = this.array();
    else if (c === 45 || (c >= 48 && c <= 57)) v = this.number();
    else if (c === 116 && t.startsWith('true', this.i)) {
      this.i += 4;
      v = true;
    } else if (c === 102 && t.startsWith('false', this.i)) {
      this.i += 5;
      v = false;
    } else if (c === 110 && t.startsWith('null', this.i)) {
      this.i += 4;
      v = null;
    } else throw DEFER;
    this.ws();
    return v;
  }

  private string(): string {
    const t = this.t;
    const start = this.i + 1;
    let i = start;
    let escaped = false;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        i += 2; // the escaped character (its validity is JSON.parse's to check)
        continue;
      }
      if (!(c >= 0x20)) throw DEFER; // a control character, or the end of the text (NaN)
      i++;
    }
    this.i = i + 1;
    if (escaped) {
      try {
        return JSON.parse(t.slice(start - 1, i + 1)) as string;
      } catch {
        throw DEFER;
      }
    }
    const s = t.slice(start, i);
    return i - start >= SLICE_COPY ? flat(s) : s;
  }

  private number(): LosslessNumber {
    const t = this.t;
    const start = this.i;
    let i = start;
    if (t.charCodeAt(i) === 45) i++;
    let c = t.charCodeAt(i);
    if (c === 48) i++;
    else if (c >= 49 && c <= 57) {
      i++;
      while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
    } else throw DEFER;
    if (t.charCodeAt(i) === 46) {
      i++;
      c = t.charCodeAt(i);
      if (!(c >= 48 && c <= 57)) throw DEFER;
      while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
    }
    c = t.charCodeAt(i);
    if (c === 101 || c === 69) {
      i++;
      c = t.charCodeAt(i);
      if (c === 43 || c === 45) i++;
      c = t.charCodeAt(i);
      if (!(c >= 48 && c <= 57)) throw DEFER;
      while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
    }
    this.i = i;
    return new LosslessNumber(t.slice(start, i));
  }

  private object(): Record<string, unknown> {
    const t = this.t;
    this.i++;
    this.ws();
    const o: Record<string, unknown> = {};
    if (t.charCodeAt(this.i) === 125) {
      this.i++;
      return o;
    }
    for (;;) {
      if (t.charCodeAt(this.i) !== 34) throw DEFER;
      const key = this.string();
      this.ws();
      if (t.charCodeAt(this.i) !== 58) throw DEFER;
      this.i++;
      const v = this.value();
      if (Object.prototype.hasOwnProperty.call(o, key)) throw DEFER;
      if (key === '__proto__') Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
      else o[key] = v;
      const c = t.charCodeAt(this.i);
      if (c === 125) {
        this.i++;
        return o;
      }
      if (c !== 44) throw DEFER;
      this.i++;
      this.ws();
    }
  }

  private array(): unknown[] {
    const t = this.t;
    this.i++;
    this.ws();
    const a: unknown[] = [];
    if (t.charCodeAt(this.i) === 93) {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value());
      const c = t.charCodeAt(this.i);
      if (c === 93) {
        this.i++;
        return a;
      }
      if (c !== 44) throw DEFER;
      this.i++;
    }
  }
}

/** A flat copy of a slice (V8 keeps a long slice as a view of its parent string). */
function flat(s: string): string {
  return JSON.parse(`"${s}"`) as string;
}
