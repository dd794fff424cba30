/**
 * Issue 11 item 3: landing files are read as streams. Whatever the chunk boundaries (1 byte, odd sizes, a
 * multi-byte UTF-8 character or a CRLF split, a quoted CSV field with newlines split, a JSON string split), the
 * records, their locations, raw text and errors are exactly those of the whole file in one piece; a record over
 * the cap is RECORD_TOO_LARGE with the same start and size when it arrives in pieces; gzip streams too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { stringify } from 'lossless-json';
import { parseFileName, readRecords } from '../../connectors/index.js';
import { parseSourceConfig } from '../../config/sources.js';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { Utf8Check } from '../../connectors/landing/bytes.js';
import { FIXTURES } from './helpers.js';

const SPEC = parseSourceConfig(
  {
    name: 'acme',
    timezone: 'UTC',
    objects: [{ object: 'payment', id: 'id', recordsPath: ['data[]', '$'], recordPath: ['data', '$'], timestamps: { created: 'epoch_s' }, currency: { column: 'currency' }, money: { amount: { unit: 'minor' } }, events: [{ eventType: 'PAYMENT_PROCESSED', ts: 'created', amount: 'amount' }] }],
  },
  'test',
).objects[0]!;

/** A byte source that hands the buffer out in pieces of the given sizes (cycled). */
function pieces(buf: Buffer, sizes: number[]) {
  return async function* () {
    let k = 0;
    for (let i = 0; i < buf.length; ) {
      const n = sizes[k++ % sizes.length]!;
      yield buf.subarray(i, i + n);
      i += n;
    }
  };
}

/** Records as comparable values (data through lossless stringify: numbers keep their digits). */
async function read(src: Buffer | (() => AsyncIterable<Uint8Array>), name: string, cap = 16 * 1024 * 1024, spec = SPEC) {
  const out: unknown[] = [];
  for await (const r of readRecords(src, parseFileName(name)!, spec, `acme/${name}`, { maxRecordBytes: cap })) {
    const e = r.parseError;
    out.push({ data: stringify(r.data), location: r.location, rawText: r.rawText, error: e ? { code: e.code, message: e.message, field: e.location?.field, value: e.value } : null });
  }
  return out;
}

const CHUNKINGS = [[1], [2], [3], [7], [13, 1, 5], [4096]];

async function sameInEveryChunking(name: string, bytes: Buffer, cap?: number, spec = SPEC) {
  const whole = await read(bytes, name, cap, spec);
  for (const sizes of CHUNKINGS) expect(await read(pieces(bytes, sizes), name, cap, spec), `${name} in pieces of ${sizes.join(',')}`).toEqual(whole);
  return whole;
}

const rec = (id: string, extra = '') => `{"id":"${id}","created":1704268800,"amount":1250.000000000000000001,"currency":"usd"${extra}}`;

