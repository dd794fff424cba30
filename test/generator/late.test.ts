import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { parseSourceConfig } from '../../config/sources.js';
import { planPickup } from '../../connectors/index.js';
import { deliverLate, generate } from '../../tools/generator/index.js';
import { windowsOfDay } from '../../partitions/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('late and re-delivered files with the lookback', () => {
  it('a run after delivery re-reads the recent windows: late and changed files are picked up, committed ones skipped', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bm-late-'));
    dirs.push(out);
    await generate({ out, from: '2024-05-01', to: '2024-05-02', eventsPerDay: 3000, seed: 'late', sources: ['stripe'], lateRate: 0.3, redeliveryRate: 0.3 });
    const src = parseSourceConfig(DEFAULT_SOURCES.find((s) => s.name === 'stripe'), 'stripe');
    const settings = { lookbackHours: 0, nowMs: Date.parse('2024-05-03T00:00:00Z'), pickup: { mode: 'marker' as const, quietSeconds: 60 } };
    // first pass: every window of 05-01 as it was on time
    const committed = new Set<string>();
    for (const w of windowsOfDay('2024-05-01')) {
      const p = await planPickup(out, src, w, { ...settings, committed });
      expect(p.pending).toEqual([]);
      for (const f of p.inputs) committed.add(`${f.path}@${f.sha256}`);
    }
    expect(committed.size).toBeGreaterThan(5);
    const delivered = deliverLate(out, Date.parse('2024-05-02T00:00:00Z'));
    const day1 = delivered.files.filter((f) => f.startsWith('stripe/2024-05-01/'));
    expect(day1.length).toBeGreaterThan(0);
    expect(delivered.replaced.length).toBeGreaterThan(0);
    expect(existsSync(path.join(out, '_late', 'stripe', '2024-05-02'))).toBe(true); // later windows still held back
    // next run: the first window of 05-02 with the default 24 h lookback
    const next = await planPickup(out, src, windowsOfDay('2024-05-02')[0]!, { ...settings, lookbackHours: 24, committed });
    const inputs = new Set(next.inputs.map((f) => f.path));
    for (const f of day1) expect(inputs.has(f)).toBe(true);
    for (const f of next.inputs.filter((x) => x.path.startsWith('stripe/2024-05-01/'))) expect(day1).toContain(f.path);
    expect(next.skipped.length).toBe(committed.size - delivered.replaced.filter((f) => f.startsWith('stripe/2024-05-01/')).length);
    // deliver the rest: the _late tree is gone
    deliverLate(out);
    expect(existsSync(path.join(out, '_late'))).toBe(false);
  });
});
