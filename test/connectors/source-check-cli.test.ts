/**
 * `billing-mart source-check` through the built binary (run `npx tsc -p tsconfig.build.json` first).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from './helpers.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/billing-mart.js');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, BILLING_MART_PG_URL: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('billing-mart source-check', () => {
  it('dry-runs a YAML definition over sample files: exact sums per type, quarantine per reason, exit 1', () => {
    const r = run(['--json', 'source-check', '--definition', path.join(FIXTURES, 'recurly', 'recurly.yaml'), path.join(FIXTURES, 'recurly', 'invoices.csv')]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { source: string; files: { records: number; events: { event_type: string; amount_sum: string }[]; quarantine: { reason: string; rows: number }[] }[] };
    expect(doc.source).toBe('recurly');
    expect(doc.files[0]!.records).toBe(5);
    expect(doc.files[0]!.events.find((e) => e.event_type === 'INVOICE_POSTED')!.amount_sum).toBe('151.500000000');
    expect(doc.files[0]!.quarantine.map((q) => `${q.reason}:${q.rows}`)).toEqual(['UNKNOWN_CURRENCY:1', 'UNKNOWN_EVENT_TYPE:1']);
  });

  it('exits 0 when every record maps (a built-in source of the configuration)', () => {
    const r = run(['source-check', '--source', 'stripe', path.join(FIXTURES, 'stripe', 'charge.csv')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('16 records → 16 mapped, 0 quarantined');
  });

  it('exits 2 on an invalid definition, naming the file and the key', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const f = path.join(t.dir, 'bad.yaml');
    writeFileSync(f, 'name: bad\ntimezone: UTC\nobjects:\n  - object: x\n    id: id\n    events:\n      - { eventType: PAID, ts: t }\n');
    const r = run(['source-check', '--definition', f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}: objects[0 "x"].events[0].eventType: one of the canonical event types`);
  });
});
