/**
 * Issue 15 item 9, hostile files: good records survive next to a bad one wherever the format allows it, and the
 * failing element is named; invalid UTF-8 is BAD_ENCODING (never replaced); a huge record is RECORD_TOO_LARGE
 * with its position and the read goes on; a repeated CSV header column is refused; empty files hold no records.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource, parseFileName, readRecords } from '../../connectors/index.js';
import { parseSourceConfig } from '../../config/sources.js';
import { acmePayments, tempDir } from './helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());

const SRC = acmePayments({ recordsPath: 'data[]' });
const rec = (id: string, extra = '') => `{"id":"${id}","created":1704268800,"amount":1250,"currency":"usd"${extra}}`;
const W = { startMs: Date.parse('2024-01-03T00:00:00Z'), endMs: Date.parse('2024-01-03T04:00:00Z') };
let n = 0;

async function load(name: string, content: string | Buffer) {
  const landing = path.join(t.dir, `l${n++}`);
  const dir = path.join(landing, 'acme', '2024-01-03', '00');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), content);
  writeFileSync(path.join(dir, '_SUCCESS'), '');
  const batch = await openSource({ landing, pickup: { mode: 'marker', quietSeconds: 0 }, sources: [SRC] }, 'acme').read(W, { lookbackHours: 0, nowMs: W.endMs, runId: 'h' });
  const ids: string[] = [];
  for await (const e of batch.events) ids.push(e.sourceRecordId);
  return { ids, q: batch.quarantine.map((x) => ({ reason: x.reason, position: x.sourcePosition, field: x.field, message: x.message })), stats: batch.stats };
}

describe('one bad element does not poison a JSON page', () => {
  it('a duplicate key: 2 good + 1 bad give 2 events and 1 quarantine naming the element', async () => {
    const r = await load('payment.json', `{"data":[${rec('a')},${rec('b', ',"id":"b2"')},${rec('c')}]}`);
    expect(r.ids).toEqual(['a', 'c']);
    expect(r.q).toEqual([{ reason: 'MALFORMED_RECORD', position: 1, field: null, message: expect.stringMatching(/^record 1 at data\[\]: duplicate key "id"/) }]);
  });

  it('very deep nesting in one element', async () => {
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const r = await load('payment.json', `{"data":[${rec('a')},${rec('b', `,"x":${deep}`)},${rec('c')}]}`);
    expect(r.ids).toEqual(['a', 'c']);
    expect(r.q[0]).toMatchObject({ reason: 'MALFORMED_RECORD', position: 1, message: expect.stringMatching(/nested deeper than 64 levels/) });
  });

  it('trailing data after the document: the records load, the trailing text is quarantined after them', async () => {
    const r = await load('payment.json', `{"data":[${rec('a')},${rec('b')}]} garbage`);
    expect(r.ids).toEqual(['a', 'b']);
    expect(r.q).toEqual([{ reason: 'MALFORMED_RECORD', position: 2, field: null, message: expect.stringMatching(/trailing data after the JSON document/) }]);
  });

  it('a syntax error inside one element', async () => {
    const r = await load('payment.json', `{"data":[${rec('a')},{"id":"b","created":17042688oo},${rec('c')}]}`);
    expect(r.ids).toEqual(['a', 'c']);
    expect(r.q.map((x) => x.position)).toEqual([1]);
  });

  it('a BOM on a JSON page or a JSON-lines file is not data: the first record loads', async () => {
    expect((await load('payment.json', `\uFEFF{"data":[${rec('a')}]}`)).ids).toEqual(['a']);
    const l = await load('payment.jsonl', `\uFEFF${rec('a')}\n${rec('b')}\n`);
    expect(l.ids).toEqual(['a', 'b']);
    expect(l.q).toEqual([]);
  });
});

describe('invalid UTF-8 is BAD_ENCODING, never replaced', () => {
  it('ids ID<FF> and ID<FE> are both quarantined with the field, not collapsed into ID\\uFFFD', async () => {
    const lines = [Buffer.from(rec('ok') + '\n'), Buffer.from('{"id":"ID'), Buffer.from([0xff]), Buffer.from('","created":1704268800,"amount":1,"currency":"usd"}\n'), Buffer.from('{"id":"ID'), Buffer.from([0xfe]), Buffer.from('","created":1704268800,"amount":1,"currency":"usd"}\n')];
    const r = await load('payment.jsonl', Buffer.concat(lines));
    expect(r.ids).toEqual(['ok']);
    expect(r.q.map((x) => [x.reason, x.position, x.field])).toEqual([['BAD_ENCODING', 2, 'id'], ['BAD_ENCODING', 3, 'id']]);
    const csv = Buffer.concat([Buffer.from('id,created,amount,currency\nok,1704268800,1,usd\n'), Buffer.from('x,1704268800,1'), Buffer.from([0xc3]), Buffer.from(',usd\n')]);
    const c = await load('payment.csv', csv);
    expect(c.ids).toEqual(['ok']);
    expect(c.q.map((x) => [x.reason, x.position, x.field])).toEqual([['BAD_ENCODING', 3, 'amount']]);
  });

  it('a valid U+FFFD in a valid UTF-8 file is data, not an encoding error', async () => {
    const r = await load('payment.jsonl', `${rec('ID\uFFFD')}\n`);
    expect(r.ids).toEqual(['ID\uFFFD']);
  });
});

describe('one huge record (maxRecordBytes)', () => {
  const spec = parseSourceConfig(SRC, 'test').objects[0]!;
  async function read(name: string, text: string, cap: number) {
    const out = [];
    for await (const r of readRecords(Buffer.from(text), parseFileName(name)!, spec, `acme/${name}`, { maxRecordBytes: cap })) out.push(r);
    return out;
  }
  it('a JSON line over the cap is RECORD_TOO_LARGE with its line; the read goes on; the quarantine keeps only its start', async () => {
    const big = rec('big', `,"blob":"${'x'.repeat(50_000)}"`);
    const rs = await read('payment.jsonl', `${rec('a')}\n${big}\n${rec('c')}\n`, 10_000);
    expect(rs.map((r) => r.parseError?.code ?? r.data.id)).toEqual(['a', 'RECORD_TOO_LARGE', 'c']);
    expect(rs[1]!.location.line).toBe(2);
    expect(rs[1]!.rawText!.length).toBeLessThan(1200);
  });
  it('an element of a JSON page over the cap, and a CSV record over the cap', async () => {
    const big = rec('big', `,"blob":"${'x'.repeat(50_000)}"`);
    const page = await read('payment.json', `{"data":[${rec('a')},${big},${rec('c')}]}`, 10_000);
    expect(page.map((r) => r.parseError?.code ?? r.data.id)).toEqual(['a', 'RECORD_TOO_LARGE', 'c']);
    expect(page[1]!.location.position).toBe(1);
    const csv = await read('payment.csv', `id,created,amount,currency\na,1,1,usd\nb,1,"${'9'.repeat(50_000)}",usd\nc,1,1,usd\n`, 10_000);
    expect(csv.map((r) => r.parseError?.code ?? r.data.id)).toContain('RECORD_TOO_LARGE');
    expect(csv.filter((r) => !r.parseError).map((r) => r.data.id)).toEqual(['a', 'c']);
  });
});

describe('minor', () => {
  it('a repeated CSV header column is refused for every row (not last-wins)', async () => {
    const r = await load('payment.csv', 'id,created,amount,amount,currency\np1,1704268800,100,999,usd\np2,1704268800,5,6,usd\n');
    expect(r.ids).toEqual([]);
    expect(r.q.map((x) => [x.reason, x.position])).toEqual([['MALFORMED_RECORD', 2], ['MALFORMED_RECORD', 3]]);
    expect(r.q[0]!.message).toMatch(/header repeats column "amount" \(columns 3 and 4\)/);
  });
  it('a 0-byte JSON page holds no records, like empty CSV and JSON-lines files', async () => {
    for (const name of ['payment.json', 'payment.csv', 'payment.jsonl']) {
      const r = await load(name, '');
      expect(r.q, name).toEqual([]);
      expect(r.stats.records, name).toBe(0);
    }
  });
});

describe('symlinks in the landing zone (issue 15 item 9)', () => {
  it('a file link and a day-folder link leaving the landing root are reported, not followed; a link inside is read', async () => {
    const { symlinkSync } = await import('node:fs');
    const landing = path.join(t.dir, 'links');
    const outsideDir = path.join(t.dir, 'outside', '00');
    mkdirSync(outsideDir, { recursive: true });
    writeFileSync(path.join(outsideDir, 'payment.jsonl'), `${rec('stolen')}\n`);
    writeFileSync(path.join(outsideDir, '_SUCCESS'), '');
    const day3 = path.join(landing, 'acme', '2024-01-03', '00');
    mkdirSync(day3, { recursive: true });
    writeFileSync(path.join(day3, 'payment.jsonl'), `${rec('real')}\n`);
    symlinkSync('/etc/passwd', path.join(day3, 'payment-passwd.csv'));
    symlinkSync(path.join(day3, 'payment.jsonl'), path.join(day3, 'payment-again.jsonl'));
    writeFileSync(path.join(day3, '_SUCCESS'), '');
    mkdirSync(path.join(landing, 'acme', '2024-01-02'), { recursive: true });
    symlinkSync(outsideDir, path.join(landing, 'acme', '2024-01-02', '20'));
    const batch = await openSource({ landing, pickup: { mode: 'marker', quietSeconds: 0 }, sources: [SRC] }, 'acme').read(W, { lookbackHours: 24, nowMs: W.endMs, runId: 's' });
    const ids: string[] = [];
    for await (const e of batch.events) ids.push(e.sourceRecordId);
    expect(ids).toEqual(['real', 'real']); // the inside link is read (and deduplicated downstream)
    expect(batch.quarantine).toEqual([]);
    expect(batch.unrecognised).toEqual([
      { path: 'acme/2024-01-02/20', reason: expect.stringMatching(/symbolic link leaving the landing zone \(to .*outside\/00\): not followed/) },
      { path: 'acme/2024-01-03/00/payment-passwd.csv', reason: 'a symbolic link leaving the landing zone (to /etc/passwd): not followed' },
    ]);
  });
});