describe('CSV in pieces', () => {
  it('multi-byte characters, quoted fields with newlines and quotes, CRLF, a BOM, a ragged row, an unclosed quote', async () => {
    const csv = '\uFEFFid,created,amount,currency,note\r\n' + 'é1,1704268800,100,usd,"a ""quoted"" note\r\nover two lines"\r\n' + '😀2,1704268800,200,eur,日本語\r\n' + 'short,1\r\n\r\n' + 'q4,1704268800,300,usd,"never closed\n';
    const r = await sameInEveryChunking('payment.csv', Buffer.from(csv));
    expect(r.map((x) => (x as { location: { line: number } }).location.line)).toEqual([4, 5, 6, 8]); // the lines csv-parse reports, as for the whole file (a CRLF inside quotes counts twice)
    expect(JSON.parse((r[0] as { data: string }).data).note).toBe('a "quoted" note\r\nover two lines');
    expect(r[2]).toMatchObject({ error: { code: 'MALFORMED_RECORD' } });
    expect(r[3]).toMatchObject({ error: { code: 'MALFORMED_RECORD', message: expect.stringMatching(/unparseable CSV record/) } });
  });

  it('invalid UTF-8 (BAD_ENCODING with its field) wherever the bytes are cut', async () => {
    const csv = Buffer.concat([Buffer.from('id,created,amount,currency\nok,1704268800,1,usd\nx,1704268800,1'), Buffer.from([0xc3]), Buffer.from(',usd\ny,1704268800,2,e'), Buffer.from([0xe2, 0x82]), Buffer.from('\n')]);
    const r = await sameInEveryChunking('payment.csv', csv);
    expect(r.map((x) => (x as { error: { code: string; field: string } | null }).error && [(x as { error: { code: string } }).error.code, (x as { error: { field: string } }).error.field])).toEqual([null, ['BAD_ENCODING', 'amount'], ['BAD_ENCODING', 'currency']]);
  });

  it('a record over the cap read in pieces is RECORD_TOO_LARGE with the same start, size and line; the header is not capped', async () => {
    const big = `b,1,"${'é9'.repeat(3000)}\n${'x'.repeat(2000)}",usd`;
    const csv = Buffer.from(`id,created,amount,currency\na,1,1,usd\n${big}\nc,1,1,usd\n`);
    const r = await sameInEveryChunking('payment.csv', csv, 4000);
    expect(r.map((x) => (x as { error: { code: string } | null }).error?.code ?? null)).toEqual([null, 'RECORD_TOO_LARGE', null]);
    const raw = `${big}\n`; // a CSV record's raw text ends with its newline
    expect(r[1]).toMatchObject({ location: { line: 4 }, rawText: `${raw.slice(0, 1024)}… (${raw.length} characters in all)`, error: { message: expect.stringMatching(new RegExp(`^record is ${Buffer.byteLength(raw)} bytes`)) } });
    // the same record unquoted and last, without a newline
    await sameInEveryChunking('payment.csv', Buffer.from(`id,created,amount,currency\na,1,1,usd\nb,1,${'7'.repeat(9000)},usd`), 4000);
    // and never closed: malformed, as a whole file says, and not kept whole
    const open = await sameInEveryChunking('payment.csv', Buffer.from(`id,created,amount,currency\na,1,1,usd\nb,1,"${'7'.repeat(9000)},usd\n`), 4000);
    expect(open[1]).toMatchObject({ error: { code: 'MALFORMED_RECORD' } });
  });
});

describe('JSON lines in pieces', () => {
  it('multi-byte characters, a split string with escapes, CRLF, blank lines, a BOM, bad JSON, lossless numbers', async () => {
    const text = `\uFEFF${rec('é😀', ',"note":"a \\"quote\\" and \\\\ and \\u00e9"')}\r\n\r\n   \n${rec('b')}\n{"id":"c",\n${rec('日本')}`;
    const r = await sameInEveryChunking('payment.jsonl', Buffer.from(text));
    expect(r.map((x) => (x as { location: { line: number } }).location.line)).toEqual([1, 4, 5, 6]);
    expect((r[0] as { data: string }).data).toContain('1250.000000000000000001');
    expect(r[2]).toMatchObject({ error: { code: 'MALFORMED_RECORD' } });
  });

  it('invalid UTF-8 split across pieces is BAD_ENCODING; a valid file keeps U+FFFD as data', async () => {
    const bytes = Buffer.concat([Buffer.from(`${rec('ok')}\n{"id":"ID`), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from(`","created":1704268800,"amount":1,"currency":"usd"}\n`)]);
    const r = await sameInEveryChunking('payment.jsonl', bytes);
    expect(r[1]).toMatchObject({ error: { code: 'BAD_ENCODING', field: 'id' } });
    const valid = await sameInEveryChunking('payment.jsonl', Buffer.from(`${rec('ID\uFFFD')}\n`));
    expect(valid[0]).toMatchObject({ error: null });
  });

  it('a line over the cap read in pieces: RECORD_TOO_LARGE with the same start and size; a blank long line is skipped', async () => {
    const big = rec('big', `,"blob":"${'ü'.repeat(6000)}"`);
    const r = await sameInEveryChunking('payment.jsonl', Buffer.from(`${rec('a')}\r\n${big}\r\n${' '.repeat(9000)}\n${rec('c')}`), 4000);
    expect(r.map((x) => (x as { error: { code: string } | null }).error?.code ?? (x as { location: { line: number } }).location.line)).toEqual([1, 'RECORD_TOO_LARGE', 4]);
    expect(r[1]).toMatchObject({ location: { line: 2 }, error: { message: expect.stringMatching(new RegExp(`^record is ${Buffer.byteLength(big)} bytes`)) }, rawText: expect.stringMatching(new RegExp(`… \\(${big.length} characters in all\\)$`)) });
  });
});

