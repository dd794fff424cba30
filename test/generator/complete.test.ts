/**
 * Issue 14 item 5: a generated landing zone reaches COMPLETE for every built-in source once its held-back files
 * arrive, as the demo's does: the generator's control files (the truth of each UTC day) and the checker agree.
 * Before delivery only source-days whose files are held back in _late/ are not complete, and the self-heal cannot
 * make them so (nothing to find); `generate --deliver-late` delivers them and the next check heals.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ROOT, requireBuilt, tempDir } from '../jobs/helpers.js';

const t = tempDir('bm-gen-complete-');
afterAll(() => t.cleanup());
const env = { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' };
const run = (args: string[]) => runCli(args, { cwd: ROOT, env, timeoutMs: 300_000 });

interface Check { ok: boolean; days: { day: string; complete: boolean; results: { source: string; status: string; beforeHeal?: string }[] }[] }

describe('generate → backfill → check completeness', () => {
  it('every past day of every built-in source is COMPLETE once the held-back files are delivered', async () => {
    requireBuilt('jobs/cli/main.js');
    const landing = path.join(t.dir, 'landing');
    const base = ['--warehouse', path.join(t.dir, 'wh'), '--landing', landing];
    const gen = await run(['generate', '--out', landing, '--from', '2024-01-03', '--to', '2024-01-04', '--events-per-day', '60', '--seed', '7']);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain(`deliver them with billing-mart generate --out ${landing} --deliver-late`);
    const heldBack = new Set(readdirSync(path.join(landing, '_late')));
    expect(heldBack.size).toBeGreaterThan(0); // the seed holds some files back
    expect((await run([...base, 'ingest', '--source', 'oltp', '--date', '2024-01-01'])).code).toBe(0);
    expect((await run([...base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-04'])).code).toBe(0);

    const before = await run([...base, '--json', 'check', 'completeness', '--from', '2024-01-03', '--to', '2024-01-04']);
    expect(before.code).toBe(1);
    const b = JSON.parse(before.stdout) as Check;
    const notComplete = b.days.flatMap((d) => d.results.filter((r) => r.status !== 'COMPLETE').map((r) => r.source));
    expect(notComplete.length).toBeGreaterThan(0);
    for (const s of notComplete) expect(heldBack, `${s} is not complete but none of its files is held back`).toContain(s);

    const delivered = await run(['--json', 'generate', '--out', landing, '--deliver-late']);
    expect(delivered.code, delivered.stderr).toBe(0);
    expect((JSON.parse(delivered.stdout) as { delivered: string[] }).delivered.length).toBeGreaterThan(0);

    const after = await run([...base, '--json', 'check', 'completeness', '--from', '2024-01-03', '--to', '2024-01-04']);
    expect(after.code, after.stdout).toBe(0);
    const a = JSON.parse(after.stdout) as Check;
    expect(a.days.map((d) => `${d.day}:${d.results.map((r) => `${r.source}=${r.status}`).join(',')}`)).toEqual([
      '2024-01-03:zuora=COMPLETE,stripe=COMPLETE,chargebee=COMPLETE,recurly=COMPLETE',
      '2024-01-04:zuora=COMPLETE,stripe=COMPLETE,chargebee=COMPLETE,recurly=COMPLETE',
    ]);
    // the ones held back healed in this check (self-heal re-ingested their day)
    for (const s of notComplete) expect(a.days.some((d) => d.results.some((r) => r.source === s && r.beforeHeal))).toBe(true);

    const nothing = await run(['generate', '--out', landing, '--deliver-late']);
    expect(nothing.stdout).toContain(`nothing held back under ${path.join(landing, '_late')}`);
    const usage = await run(['generate', '--out', landing, '--from', '2024-01-03']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing --to <day>: generate needs --from and --to (or --deliver-late to deliver the held-back files of a zone)');
  }, 600_000);
});
