/**
 * Issue 11 item 4: a CSV file held whole is split without csv-parse (readers.ts splitCsvText) where it can be, and
 * left to csv-parse from the first thing outside the common case. Either way the records, their lines, raw text and
 * errors must be exactly csv-parse's: a streamed source (a function giving chunks) always reads through csv-parse,
 * a buffer through the splitter, so every case here compares the two. Real CSV fixtures, seeded mutations of
 * them, and seeded random texts over the characters that matter (quotes, delimiters, newlines, CR, BOM, spaces).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'lossless-json';
import { parseFileName, readRecords } from '../../connectors/index.js';
import { parseSourceConfig, type ObjectSpec } from '../../config/sources.js';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { rng } from '../helpers/sample-events.js';
import { FIXTURES } from './helpers.js';

const SPEC = parseSourceConfig(
  { name: 'acme', timezone: 'UTC', objects: [{ object: 'payment', id: 'id', timestamps: { created: 'epoch_s' }, currency: { column: 'currency' }, money: { amount: { unit: 'minor' } }, events: [{ eventType: 'PAYMENT_PROCESSED', ts: 'created', amount: 'amount' }] }] },
  'test',
).objects[0]!;
const SEMI = parseSourceConfig(
  { name: 'acme', timezone: 'UTC', objects: [{ object: 'payment', csv: { delimiter: ';' }, id: 'id', timestamps: { created: 'epoch_s' }, currency: { column: 'currency' }, money: { amount: { unit: 'minor' } }, events: [{ eventType: 'PAYMENT_PROCESSED', ts: 'created', amount: 'amount' }] }] },
  'test',
).objects[0]!;

async function read(src: Buffer | (() => AsyncIterable<Uint8Array>), name: string, spec: ObjectSpec, cap = 16 * 1024 * 1024) {
  const out: unknown[] = [];
  for await (const r of readRecords(src, parseFileName(name)!, spec, `acme/${name}`, { maxRecordBytes: cap })) {
    const e = r.parseError;
    out.push({ data: stringify(r.data), location: r.location, rawText: r.rawText, error: e ? { code: e.code, message: e.message, field: e.location?.field, value: e.value } : null });
  }
  return out;
}

/** The same bytes as a stream of 4 KiB chunks: always csv-parse. */
const streamed = (b: Buffer) =>
  async function* () {
    for (let i = 0; i < b.length; i += 4096) yield b.subarray(i, i + 4096);
  };

async function same(bytes: Buffer, spec: ObjectSpec, what: string, name = 'payment.csv') {
  const viaParse = await read(streamed(bytes), name, spec);
  expect(await read(bytes, name, spec), what).toEqual(viaParse);
  return viaParse;
}

const specs = DEFAULT_SOURCES.flatMap((s) => parseSourceConfig(s, s.name).objects.map((o) => ({ source: s.name, o })));
function csvFixtures(): { file: string; bytes: Buffer; spec: ObjectSpec }[] {
  const out: { file: string; bytes: Buffer; spec: ObjectSpec }[] = [];
  for (const source of readdirSync(FIXTURES)) {
    const dir = path.join(FIXTURES, source);
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.csv'));
    } catch {
      continue; // not a directory
    }
    for (const f of names) {
      const name = parseFileName(f);
      const spec = name && specs.find((s) => s.source === source && (s.o.file ?? s.o.object) === name.prefix)?.o;
      out.push({ file: `${source}/${f}`, bytes: readFileSync(path.join(dir, f)), spec: spec ?? SPEC });
    }
  }
  return out;
}

const NASTY = ['"', '""', ',', ';', '\n', '\n\n', '\r', '\r\n', ' ', 'é', '\uFEFF', '"a"', 'x"y', '\t', '😀'];

function mutate(text: string, rand: () => number, edits: number): string {
  let t = text;
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (t.length + 1));
    const op = rand();
    const s = NASTY[Math.floor(rand() * NASTY.length)]!;
    if (op < 0.6) t = t.slice(0, at) + s + t.slice(at);
    else if (op < 0.8) t = t.slice(0, at) + s + t.slice(at + 1);
    else t = t.slice(0, at) + t.slice(at + 1);
  }
  return t;
}

