/**
 * The `billing-mart timestamps` line protocol: golden files, streaming with backpressure, and the real binary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timestampLine } from '../../events/time-lines.js';
import { runTimestampStream } from '../../jobs/cli/timestamps.js';
import { runCli } from '../helpers/cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'timestamps');
const input = readFileSync(join(fixtures, 'policies.jsonl'), 'utf8');
const expected = readFileSync(join(fixtures, 'policies.expected.jsonl'), 'utf8');

const KEYS = ['utc', 'utc_date', 'precision', 'truncated_to_midnight', 'ambiguous', 'nonexistent', 'source_local_date', 'error'];

/** A Writable that collects text and can simulate a slow reader (buffer full until drained). */
class Collector extends Writable {
  text = '';
  writes = 0;
  constructor(highWaterMark = 16 * 1024) {
    super({ highWaterMark, decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    this.writes++;
    setImmediate(cb);
  }
}

describe('timestampLine golden file', () => {
  it('maps every fixture line to the reviewed expected line', () => {
    const inLines = input.trimEnd().split('\n');
    const outLines = expected.trimEnd().split('\n');
    expect(outLines).toHaveLength(inLines.length);
    inLines.forEach((line, i) => expect(timestampLine(line, i + 1), `line ${i + 1}: ${line}`).toBe(outLines[i]));
  });

  it('every output line is JSON with exactly the documented keys, utc with 6 fraction digits', () => {
    for (const line of expected.trimEnd().split('\n')) {
      const o = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(o)).toEqual(KEYS);
      if (o.error === null) expect(o.utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      else expect(o.utc).toBeNull();
    }
  });
});

describe('timestampLine bad lines', () => {
  it.each([
    ['', /stdin line 4: empty line/],
    ['[1,2]', /stdin line 4: expected a JSON object/],
    ['{"source_tz":"UTC"}', /stdin line 4: missing field "raw"/],
    ['{"raw":"2017-01-01"}', /stdin line 4 field "source_tz": missing or not a string/],
    ['{"raw":"2017-01-01","source_tz":5}', /stdin line 4 field "source_tz": missing or not a string/],
    ['{"raw":"2017-01-01","source_tz":"Mars/Olympus"}', /stdin line 4 field "source_tz": unknown time zone "Mars\/Olympus"/],
    ['{"raw":1.5e9,"source_tz":"UTC"}', /stdin line 4 field "raw": invalid timestamp 1.5e9: epoch numbers must be whole/],
    ['{"raw":1500000000.0,"source_tz":"UTC"}', /invalid timestamp 1500000000.0: epoch numbers must be whole/],
    ['{"raw":null,"source_tz":"UTC"}', /missing \(null\) value/],
    ['{"raw":"2017-07-15 10:00","source_tz":"UTC"', /not valid JSON/],
  ])('%j', (line, message) => {
    const o = JSON.parse(timestampLine(line, 4)) as Record<string, unknown>;
    expect(o.error).toMatch(message);
    expect(o.utc).toBeNull();
  });

  it('reads JSON numbers by their exact text, however they are spaced', () => {
    const a = JSON.parse(timestampLine('{"raw":1500000000123,"source_tz":"UTC"}', 1)) as Record<string, unknown>;
    const b = JSON.parse(timestampLine('{ "source_tz" : "UTC", "raw" : 1500000000123 }', 1)) as Record<string, unknown>;
    expect(a.utc).toBe('2017-07-14T02:40:00.123000Z');
    expect(b).toEqual(a);
    // 2^53 + 1 would silently become 2^53 through a double: it must be judged (and rejected) by its own digits
    const big = JSON.parse(timestampLine('{"raw":9007199254740993,"source_tz":"UTC"}', 1)) as Record<string, unknown>;
    expect(big.error).toMatch(/invalid timestamp 9007199254740993: epoch number out of range/);
  });
});

describe('runTimestampStream', () => {
  it('keeps order across arbitrary chunk boundaries, CRLF and a missing final newline', async () => {
    const text = input.replace(/\n/g, '\r\n').trimEnd();
    const chunks: Buffer[] = [];
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7)); // splits "２" and "–" mid-character too
    const out = new Collector();
    const res = await runTimestampStream(chunks, out);
    expect(res.lines).toBe(expected.trimEnd().split('\n').length);
    expect(out.text).toBe(expected);
  });

  it('honours backpressure: a slow reader gets everything, in bounded writes', async () => {
    const line = '{"raw":"2017-03-12 02:30","source_tz":"America/Los_Angeles"}\n';
    const n = 20_000;
    async function* gen() {
      for (let i = 0; i < n / 100; i++) yield line.repeat(100);
    }
    const out = new Collector(1024);
    let maxBuffered = 0;
    const origWrite = out.write.bind(out);
    out.write = ((chunk: string) => {
      const ok = origWrite(chunk);
      maxBuffered = Math.max(maxBuffered, out.writableLength);
      return ok;
    }) as typeof out.write;
    const res = await runTimestampStream(gen(), out);
    expect(res.lines).toBe(n);
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toHaveLength(n);
    expect(new Set(lines).size).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ utc: '2017-03-12T10:30:00.000000Z', nonexistent: true });
    expect(maxBuffered).toBeLessThan(200 * 1024); // waited for 'drain' instead of buffering everything
  });

  it('stops quietly when the reader goes away', async () => {
    const out = new PassThrough({ highWaterMark: 1024 });
    async function* gen() {
      for (let i = 0; i < 1000; i++) yield '{"raw":0,"source_tz":"UTC"}\n'.repeat(100);
    }
    out.once('data', () => out.destroy());
    const res = await runTimestampStream(gen(), out);
    expect(res.closed).toBe(true);
    expect(res.lines).toBeLessThan(100_000);
  });

  it('propagates an unreadable input as an error', async () => {
    async function* broken(): AsyncGenerator<string> {
      yield '{"raw":0,"source_tz":"UTC"}\n';
      throw new Error('EIO: i/o error, read');
    }
    await expect(runTimestampStream(broken(), new Collector())).rejects.toThrow(/EIO/);
  });
});

const bin = join(root, 'bin', 'billing-mart.js');
const built = existsSync(join(root, 'dist', 'jobs', 'cli', 'timestamps.js'));

describe.skipIf(!built)('billing-mart timestamps (the built binary; run `npx tsc -p tsconfig.build.json` first)', () => {
  it('turns the fixture into the expected output and exits 0 despite bad lines', async () => {
    const r = await runCli(['timestamps'], { input });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected);
  });

  it('rejects a bad --epoch with exit 2', async () => {
    const r = await runCli(['timestamps', '--epoch', 'hours'], { input: '' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--epoch must be one of auto, seconds, milliseconds/);
  });

  it('--epoch milliseconds reads bare integers as milliseconds', async () => {
    const r = await runCli(['timestamps', '--epoch', 'milliseconds'], { input: '{"raw":1500000000,"source_tz":"UTC"}\n' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ utc: '1970-01-18T08:40:00.000000Z', precision: 'millisecond' });
  });
});
