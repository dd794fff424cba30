/**
 * `billing-mart source-check` through the built binary (run `npx tsc -p tsconfig.build.json` first).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function run(args: string[]) {
  const r = await runCli(args, { env: { ...process.env, BILLING_MART_PG_URL: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('billing-mart source-check', () => {
  it('dry-runs a YAML definition over sample files: exact sums per type, quarantine per reason, exit 1', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const f = path.join(t.dir, 'transaction.csv');
    const lines = readFileSync(path.join(FIXTURES, 'recurly', 'transaction.csv'), 'utf8').trimEnd().split('\n');
    writeFileSync(f, [...lines, lines[4]!.replace(',USD,5.0,', ',ZZZ,5.0,'), lines[4]!.replace(',success,true,', ',processing,true,')].join('\n') + '\n');
    const r = await run(['--json', 'source-check', '--definition', path.join(FIXTURES, 'recurly', 'recurly.yaml'), f, path.join(FIXTURES, 'recurly', 'invoice_history.csv')]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { source: string; files: { records: number; mapped: number; skippedRecords: Record<string, number>; events: { event_type: string; amount_sum: string }[]; quarantine: { reason: string; rows: number }[] }[] };
    expect(doc.source).toBe('recurly');
    expect(doc.files[0]).toMatchObject({ records: 7, mapped: 2, skippedRecords: { 'transaction.card_verification': 3 } });
    expect(doc.files[0]!.quarantine.map((q) => `${q.reason}:${q.rows}`)).toEqual(['UNKNOWN_CURRENCY:1', 'UNKNOWN_EVENT_TYPE:1']);
    expect(doc.files[1]!.events.find((e) => e.event_type === 'INVOICE_POSTED')!.amount_sum).toBe('302.000000000');
  });

  it('exits 0 when every record maps (a built-in source of the configuration)', async () => {
    const r = await run(['source-check', '--source', 'stripe', path.join(FIXTURES, 'stripe', 'charge.csv')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('16 records → 16 mapped, 0 quarantined');
  });

  it('exits 2 on an invalid definition, naming the file and the key', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const f = path.join(t.dir, 'bad.yaml');
    writeFileSync(f, 'name: bad\ntimezone: UTC\nobjects:\n  - object: x\n    id: id\n    events:\n      - { eventType: PAID, ts: t }\n');
    const r = await run(['source-check', '--definition', f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}: objects[0 "x"].events[0].eventType: one of the canonical event types`);
  });
});

describe('a source defined beside the built-ins, through the CLI', () => {
  function setup() {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const d = path.join(t.dir, 'landing', 'acme', '2024-01-03', '00');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'transaction.csv'), 'id,type,amount,t\nv1,verify,0.0,2024-01-03 01:00:00\np1,purchase,5.00,2024-01-03 01:10:00\np2,purchase,x,2024-01-03 01:20:00\nv2,verify,0.0,2024-01-03 01:30:00\n');
    writeFileSync(path.join(d, '_SUCCESS'), '');
    mkdirSync(path.join(t.dir, 'sources'));
    writeFileSync(
      path.join(t.dir, 'sources', 'acme.yaml'),
      'name: acme\ntimezone: UTC\nobjects:\n  - object: transaction\n    id: id\n    currency: USD\n    money: { amount: { unit: major } }\n    skip:\n      - { name: card_verification, when: { type: verify } }\n    events:\n      - { eventType: PAYMENT_PROCESSED, when: { type: purchase }, ts: t, amount: amount }\n',
    );
    const cfg = path.join(t.dir, 'billing-mart.yaml');
    writeFileSync(cfg, 'landing: ./landing\nwarehouse: ./wh\npickup: { mode: marker, quietSeconds: 60 }\nsources:\n  - include: sources/acme.yaml\n');
    return { dir: t.dir, cfg };
  }

  it('ingests it with the built-ins still configured; the run record counts skipped records per rule', async () => {
    const { cfg } = setup();
    const c = await run(['--config', cfg, '--json', 'config']);
    expect(c.code).toBe(0);
    expect((JSON.parse(c.out) as { sources: { name: string }[] }).sources.map((s) => s.name)).toEqual(['zuora', 'stripe', 'chargebee', 'recurly', 'acme']);
    const r = await run(['--config', cfg, '--json', 'ingest', '--source', 'acme', '--window', '2024-01-03T00:00Z/2024-01-03T04:00Z']);
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.out) as { rowsWritten: number; quarantined: Record<string, number>; records: { read: number; mapped: number; quarantined: number; skipped: Record<string, number> } };
    expect(rec.rowsWritten).toBe(1);
    expect(rec.quarantined).toEqual({ BAD_AMOUNT: 1 });
    expect(rec.records).toEqual({ read: 4, mapped: 1, quarantined: 1, skipped: { 'transaction.card_verification': 2 } });
  });

  it('exits 2 naming the config file and key when an include is missing', async () => {
    const { cfg } = setup();
    writeFileSync(cfg, 'sources:\n  - include: sources/nope.yaml\n');
    const r = await run(['--config', cfg, 'config']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${cfg}: sources[0].include: sources/nope.yaml`);
  });
});

describe('source-check finds what a first load would (issue 15 item 8)', () => {
  it('reports every column the mapping names that the sample files lack, with object and file, in one pass', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const def = path.join(t.dir, 'acme.yaml');
    writeFileSync(
      def,
      [
        'name: acme',
        'timezone: UTC',
        'objects:',
        '  - object: payment',
        '    id: [payment_id, id]',
        '    currency: { column: currency_code }',
        '    money: { amount: { column: amount_total, unit: major } }',
        '    keys: { account: customer }',
        '    events:',
        '      - { eventType: PAYMENT_PROCESSED, ts: paid_at, amount: amount }',
      ].join('\n'),
    );
    const csv = path.join(t.dir, 'payment.csv');
    writeFileSync(csv, 'id,paid_at,amount,currency,customer\np1,2024-01-03T10:00:00Z,12.50,USD,c1\n');
    const r = await run(['--json', 'source-check', '--definition', def, csv]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { files: { missingColumns: { field: string; usedBy: string }[] }[] };
    expect(doc.files[0]!.missingColumns).toEqual([
      { field: 'currency_code', usedBy: 'currency.column' },
      { field: 'amount_total', usedBy: 'money.amount.column' },
    ]); // `id` is present, so the alternatives [payment_id, id] are satisfied
    const h = await run(['source-check', '--definition', def, csv]);
    expect(h.out).toContain(`MISSING COLUMN "amount_total" (named by objects.payment.money.amount.column): no record of this file has it`);
    expect(h.out).toContain(`MISSING COLUMN "currency_code"`);
  });
});