describe('CSV split without csv-parse: the records csv-parse gives', () => {
  it('every CSV fixture file', async () => {
    const files = csvFixtures();
    expect(files.length).toBeGreaterThan(5);
    let records = 0;
    for (const f of files) records += (await same(f.bytes, f.spec, f.file)).length;
    expect(records).toBeGreaterThan(20);
  });

  it('seeded mutations of every CSV fixture (quotes, delimiters, blank lines, CR, BOM, multi-byte characters)', async () => {
    const rand = rng(0x11_04);
    let cases = 0;
    for (const f of csvFixtures()) {
      const text = f.bytes.toString('utf8');
      for (let i = 0; i < 30; i++) {
        const m = mutate(text, rand, 1 + Math.floor(rand() * 4));
        await same(Buffer.from(m), f.spec, `${f.file} mutation #${i}: ${JSON.stringify(m.slice(0, 200))}`);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(150);
  });

  it('seeded random short texts over the characters that matter, both delimiters', async () => {
    const rand = rng(0x11_05);
    const alphabet = ['a', 'b', ',', ';', '"', '"', '\n', '\n', ' ', 'é', '\r'];
    for (let i = 0; i < 3000; i++) {
      const spec = i % 2 ? SEMI : SPEC;
      let t = i % 3 === 0 ? 'id,created,amount,currency\n' : '';
      const n = Math.floor(rand() * 24);
      for (let k = 0; k < n; k++) t += alphabet[Math.floor(rand() * (i % 5 === 0 ? alphabet.length : alphabet.length - 1))]!;
      await same(Buffer.from(t), spec, `case #${i}: ${JSON.stringify(t)}`);
    }
  });

  it('the corners: BOM, quoted newlines, doubled quotes, blank lines, a last line without newline, empty fields', async () => {
    const cases = [
      '\uFEFFid,created,amount,currency\na,1,2,usd\n',
      'id,created,amount,currency\n"a\nb",1,"2""3",usd\n\n\nc,1,2,usd',
      'id,created,amount,currency\n,,,\n"",1,"",\n',
      'id,created,amount,currency\na,1,2\nb,1,2,usd,extra\n',
      'id,id,amount,currency\na,1,2,usd\n',
      'id,created,amount,currency\na,1,2,"usd"x\nb,1,2,usd\n',
      'id,created,amount,currency\na,1,2,us"d\nb,1,2,usd\n',
      'id,created,amount,currency\na,1,2,"never closed\nb,1,2,usd\n',
      'id,created,amount,currency\r\na,1,2,usd\r\n',
      '',
      '\uFEFF',
      '\n\n',
      'id,created,amount,currency',
    ];
    for (const c of cases) await same(Buffer.from(c), SPEC, JSON.stringify(c));
  });
});

describe('CSV split without csv-parse: values do not pin the file text', () => {
  it('one long value kept from each of 24 files of ~1 MB (ASCII, and with multi-byte text) holds far less than the files', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const sample of ['plain ascii note text', 'multi-byte note text é日本']) {
      const lines = ['id,created,amount,currency,note'];
      for (let i = 0; i < 14_000; i++) lines.push(`p${i},1704268800,${i},usd,${sample} ${i} ${'z'.repeat(30)}`);
      const text = lines.join('\n') + '\n';
      const kept: unknown[] = [];
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let f = 0; f < 24; f++) {
        const buf = Buffer.from(text.replace(/p(\d+),/g, `f${f}p$1,`));
        for await (const r of readRecords(buf, parseFileName('payment.csv')!, SPEC, 'acme/payment.csv')) {
          kept.push((r.data as { note: string }).note);
          break;
        }
      }
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      expect(kept).toHaveLength(24);
      expect(grown, `${sample}: heap grew ${(grown / 2 ** 20).toFixed(1)} MB for 24 kept values of files of ${(text.length / 2 ** 20).toFixed(1)} M characters`).toBeLessThan(4 * 2 ** 20);
    }
  });
});
