/**
 * History objects hold their versions until the stream ends (connectors/mapping/session.ts). Given a spill (a
 * prepare's scratch), a session past its budget moves what it holds to bucket files and resolves them one bucket
 * at a time: the events and the accounting must be exactly those of the in-memory session — the earliest version
 * of each event wins, a version that implied nothing new is skipped as a repeated version — on Fivetran's real
 * Recurly rows and on a history with known repeats.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSource, type HoldSpill } from '../../connectors/index.js';
import type { BillingEvent } from '../../events/model.js';
import { BucketSpill } from '../../warehouse/scratch.js';
import { connectorConfig, DAY, landFixtures, NOW, tempDir, WINDOW } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** A spill that moves held values out past `holdValues`, flushing every `flushBytes`; counts the bucket sets it opened. */
function testSpill(dir: string, holdValues: number, flushBytes: number): HoldSpill & { opened: string[] } {
  const opened: string[] = [];
  return {
    holdValues,
    flushBytes,
    opened,
    open(name) {
      const d = path.join(dir, `${opened.length}-${name}`);
      opened.push(d);
      return new BucketSpill(d, 7);
    },
  };
}

const view = (e: BillingEvent) => ({ ...e, amount: e.amount.toFixed() + ' ' + e.amount.currency, mrrDelta: e.mrrDelta ? e.mrrDelta.toFixed() : null });

async function readRecurly(landing: string, spill?: HoldSpill) {
  const batch = await openSource(connectorConfig(landing), 'recurly').read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'run-test', ...(spill ? { spill } : {}) });
  const events: ReturnType<typeof view>[] = [];
  for await (const e of batch.events) events.push(view(e));
  events.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  return { events, stats: batch.stats, quarantine: batch.quarantine };
}

describe('history versions spilled to bucket files', () => {
  it("Fivetran's Recurly rows: spilled past one held event, the same events and accounting as in memory", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const landing = path.join(t.dir, 'landing');
    landFixtures(landing, 'recurly');
    const memory = await readRecurly(landing);
    const spill = testSpill(path.join(t.dir, 'spill'), 1, 64);
    const spilled = await readRecurly(landing, spill);
    expect(spill.opened.length).toBe(2); // held events and held records went to buckets
    expect(memory.events.length).toBeGreaterThan(10);
    expect(spilled.events).toEqual(memory.events);
    expect(spilled.stats).toEqual(memory.stats);
    expect(spilled.quarantine).toEqual(memory.quarantine);
    for (const d of spill.opened) expect(existsSync(d)).toBe(false); // removed once read
  });

  it('a history with known repeats: earliest version wins, repeats skipped, exact counts either way', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const landing = path.join(t.dir, 'landing');
    const header = '_fivetran_synced,id,created_at,updated_at,due_at,closed_at,account_id,previous_invoice_id,type,origin,state,number,collection_method,po_number,net_terms,currency,balance,paid,total,subtotal,refundable_amount,discount,tax,tax_type,tax_region,tax_rate';
    const N = 300;
    // three landing files (three hours of the window); each invoice: open (posted), paid (posted again + paid), paid again (nothing new)
    const rows: string[][] = [[], [], []];
    for (let i = 0; i < N; i++) {
      const id = `inv${String(i).padStart(5, '0')}`;
      const at = (m: number) => `${DAY} 0${m}:${String(i % 60).padStart(2, '0')}:00`;
      const total = `${10 + (i % 90)}.50`;
      rows[0]!.push(`${at(1)},${id},${at(0)},${at(0)},,,acct${i % 17},,charge,purchase,open,${i},automatic,,0,USD,${total},0.0,${total},${total},,0.0,0.0,,,`);
      rows[1]!.push(`${at(2)},${id},${at(0)},${at(1)},,${at(1)},acct${i % 17},,charge,purchase,paid,${i},automatic,,0,USD,0.0,${total},${total},${total},,0.0,0.0,,,`);
      rows[2]!.push(`${at(3)},${id},${at(0)},${at(2)},,${at(1)},acct${i % 17},,charge,purchase,paid,${i},automatic,,0,USD,0.0,${total},${total},${total},,0.0,0.0,,,`);
    }
    // the later files first: arrival order must not decide which version wins
    for (const [h, r] of [['00', rows[2]!], ['01', rows[0]!], ['02', rows[1]!]] as const) {
      const dir = path.join(landing, 'recurly', DAY, h);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'invoice_history.csv'), [header, ...r].join('\n') + '\n');
      writeFileSync(path.join(dir, '_SUCCESS'), '');
    }
    const memory = await readRecurly(landing);
    const spill = testSpill(path.join(t.dir, 'spill'), 50, 4096);
    const spilled = await readRecurly(landing, spill);
    expect(spill.opened.length).toBe(2);
    expect(memory.events.length).toBe(2 * N);
    expect(memory.stats).toMatchObject({ records: 3 * N, events: 2 * N, mapped: 2 * N, quarantined: 0, skipped: { 'invoice_history.(repeated version)': N } });
    // the posted event comes from the open version (the earliest), the paid one from the first paid version
    const posted = memory.events.filter((e) => e.eventType === 'INVOICE_POSTED');
    expect(posted.length).toBe(N);
    expect(posted.every((e) => e.lineage.sourceFile.includes(`/01/`))).toBe(true);
    expect(memory.events.filter((e) => e.eventType === 'INVOICE_PAID').every((e) => e.lineage.sourceFile.includes('/02/'))).toBe(true);
    expect(spilled.events).toEqual(memory.events);
    expect(spilled.stats).toEqual(memory.stats);
    expect(readdirSync(path.join(t.dir, 'spill'))).toEqual([]);
  });
});

describe('MRR observations spilled to bucket files', () => {
  it("Chargebee's rows: past one held observation they come back in chunks of whole subscriptions, exactly the in-memory ones", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const landing = path.join(t.dir, 'landing');
    landFixtures(landing, 'chargebee');
    const read = async (spill?: HoldSpill) => {
      const batch = await openSource(connectorConfig(landing), 'chargebee').read(WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'run-test', ...(spill ? { spill } : {}) });
      for await (const _ of batch.events) void _;
      const chunks: string[][] = [];
      for await (const c of batch.mrrChunks()) chunks.push(c.map((o) => `${o.subscriptionId} ${o.versionSeq} ${o.version} ${o.effectiveTs} ${o.mrr.toFixed()} ${o.mrr.currency} ${o.accountId} ${o.location.file}:${o.location.line ?? o.location.position}`));
      return { chunks, inMemory: batch.mrr.length };
    };
    const memory = await read();
    const spill = testSpill(path.join(t.dir, 'spill'), 1, 64);
    const spilled = await read(spill);
    expect(memory.chunks.length).toBe(1);
    expect(memory.chunks[0]!.length).toBeGreaterThan(1);
    expect(spill.opened.some((d) => d.endsWith('-mrr'))).toBe(true);
    expect(spilled.inMemory).toBe(0);
    expect(spilled.chunks.length).toBeGreaterThan(1);
    expect(spilled.chunks.flat().sort()).toEqual([...memory.chunks[0]!].sort());
    // every subscription in exactly one chunk: each chunk can be planned against the state on its own
    const chunksOf = new Map<string, Set<number>>();
    for (const [i, c] of spilled.chunks.entries()) for (const o of c) chunksOf.set(o.split(' ')[0]!, (chunksOf.get(o.split(' ')[0]!) ?? new Set()).add(i));
    expect([...chunksOf.values()].filter((s) => s.size > 1)).toEqual([]);
  });
});
