/**
 * Landing-zone pick-up (windows + lookback, readiness, re-delivery), readers' handling of broken input, and
 * control totals. Time is injected (nowMs, file mtimes set explicitly).
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FatalError, RetriableError } from '../../events/errors.js';
import { openSource, type ConnectorConfig } from '../../connectors/index.js';
import { acmePayments, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const SRC = acmePayments({ recordsPath: 'list[].payment', jsonFields: ['meta'] });
const T0 = Date.parse('2024-01-03T08:00:00Z');
const W = { startMs: T0, endMs: T0 + 4 * 3_600_000 };

function setup(mode: 'marker' | 'quiet' | 'marker-or-quiet' = 'marker', src: object = SRC) {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const config: ConnectorConfig = { landing: t.dir, pickup: { mode, quietSeconds: 60 }, sources: [src] };
  const put = (rel: string, text: string, mtimeMs = T0) => {
    const f = path.join(t.dir, 'acme', rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
    utimesSync(f, mtimeMs / 1000, mtimeMs / 1000);
  };
  return { dir: t.dir, config, put, src: openSource(config, 'acme') };
}

const CSV = 'id,created,amount,currency,meta\np1,1704268800,1250,usd,"{""a"":1}"\n';

async function drain(batch: { events: AsyncIterable<unknown> }) {
  const out: unknown[] = [];
  for await (const e of batch.events) out.push(e);
  return out;
}

describe('pick-up', () => {
  it('reads the window folders plus lookback only, in time order, with path and sha256', async () => {
    const { put, src } = setup();
    for (const rel of ['2024-01-02/04', '2024-01-02/08', '2024-01-03/04', '2024-01-03/08', '2024-01-03/12']) {
      put(`${rel}/payment.csv`, CSV);
      put(`${rel}/_SUCCESS`, '');
    }
    const plan = await src.plan(W, { lookbackHours: 24, nowMs: T0 + 5 * 3_600_000 });
    expect(plan.folders).toEqual(['acme/2024-01-02/08', 'acme/2024-01-03/04', 'acme/2024-01-03/08']);
    expect(plan.inputs.map((i) => i.path)).toEqual(['acme/2024-01-02/08/payment.csv', 'acme/2024-01-03/04/payment.csv', 'acme/2024-01-03/08/payment.csv']);
    expect(plan.inputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.inputs[0]!.bytes).toBe(Buffer.byteLength(CSV));
  });

  it('a folder named after a day that does not exist (2024-02-30) is not read as the day it rolls over to', async () => {
    const { put, src } = setup();
    const mar1 = Date.parse('2024-03-01T00:00:00Z');
    for (const rel of ['2024-02-30/00', '2024-03-01/00']) {
      put(`${rel}/payment.csv`, CSV);
      put(`${rel}/_SUCCESS`, '');
    }
    const plan = await src.plan({ startMs: mar1, endMs: mar1 + 4 * 3_600_000 }, { lookbackHours: 0, nowMs: mar1 + 5 * 3_600_000 });
    expect(plan.folders).toEqual(['acme/2024-03-01/00']);
  });

  it('never reads a half-written file: marker mode waits for .done or _SUCCESS', async () => {
    const { put, src } = setup('marker');
    put('2024-01-03/08/payment.csv', CSV);
    put('2024-01-03/08/payment-2.csv', CSV);
    put('2024-01-03/08/payment-2.csv.done', '');
    const plan = await src.plan(W, { lookbackHours: 0, nowMs: T0 + 3_600_000 });
    expect(plan.inputs.map((i) => i.path)).toEqual(['acme/2024-01-03/08/payment-2.csv']);
    expect(plan.pending).toEqual([{ path: 'acme/2024-01-03/08/payment.csv', reason: 'no .done/_SUCCESS marker yet' }]);
  });

  it('quiet mode takes a file only after quietSeconds without change (time injected)', async () => {
    const { put, src } = setup('quiet');
    put('2024-01-03/08/payment.csv', CSV, T0);
    expect((await src.plan(W, { lookbackHours: 0, nowMs: T0 + 30_000 })).pending).toHaveLength(1);
    expect((await src.plan(W, { lookbackHours: 0, nowMs: T0 + 60_000 })).inputs).toHaveLength(1);
  });

  it('skips files already committed with the same content but re-reads a changed re-delivery', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.csv', CSV);
    put('2024-01-03/08/_SUCCESS', '');
    const first = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r1' });
    expect(await drain(first)).toHaveLength(1);
    const committed = new Set(first.inputs.map((i) => `${i.path}@${i.sha256}`));
    const again = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r2', committed });
    expect(again.inputs).toEqual([]);
    expect(again.skipped.map((i) => i.path)).toEqual(['acme/2024-01-03/08/payment.csv']);
    expect(await drain(again)).toHaveLength(0);
    put('2024-01-03/08/payment.csv', CSV + 'p2,1704268801,1,usd,\n');
    const changed = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r3', committed });
    expect(changed.inputs).toHaveLength(1);
    const evs = (await drain(changed)) as { eventId: string }[];
    expect(evs).toHaveLength(2);
    expect(evs[0]!.eventId).toBe(((await drain(await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r4' }))) as { eventId: string }[])[0]!.eventId);
  });

  it('reports files that match no object instead of silently ignoring them', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/refunds.csv', CSV);
    put('2024-01-03/08/notes.txt', 'x');
    put('2024-01-03/08/_SUCCESS', '');
    const plan = await src.plan(W, { lookbackHours: 0, nowMs: T0 });
    expect(plan.unrecognised.map((u) => u.path)).toEqual(['acme/2024-01-03/08/notes.txt', 'acme/2024-01-03/08/refunds.csv']);
    expect(plan.unrecognised[1]!.reason).toContain('no object "refunds" in source "acme" (objects: payment)');
  });

  it('reports entries outside the <day>/<HH> layout instead of skipping them silently (a 30 February folder was never read, unreported)', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.csv', CSV);
    put('2024-01-03/08/_SUCCESS', '');
    put('2024-02-30/08/payment.csv', CSV); // not a calendar day
    put('2024-1-3/08/payment.csv', CSV); // not YYYY-MM-DD
    put('payment.csv', CSV); // beside the day folders
    put('2024-01-03/8/payment.csv', CSV); // hour not HH
    put('2024-01-03/payment.csv', CSV); // directly in a day folder
    put('_late/2024-01-03/08/payment.csv', CSV); // `_…` and hidden entries are the layout's own: not reported
    put('.tmp/x', 'x');
    const plan = await src.plan(W, { lookbackHours: 0, nowMs: T0 });
    expect(plan.inputs.map((f) => f.path)).toEqual(['acme/2024-01-03/08/payment.csv']);
    expect(plan.unrecognised.map((u) => u.path).sort()).toEqual(['acme/2024-01-03/8', 'acme/2024-01-03/payment.csv', 'acme/2024-02-30', 'acme/2024-1-3', 'acme/payment.csv']);
    const reason = (p: string) => plan.unrecognised.find((u) => u.path === p)!.reason;
    expect(reason('acme/2024-02-30')).toContain('"2024-02-30" is not a calendar day');
    expect(reason('acme/2024-1-3')).toContain('not a <YYYY-MM-DD> landing folder');
    expect(reason('acme/2024-01-03/8')).toContain('not an <HH> hour folder');
    // A day folder outside the window is not listed, so its strays belong to the runs of its own windows.
    const other = await src.plan({ startMs: T0 + 86_400_000, endMs: T0 + 86_400_000 + 4 * 3_600_000 }, { lookbackHours: 0, nowMs: T0 });
    expect(other.unrecognised.map((u) => u.path).sort()).toEqual(['acme/2024-02-30', 'acme/2024-1-3', 'acme/payment.csv']);
  });

  it('fails the run (retriable) when a file changes between planning and reading', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.csv', CSV);
    put('2024-01-03/08/_SUCCESS', '');
    const batch = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r1' });
    put('2024-01-03/08/payment.csv', CSV + 'p9,1,1,usd,\n');
    await expect(drain(batch)).rejects.toBeInstanceOf(RetriableError);
  });
});

describe('broken input is quarantined, never dropped', () => {
  it('CSV: wrong column count, stray quotes, invalid JSON text in a json field, an unclosed quote at the end', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.csv', 'id,created,amount,currency,meta\np1,1704268800,100,usd,\np2,1704268800,100\np3,1704268800,100,usd,"{bad json"\np4,"17042"68800,1,usd,\np5,1704268800,7,usd,\np6,"1704268800,1,usd,\n');
    put('2024-01-03/08/_SUCCESS', '');
    const b = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r' });
    const evs = await drain(b);
    expect(evs).toHaveLength(2);
    expect(b.stats.records).toBe(6);
    b.quarantine.sort((x, y) => x.sourcePosition - y.sourcePosition);
    expect(b.quarantine.map((q) => `${q.sourcePosition}:${q.reason}:${q.field}`)).toEqual(['3:MALFORMED_RECORD:null', '4:MALFORMED_RECORD:meta', '5:BAD_TIMESTAMP:created', '7:MALFORMED_RECORD:null']);
    expect(b.quarantine[2]!.rawValue).toBe('"17042"68800');
    expect(b.quarantine[3]!.message).toContain('unparseable CSV record');
    expect(b.quarantine[0]!.message).toContain('row has 3 fields but the header has 5');
    expect(b.quarantine[0]!.rawRecord).toBe('p2,1704268800,100');
  });

  it('JSON lines: an unparseable line is one quarantine entry with its line number', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.jsonl', '{"id":"a","created":1704268800,"amount":5,"currency":"EUR"}\n\n{"id":"b", oops}\n{"id":"c","created":1704268800,"amount":1.5,"currency":"EUR"}\n');
    put('2024-01-03/08/_SUCCESS', '');
    const b = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r' });
    expect(await drain(b)).toHaveLength(1);
    expect(b.quarantine.map((q) => `${q.sourcePosition}:${q.reason}`)).toEqual(['3:MALFORMED_RECORD', '4:BAD_AMOUNT']);
  });

  it('JSON pages: records by position; an element without the expected key is kept for quarantine', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.json', JSON.stringify({ list: [{ payment: { id: 'a', created: 1704268800, amount: 5, currency: 'JPY' } }, { other: {} }, { payment: { created: 1704268800, amount: 5, currency: 'JPY' } }] }));
    put('2024-01-03/08/payment-broken.json', '{"list": [');
    put('2024-01-03/08/_SUCCESS', '');
    const b = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r' });
    const evs = (await drain(b)) as { amount: { toString(): string }; lineage: { sourcePosition: number } }[];
    expect(evs.map((e) => `${e.lineage.sourcePosition}:${e.amount.toString()}`)).toEqual(['0:5 JPY']);
    expect(b.quarantine.map((q) => `${path.basename(q.sourceFile)}#${q.sourcePosition}:${q.reason}`)).toEqual([
      'payment-broken.json#0:MALFORMED_RECORD',
      'payment.json#1:MALFORMED_RECORD',
      'payment.json#2:MISSING_ID',
    ]);
  });

  it('an invalid gzip file is one quarantine entry', async () => {
    const { put, src } = setup();
    put('2024-01-03/08/payment.csv.gz', 'not gzip');
    put('2024-01-03/08/_SUCCESS', '');
    const b = await src.read(W, { lookbackHours: 0, nowMs: T0, runId: 'r' });
    await drain(b);
    expect(b.quarantine.map((q) => q.reason)).toEqual(['MALFORMED_RECORD']);
    expect(b.quarantine[0]!.message).toContain('not valid gzip');
  });
});

describe('control totals', () => {
  const declared = { ...SRC, completeness: { control: { kind: 'export', format: 'billing-mart' } } };
  it('a source that declares no control has none (ARRIVED is its best level)', async () => {
    const { put, src } = setup();
    put('_control/2024-01-03.json', JSON.stringify({ source: 'acme', date: '2024-01-03', totals: [] }));
    expect(src.proof).toEqual({ kind: 'none', origin: null });
    expect(await src.controlTotals('2024-01-03')).toBeNull();
  });

  it('reads <landing>/<source>/_control/<day>.json, or null when absent', async () => {
    const { put, src } = setup('marker', declared);
    expect(await src.controlTotals('2024-01-03')).toBeNull();
    put('_control/2024-01-03.json', JSON.stringify({ source: 'acme', date: '2024-01-03', generated_at: '2024-01-04T02:00:00Z', totals: [{ event_type: 'PAYMENT_PROCESSED', currency: 'usd', rows: 2, amount_sum: '12.510000000' }] }));
    expect(await src.controlTotals('2024-01-03')).toEqual({
      source: 'acme',
      date: '2024-01-03',
      generated_at: '2024-01-04T02:00:00Z',
      origin: 'acme/_control/2024-01-03.json',
      totals: [{ event_type: 'PAYMENT_PROCESSED', currency: 'USD', rows: 2, amount_sum: '12.510000000' }],
    });
  });

  it('rejects a control file with a float amount or the wrong day, naming the file', async () => {
    const { put, src } = setup('marker', declared);
    put('_control/2024-01-03.json', JSON.stringify({ source: 'acme', date: '2024-01-03', totals: [{ event_type: 'X', currency: 'USD', rows: 1, amount_sum: 1.5 }] }));
    await expect(src.controlTotals('2024-01-03')).rejects.toThrow(/_control\/2024-01-03\.json is malformed: totals\.0\.amount_sum/);
    put('_control/2024-01-04.json', JSON.stringify({ source: 'acme', date: '2024-01-03', totals: [] }));
    await expect(src.controlTotals('2024-01-04')).rejects.toBeInstanceOf(FatalError);
  });
});
