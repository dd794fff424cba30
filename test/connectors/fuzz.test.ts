/**
 * Issue 15 item 2: one bad record never fails a run. Random byte mutations of the REAL sample exports
 * (test/fixtures/<system>/, licenses there) are read through the public connector API: the read never throws,
 * and every record ends in exactly one place — records read = records that produced events + quarantined + skipped.
 * Seeded, so a failure names a reproducible case.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { openSource, skippedTotal } from '../../connectors/index.js';
import { rng } from '../helpers/sample-events.js';
import { connectorConfig, DAY, FIXTURES, NOW, recordsWithEvents, tempDir, WINDOW } from './helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());

/** Bytes that break parsers and identities: separators, quotes, brackets, control characters, invalid UTF-8. */
const NASTY = [0x00, 0x1f, 0x7f, 0xff, 0xfe, 0xc3, 0x22, 0x2c, 0x0a, 0x0d, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x5c, 0x65, 0x2d, 0x2e, 0x30, 0x39];

function mutate(buf: Buffer, rand: () => number, edits: number): Buffer {
  let b = Buffer.from(buf);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * b.length);
    const byte = rand() < 0.6 ? NASTY[Math.floor(rand() * NASTY.length)]! : Math.floor(rand() * 256);
    const op = rand();
    if (op < 0.5) b[at] = byte;
    else if (op < 0.8) b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
  return b;
}

const recurly = YAML.parse(readFileSync(path.join(FIXTURES, 'recurly', 'recurly.yaml'), 'utf8')) as { name?: string; sources?: unknown[] };
const SOURCES = [...DEFAULT_SOURCES.filter((s) => s.name !== 'recurly'), ...(recurly.sources ?? [recurly])];

function fixtureFiles(source: string): string[] {
  return readdirSync(path.join(FIXTURES, source)).filter((f) => /\.(csv|jsonl|json)$/.test(f));
}

describe.each(['zuora', 'stripe', 'chargebee', 'recurly'])('%s: mutated real records never fail a run', (source) => {
  it('reads 40 mutated copies of each sample file; every record ends in exactly one place', async () => {
    const rand = rng(0x15_02 + source.length);
    let cases = 0;
    let quarantined = 0;
    for (const f of fixtureFiles(source)) {
      const bytes = readFileSync(path.join(FIXTURES, source, f));
      for (let i = 0; i < 40; i++) {
        const landing = path.join(t.dir, `${source}-${f}-${i}`);
        const dir = path.join(landing, source, DAY, '00');
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, f), mutate(bytes, rand, 1 + Math.floor(rand() * 6)));
        writeFileSync(path.join(dir, '_SUCCESS'), '');
        const batch = await openSource(connectorConfig(landing, SOURCES), source).read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'fuzz' });
        const events = [];
        try {
          for await (const e of batch.events) events.push(e);
        } catch (e) {
          throw new Error(`${source}/${f} mutation #${i} failed the read: ${(e as Error).stack}`);
        }
        const s = batch.stats;
        expect(s.records, `${source}/${f} #${i}`).toBe(s.mapped + s.quarantined + skippedTotal(s));
        expect(recordsWithEvents(events)).toBe(s.mapped);
        expect(batch.quarantine.length).toBe(s.quarantined);
        for (const q of batch.quarantine) {
          expect(q.message.length).toBeGreaterThan(0);
          expect(q.sourceFile).toBe(`${source}/${DAY}/00/${f}`);
        }
        quarantined += s.quarantined;
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(0);
    expect(quarantined).toBeGreaterThan(0); // the mutations did break records
  }, 120_000);
});

describe('a control character in an id (U+001F) quarantines that record only', () => {
  it('names the file, line and field; the other records load', async () => {
    const landing = path.join(t.dir, 'ctl');
    const dir = path.join(landing, 'stripe', DAY, '00');
    mkdirSync(dir, { recursive: true });
    const csv = readFileSync(path.join(FIXTURES, 'stripe', 'charge.csv'), 'utf8').split('\n');
    const header = csv[0]!.split(',');
    const idCol = header.indexOf('id');
    const cells = csv[1]!.split(',');
    cells[idCol] = `${cells[idCol]}\u001fX`;
    csv[1] = cells.join(',');
    writeFileSync(path.join(dir, 'charge.csv'), csv.join('\n'));
    writeFileSync(path.join(dir, '_SUCCESS'), '');
    const batch = await openSource(connectorConfig(landing), 'stripe').read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'ctl' });
    const events = [];
    for await (const e of batch.events) events.push(e);
    expect(batch.quarantine).toHaveLength(1);
    expect(batch.quarantine[0]).toMatchObject({ reason: 'BAD_VALUE', sourcePosition: 2, field: 'id', sourceFile: `stripe/${DAY}/00/charge.csv` });
    expect(batch.quarantine[0]!.message).toMatch(/control character U\+001F/);
    expect(batch.stats.mapped).toBe(batch.stats.records - 1);
  });
});

describe('minor: an id that is not text (issue 15 item 9)', () => {
  it('"id": true is a BAD_VALUE, not the id "true"; a quarantined number shows its digits', async () => {
    const landing = path.join(t.dir, 'boolid');
    const dir = path.join(landing, 'stripe', DAY, '00');
    mkdirSync(dir, { recursive: true });
    const line = JSON.parse(readFileSync(path.join(FIXTURES, 'stripe', 'charge-api.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'charge.jsonl'), `${JSON.stringify({ ...line, id: true })}\n${JSON.stringify({ ...line, id: 'ch_ok' })}\n`);
    writeFileSync(path.join(dir, '_SUCCESS'), '');
    const batch = await openSource(connectorConfig(landing), 'stripe').read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'b' });
    for await (const _ of batch.events) void _;
    expect(batch.quarantine.map((q) => [q.reason, q.field, q.sourcePosition])).toEqual([['BAD_VALUE', 'id', 1]]);
    expect(batch.quarantine[0]!.message).toMatch(/"id" is the boolean true/);
  });
});