describe('JSON pages in pieces', () => {
  it('objects with a data array, bare arrays, single objects: strings split anywhere, numbers lossless', async () => {
    const page = `\uFEFF{"object":"list","url":"/v1/charges \\"x\\"","data":[${rec('é1')},\n ${rec('😀2', ',"nested":{"a":[1,2,{"b":"]}"}]}')}, ${rec('3')}],"has_more":false}`;
    const r = await sameInEveryChunking('payment.json', Buffer.from(page));
    expect(r).toHaveLength(3);
    expect((r[0] as { data: string }).data).toContain('1250.000000000000000001');
    await sameInEveryChunking('payment.json', Buffer.from(`[${rec('a')},${rec('b')}]`));
    await sameInEveryChunking('payment.json', Buffer.from(rec('single')));
  });

  it('broken pages: a bad element, a duplicate key, trailing data, a cut document, an element over the cap', async () => {
    for (const doc of [`{"data":[${rec('a')},{"id":"b","created":17042688oo},${rec('c')}]}`, `{"data":[${rec('a')},${rec('b', ',"id":"b2"')}]}`, `{"data":[${rec('a')}]} garbage`, `{"data":[${rec('a')},${rec('b')}`, `[${rec('a')},${rec('b')}`, `{"data":[${rec('a')},${rec('big', `,"x":"${'é'.repeat(5000)}"`)},${rec('c')}]}`]) {
      await sameInEveryChunking('payment.json', Buffer.from(doc), 4000);
    }
  });
});

describe('gzip in pieces', () => {
  it('a gzipped CSV and JSON-lines file read the same as in one piece; invalid gzip is one record with the file size', async () => {
    await sameInEveryChunking('payment.csv.gz', gzipSync('id,created,amount,currency\né,1704268800,100,usd\n'));
    await sameInEveryChunking('payment.jsonl.gz', Buffer.concat([gzipSync(`${rec('a')}\n`), gzipSync(`${rec('b')}\n`)]));
    const cut = gzipSync(`${rec('a')}\n${rec('b')}\n`).subarray(0, 30);
    const r = await sameInEveryChunking('payment.jsonl.gz', cut);
    expect(r).toEqual([expect.objectContaining({ rawText: '(30 bytes of invalid gzip)', error: expect.objectContaining({ code: 'MALFORMED_RECORD', message: expect.stringMatching(/^file is not valid gzip: unexpected end of file/) }) })]);
  });
});

describe('real sample exports in pieces', () => {
  const specs = DEFAULT_SOURCES.flatMap((s) => parseSourceConfig(s, s.name).objects.map((o) => ({ source: s.name, o })));
  for (const source of ['zuora', 'stripe', 'chargebee']) {
    it(`${source}: every fixture file read in odd pieces gives the records of the whole file`, async () => {
      let n = 0;
      for (const f of readdirSync(path.join(FIXTURES, source)).filter((x) => /\.(csv|jsonl|json)$/.test(x))) {
        const name = parseFileName(f)!;
        const spec = specs.find((s) => s.source === source && (s.o.file ?? s.o.object) === name.prefix)?.o;
        if (!spec) continue;
        const bytes = readFileSync(path.join(FIXTURES, source, f));
        const whole = await read(bytes, f, undefined, spec);
        expect(await read(pieces(bytes, [7, 1, 3]), f, undefined, spec), f).toEqual(whole);
        n += whole.length;
      }
      expect(n).toBeGreaterThan(0);
    });
  }
});

describe('UTF-8 check across chunks', () => {
  it('a character split anywhere is valid; a bad byte anywhere is not', () => {
    const good = Buffer.from('aé😀日\uFFFDz');
    const bad = Buffer.concat([Buffer.from('aé'), Buffer.from([0xf0, 0x9f]), Buffer.from('z')]);
    for (let size = 1; size <= 5; size++) {
      for (const [buf, ok] of [[good, true], [bad, false], [Buffer.from([0xe2, 0x82]), false]] as const) {
        const c = new Utf8Check();
        for (let i = 0; i < buf.length; i += size) c.push(buf.subarray(i, i + size));
        expect(c.end(), `${buf.toString('hex')} / ${size}`).toBe(ok);
      }
    }
  });
});
