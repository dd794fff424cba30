/**
 * connectors/landing/json-parse.ts is lossless-json's parse, fast: on every text the same value (numbers as
 * LosslessNumber with their digits, key order, `__proto__` as an own key) or the same SyntaxError. Seeded random
 * documents, their mutations (cut, a character replaced, inserted or dropped), and the corners written out.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isLosslessNumber, parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/sample-events.js';
import { NOT_HANDLED, parseJson, parseJsonFast } from '../../connectors/landing/json-parse.js';

type Outcome = { value: unknown } | { error: string };

/** A value with its LosslessNumbers, key order and prototypes spelled out, so two outcomes compare exactly. */
function shape(v: unknown): unknown {
  if (isLosslessNumber(v)) return { n: v.value, proto: Object.getPrototypeOf(v) === Object.getPrototypeOf(losslessParse('1')) };
  if (Array.isArray(v)) return { a: v.map(shape) };
  if (v !== null && typeof v === 'object') return { o: Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k])]), proto: Object.getPrototypeOf(v) === Object.prototype };
  return v;
}

function outcome(f: (t: string) => unknown, text: string): Outcome {
  try {
    return { value: shape(f(text)) };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

function randomDoc(r: () => number, depth = 0): string {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const ws = () => pick(['', '', '', ' ', '\n', '\t ', '\r\n']);
  const str = () => {
    let s = '';
    for (let n = Math.floor(r() * 20); n > 0; n--) s += pick(['a', 'Z', '0', ' ', 'é', '€', '\\"', '\\\\', '\\/', '\\n', '\\u00e9', '\\uD83D\\uDE00', '\\ud800', '\u{1f600}', '\ud800', 'x'.repeat(15), '__proto__']);
    return `"${s}"`;
  };
  const num = () => `${pick(['', '-'])}${pick(['0', '7', '123', '98000', '9007199254740993', '1704075934'])}${pick(['', '', '.5', '.000', '.830000000'])}${pick(['', '', 'e5', 'E-3', 'e+12'])}`;
  const k = r();
  if (depth > 3 || k < 0.45) return pick([str, num, num, () => pick(['true', 'false', 'null'])])();
  if (k < 0.75) {
    const n = Math.floor(r() * 5);
    const keys = Array.from({ length: n }, () => (r() < 0.15 ? pick(['"1"', '"10"', '"__proto__"', '"a"', '"a"']) : str()));
    return `{${ws()}${keys.map((key) => `${key}${ws()}:${ws()}${randomDoc(r, depth + 1)}${ws()}`).join(`,${ws()}`)}}`;
  }
  const n = Math.floor(r() * 5);
  return `[${ws()}${Array.from({ length: n }, () => `${ws()}${randomDoc(r, depth + 1)}${ws()}`).join(',')}]`;
}

function mutate(r: () => number, t: string): string {
  const at = Math.floor(r() * (t.length + 1));
  const junk = ['', ',', '"', '}', ']', '{', '[', ':', '\\', '-', '.', 'e', '0', ' ', '\u0001', 'tru', 'nul', '01'][Math.floor(r() * 18)]!;
  const k = r();
  if (k < 0.25) return t.slice(0, at);
  if (k < 0.5) return t.slice(0, at) + junk + t.slice(at + 1);
  if (k < 0.75) return t.slice(0, at) + junk + t.slice(at);
  return t.slice(0, at) + t.slice(at + 1);
}

describe('parseJson = lossless-json parse', () => {
  it('on 6 000 random documents and 12 000 mutations of them', () => {
    const r = rng(11);
    let errors = 0;
    let fast = 0;
    for (let i = 0; i < 6_000; i++) {
      const doc = randomDoc(r);
      for (const text of [doc, mutate(r, doc), mutate(r, mutate(r, doc))]) {
        const want = outcome(losslessParse, text);
        expect(outcome(parseJson, text), JSON.stringify(text)).toEqual(want);
        if ('error' in want) errors++;
        if (parseJsonFast(text) !== NOT_HANDLED) {
          fast++;
          expect('value' in want, JSON.stringify(text)).toBe(true); // the fast half never accepts what lossless-json refuses
        }
      }
    }
    expect(errors).toBeGreaterThan(3_000); // the mutations reach the refusals
    expect(fast).toBeGreaterThan(6_000); // and the fast half answers most valid documents itself
  });

  it('on the corners written out', () => {
    for (const text of [
      '', ' ', '{}', '[]', '{ }', '[ ]', '"', '"abc', '"a\\"', '"\\u12"', '"\\x"', '"\u0000"', '"\u001f"', '"\t"',
      '-', '-0', '01', '1.', '.5', '1e', '1e+', '+1', '0x1', 'NaN', 'Infinity', 'truex', 'nulll', 'true false',
      '{"a":1,}', '[1,]', '[,1]', '{,}', '{"a" 1}', '{"a":}', '{"a":1 "b":2}', '{a:1}', "{'a':1}",
      '{"a":1,"a":1}', '{"a":1,"a":2}', '{"a":{"b":[1,2]},"a":{"b":[1,2]}}', '{"a":[1],"a":[1,2]}',
      '{"__proto__":{"x":1}}', '{"2":0,"1":0,"b":0,"a":0}', '{"id":"ch_koePYuiq9zeHMOxBpgL9gnqk","amount":98000}',
      ' \r\n\t{"a" : [ 1 , { } , [ ] , "x" ] }\n', '"\ud800"', '"\\ud800"',
    ]) {
      expect(outcome(parseJson, text), JSON.stringify(text)).toEqual(outcome(losslessParse, text));
    }
  });

  it('on every JSON line and page of the real-data fixtures', () => {
    const root = join(import.meta.dirname, '../fixtures');
    let n = 0;
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.jsonl?$/.test(name)) {
          const text = readFileSync(p, 'utf8');
          for (const t of [text, ...(name.endsWith('.jsonl') ? text.split('\n') : [])]) {
            const want = outcome(losslessParse, t);
            expect(outcome(parseJson, t), p).toEqual(want);
            if ('value' in want && !/"(\w+)":[^\n]*"\1":/.test(t)) expect(parseJsonFast(t), p).not.toBe(NOT_HANDLED);
            n++;
          }
        }
      }
    };
    walk(root);
    expect(n).toBeGreaterThan(50);
  });
});
