import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../tools/generator/index.js';
import { anyScaleStyle, majorText } from '../../tools/generator/format.js';
import { FileSink } from '../../tools/generator/sink.js';
import { minorToDecimal9 } from '../../tools/generator/truth.js';
import { Rng } from '../../tools/generator/rng.js';
import { readFileSnapshot } from '../../connectors/oltp/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-gen-'));
  dirs.push(d);
  return d;
}

function treeHash(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(root, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

describe('generate', () => {
  it('is deterministic for a seed and differs for another seed', async () => {
    const a = tmp();
    const b = tmp();
    const c = tmp();
    const opts = { from: '2024-01-30', to: '2024-02-01', eventsPerDay: 300 };
    await generate({ ...opts, out: a, seed: 's1' });
    await generate({ ...opts, out: b, seed: 's1' });
    await generate({ ...opts, out: c, seed: 's2' });
    const ha = treeHash(a);
    expect(ha.size).toBeGreaterThan(50);
    expect(treeHash(b)).toEqual(ha);
    expect(treeHash(c).get('_truth/expected_fact.csv')).not.toBe(ha.get('_truth/expected_fact.csv'));
  });

  it('writes the documented layout: windows, markers, control files, late tree, OLTP snapshot and SQL, truth', async () => {
    const out = tmp();
    const s = await generate({ out, from: '2024-01-03', to: '2024-01-03', eventsPerDay: 1500, seed: 'layout' });
    for (const src of ['zuora', 'stripe', 'chargebee', 'recurly']) {
      const hours = readdirSync(path.join(out, src, '2024-01-03'));
      expect(hours.every((h) => /^(00|04|08|12|16|20)$/.test(h))).toBe(true);
      expect(existsSync(path.join(out, src, '2024-01-03', hours[0]!, '_SUCCESS'))).toBe(true);
      const ctl = JSON.parse(readFileSync(path.join(out, src, '_control', '2024-01-03.json'), 'utf8'));
      expect(ctl).toMatchObject({ source: src, date: '2024-01-03', generated_at: '2024-01-04T02:00:00Z' });
      expect(ctl.totals.length).toBeGreaterThan(3);
      expect(ctl.totals[0].amount_sum).toMatch(/^-?\d+\.\d{9}$/);
    }
    expect(s.lateFiles).toBeGreaterThan(0);
    expect(existsSync(path.join(out, '_late'))).toBe(true);
    expect(s.redeliveredFiles).toBeGreaterThan(0);
    const snap = await readFileSnapshot(path.join(out, '_oltp'));
    expect(snap.accounts.length).toBeGreaterThan(40);
    expect(snap.products).toHaveLength(24);
    expect(readFileSync(path.join(out, '_oltp', 'oltp.sql'), 'utf8')).toMatch(/^-- billing-mart generated OLTP metadata\nBEGIN;\nCREATE TABLE IF NOT EXISTS accounts/);
    const fact = readFileSync(path.join(out, '_truth', 'expected_fact.csv'), 'utf8').trim().split('\n');
    expect(fact[0]).toBe('billing_source,event_date,event_type,currency,rows,amount_sum');
    const types = new Set(fact.slice(1).map((l) => l.split(',')[2]));
    expect(types.size).toBeGreaterThanOrEqual(25);
    expect(fact.slice(1).reduce((n, l) => n + Number(l.split(',')[4]), 0)).toBe(s.events);
    const q = readFileSync(path.join(out, '_truth', 'expected_quarantine.csv'), 'utf8').trim().split('\n');
    expect(q[0]).toBe('billing_source,reason,rows');
    const reasons = new Set(q.slice(1).map((l) => l.split(',')[1]));
    expect([...reasons].sort()).toEqual(['AMOUNT_OUT_OF_RANGE', 'BAD_AMOUNT', 'BAD_TIMESTAMP', 'BAD_VALUE', 'MALFORMED_RECORD', 'MISSING_FIELD', 'MISSING_ID', 'UNKNOWN_CURRENCY', 'UNKNOWN_EVENT_TYPE']);
  });

  it('rejects bad arguments with what to do', async () => {
    const out = tmp();
    await expect(generate({ out, from: '2024-02-30', to: '2024-03-01', eventsPerDay: 10, seed: 'x' })).rejects.toThrow(/"2024-02-30" is not a calendar day/);
    await expect(generate({ out, from: '2024-03-02', to: '2024-03-01', eventsPerDay: 10, seed: 'x' })).rejects.toThrow(/ends before it starts/);
    await expect(generate({ out, from: '2024-03-01', to: '2024-03-01', eventsPerDay: 0, seed: 'x' })).rejects.toThrow(/positive integer/);
    await expect(generate({ out, from: '2024-03-01', to: '2024-03-01', eventsPerDay: 10, seed: 'x', sources: ['quickbooks'] })).rejects.toThrow(/unknown source\(s\) quickbooks/);
    writeFileSync(path.join(out, 'keep.txt'), 'x');
    await expect(generate({ out, from: '2024-03-01', to: '2024-03-01', eventsPerDay: 10, seed: 'x' })).rejects.toThrow(/is not empty: .*--force/);
    mkdirSync(path.join(out, 'zuora'));
    writeFileSync(path.join(out, 'zuora', 'old.csv'), 'stale');
    await generate({ out, from: '2024-03-01', to: '2024-03-01', eventsPerDay: 10, seed: 'x', force: true, sources: ['zuora'] });
    expect(existsSync(path.join(out, 'zuora', 'old.csv'))).toBe(false);
    expect(existsSync(path.join(out, 'keep.txt'))).toBe(true); // --force removes only generated folders
  });
});

describe('streaming sink', () => {
  it('writes to disk as it goes, without waiting for the end', () => {
    const root = tmp();
    const sink = new FileSink(root);
    const line = 'x'.repeat(100);
    for (let i = 0; i < 1000; i++) sink.append('s/2024-01-01/00/big', 'csv', 'csv', line, 'h');
    // 100 KB > the 64 KB buffer: part of the file is already on disk before close()
    expect(statSync(path.join(root, 's/2024-01-01/00/big.csv')).size).toBeGreaterThan(60_000);
    for (let i = 0; i < 250; i++) sink.append('s/2024-01-01/00/invoice', 'json', 'pages', `{"i":${i}}`, '', (t) => `{"invoice":${t}}`);
    sink.close();
    const pages = readdirSync(path.join(root, 's/2024-01-01/00')).filter((n) => n.startsWith('invoice')).sort();
    expect(pages).toEqual(['invoice-p2.json', 'invoice-p3.json', 'invoice.json']);
    const p1 = JSON.parse(readFileSync(path.join(root, 's/2024-01-01/00/invoice.json'), 'utf8'));
    expect(p1.list).toHaveLength(100);
    expect(p1.list[0]).toEqual({ invoice: { i: 0 } });
    expect(p1.next_offset).toBe('["100"]');
    expect(JSON.parse(readFileSync(path.join(root, 's/2024-01-01/00/invoice-p3.json'), 'utf8')).next_offset).toBeUndefined();
    expect(readFileSync(path.join(root, 's/2024-01-01/00/big.csv'), 'utf8').split('\n')).toHaveLength(1002);
  });
});

describe('money text', () => {
  it('renders minor units exactly in every style, and sums as DECIMAL(38,9)', () => {
    expect(majorText(7036n, 'USD')).toBe('70.36');
    expect(majorText(6500n, 'USD', 'trim')).toBe('65');
    expect(majorText(10n, 'USD', 'trim')).toBe('0.1');
    expect(majorText(2083n, 'USD', 'scale9')).toBe('20.830000000');
    expect(majorText(9900n, 'USD', 'dot0')).toBe('99.0');
    expect(majorText(-570860n, 'JPY')).toBe('-570860');
    expect(majorText(1234n, 'KWD')).toBe('1.234');
    expect(minorToDecimal9(-1n, 'USD')).toBe('-0.010000000');
    expect(minorToDecimal9(9007199254740993n, 'JPY')).toBe('9007199254740993.000000000');
    const rng = new Rng('styles');
    const styles = new Set(Array.from({ length: 200 }, () => anyScaleStyle(rng)));
    expect(styles).toEqual(new Set(['fixed', 'trim', 'scale9']));
  });
});

describe('bounded memory', () => {
  it('keeps live subscriptions under the cap and only a sample of accounts, handing every account to onAccount', async () => {
    const { SourceSim } = await import('../../tools/generator/simulate.js');
    const { GEN_SOURCES } = await import('../../tools/generator/world.js');
    const seen: string[] = [];
    const sim = new SourceSim({ seed: 'mem', source: GEN_SOURCES[1]!, initialAccounts: 20, onAccount: (a) => seen.push(a.accountId), maxActive: 60, accountSample: 25 }, '2024-01-01');
    let events = 0;
    for (const day of ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04']) {
      events += sim.day(day, 2000, () => true);
      expect(sim.live).toBeLessThanOrEqual(61);
    }
    expect(events).toBeGreaterThanOrEqual(8000);
    expect(seen.length).toBeGreaterThan(25);
    expect(new Set(seen).size).toBe(seen.length);
    expect(sim.accounts.length).toBe(25);
  });
});
