/**
 * Issue 14, the operator's mistakes off the demo's path: each one is loud (exit code + message) instead of an
 * exit 0 with a wrong table or a wrong belief. Runs the real binary (needs `npm run build`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOutcome, type CheckOutcome } from '../../jobs/checker.js';
import { gracefulShutdown, SAME_INTERRUPT_MS } from '../../jobs/cli/jobs-common.js';
import { usageMessage } from '../../jobs/cli/main.js';
import { ROOT, requireBuilt, tempDirsPerTest } from '../jobs/helpers.js';
import { runCli } from '../helpers/cli.js';

const BIN = path.join(ROOT, 'bin/billing-mart.js');
const tmp = tempDirsPerTest('bm-ux-');

async function cli(args: string[], cwd = ROOT, env: NodeJS.ProcessEnv = {}) {
  requireBuilt('jobs/cli/main.js');
  const r = await runCli(args, { cwd, timeoutMs: 180_000, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A generated landing zone (the real generator) and a warehouse path next to it. */
async function world(days = ['2024-01-03', '2024-01-04'], eventsPerDay = 120) {
  const dir = tmp();
  const landing = path.join(dir, 'landing');
  const wh = path.join(dir, 'wh');
  const g = await cli(['generate', '--out', landing, '--from', days[0]!, '--to', days.at(-1)!, '--events-per-day', String(eventsPerDay), '--seed', '3']);
  expect(g.code).toBe(0);
  return { dir, landing, wh, base: ['--warehouse', wh, '--landing', landing] };
}

describe('wrong paths are exit 2 and create nothing', () => {
  it('a mistyped --warehouse: read-only commands exit 2 naming the path and its origin; nothing is created', async () => {
    const w = await world(['2024-01-03']);
    const typo = path.join(w.dir, 'whh');
    for (const args of [['status'], ['report', '--out', path.join(w.dir, 'r.html')], ['check', 'completeness', '--date', '2024-01-03'], ['table', 'info'], ['check', 'billing'], ['export', '--from', '2024-01-03', '--to', '2024-01-03', '--format', 'csv', '--out', path.join(w.dir, 'x.csv')]]) {
      const r = await cli(['--warehouse', typo, '--landing', w.landing, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(`billing-mart: warehouse ${typo} does not exist (from --warehouse)`);
      expect(r.err).toContain('nothing was created');
    }
    expect(existsSync(typo)).toBe(false);
    expect(existsSync(path.join(w.dir, 'r.html'))).toBe(false);
    const env = await cli(['status'], w.dir, { BILLING_MART_WAREHOUSE: typo });
    expect(env.code).toBe(2);
    expect(env.err).toContain('(from BILLING_MART_WAREHOUSE)');
  });

  it('a directory that is not a warehouse (e.g. the landing zone) is exit 2 and says what it holds', async () => {
    const w = await world(['2024-01-03']);
    const r = await cli(['--warehouse', w.landing, 'status']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not a billing-mart warehouse: it has no _store\/, current\/, _state\/, fact_billing_event\/[\s\S]*is this the landing zone or a parent directory\?/);
  });

  it('a mistyped --landing: backfill and ingest exit 2 before anything is loaded or marked loaded', async () => {
    const w = await world(['2024-01-03']);
    const typo = path.join(w.dir, 'landign');
    const b = await cli(['--warehouse', w.wh, '--landing', typo, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03']);
    expect(b.code).toBe(2);
    expect(b.err).toContain(`billing-mart: landing zone ${typo} does not exist (from --landing)`);
    const i = await cli(['--warehouse', w.wh, '--landing', typo, 'ingest', '--source', 'zuora', '--window', '2024-01-03T00:00Z/2024-01-03T04:00Z']);
    expect(i.code).toBe(2);
    expect(existsSync(w.wh)).toBe(false);
    // The corrected command then loads everything (nothing was poisoned).
    const ok = await cli([...w.base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'zuora']);
    expect(ok.code).toBe(0);
    expect(ok.err).toContain(`creating a new warehouse at ${w.wh} (from --warehouse)`);
    expect(ok.out).toMatch(/6 planned, 6 loaded, 0 skipped/);
  });
});

describe('usage errors: short, the suggestion first, JSON under --json; --version', () => {
  it('an unknown command says "did you mean" first and points at --help, without the full help', async () => {
    const r = await cli(['stauts']);
    expect(r.code).toBe(2);
    expect(r.err).toBe("billing-mart: did you mean status? unknown command 'stauts'\n  - billing-mart --help shows the usage\n");
    const o = await cli(['status', '--form', '2024-01-01']);
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/^billing-mart: did you mean --from\? unknown option '--form'\n  - billing-mart status --help shows the usage\n$/);
  });

  it('errors under --json are one JSON object on stdout with code, kind, message and hints', async () => {
    const r = await cli(['--json', 'stauts']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({ error: { code: 2, kind: 'usage', message: "did you mean status? unknown command 'stauts'", hints: ['billing-mart --help shows the usage'] } });
    const w = tmp();
    const p = await cli(['--json', '--warehouse', path.join(w, 'nope'), 'status']);
    expect(p.code).toBe(2);
    expect(JSON.parse(p.out).error).toMatchObject({ code: 2, kind: 'usage', message: `warehouse ${path.join(w, 'nope')} does not exist (from --warehouse)` });
    const c = await cli(['--json', 'backfill', '--from', '2024-01-02', '--to', '2024-01-01']);
    expect(c.code).toBe(2);
    expect(JSON.parse(c.out).error).toMatchObject({ kind: 'config', message: '--to 2024-01-01 is before --from 2024-01-02' });
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('usageMessage puts commander\'s suggestion first', () => {
    expect(usageMessage("error: unknown command 'stauts'\n(Did you mean status?)")).toBe("did you mean status? unknown command 'stauts'");
    expect(usageMessage("error: unknown option '--x'\n(Did you mean one of --a, --b?)")).toBe("did you mean --a, --b? unknown option '--x'");
    expect(usageMessage("error: required option '--from <day>' not specified")).toBe("required option '--from <day>' not specified");
  });
});

describe('checks that used to pass silently', () => {
  it('a future --date is exit 2, not LATE', async () => {
    const w = await world(['2024-01-03']);
    expect((await cli([...w.base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'zuora'])).code).toBe(0);
    const r = await cli([...w.base, 'check', 'completeness', '--date', '2999-01-01']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--date 2999-01-01 is in the future \(today is \d{4}-\d{2}-\d{2} UTC\)/);
  });

  it('status uses the JSON status names, takes --sources, and says where the data is when the range is empty', async () => {
    const w = await world(['2024-01-03', '2024-01-04']);
    expect((await cli([...w.base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-04'])).code).toBe(0);
    await cli([...w.base, 'check', 'completeness', '--date', '2024-01-03']);
    const s = await cli([...w.base, 'status', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'stripe,recurly']);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/day +stripe +recurly +_SUCCESS\n2024-01-03 +COMPLETE 6\/6w \d+r \d+f/);
    expect(s.out).not.toContain('chargebee');
    const empty = await cli([...w.base, 'status']);
    expect(empty.out).toContain('(the default: the last 14 days); your data is in 2024-01-03 … 2024-01-04 (2 day(s)): ');
    expect(empty.out).toContain(`billing-mart --warehouse ${w.wh} --landing ${w.landing} status --from 2024-01-03 --to 2024-01-04`);
    const bad = await cli([...w.base, 'status', '--sources', 'paypal']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--sources: unknown source(s) paypal');
  });

  it('check completeness on its default day (yesterday) says where the data is when that day holds no rows', async () => {
    const w = await world(['2024-01-03']);
    expect((await cli([...w.base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'zuora'])).code).toBe(0);
    const r = await cli([...w.base, 'check', 'completeness', '--no-heal']);
    expect(r.err).toMatch(/no rows on \d{4}-\d{2}-\d{2} \(the default: yesterday\); your data is in 2024-01-03 … 2024-01-03 \(1 day\(s\)\): /);
    expect(r.err).toContain(`billing-mart --warehouse ${w.wh} --landing ${w.landing} check completeness --no-heal --from 2024-01-03 --to 2024-01-03`);
    const given = await cli([...w.base, 'check', 'completeness', '--date', '2024-01-03', '--no-heal']);
    expect(given.err).not.toContain('your data is in');
  });

  it('export --out - writes the CSV to stdout (no file named "-")', async () => {
    const w = await world(['2024-01-03']);
    expect((await cli([...w.base, 'backfill', '--from', '2024-01-03', '--to', '2024-01-03', '--sources', 'zuora'])).code).toBe(0);
    const r = await cli([...w.base, 'export', '--from', '2024-01-03', '--to', '2024-01-03', '--format', 'csv', '--out', '-'], w.dir);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^event_id,seqn,billing_source,/);
    expect(r.out.trim().split('\n').length).toBeGreaterThan(10);
    expect(r.err).toMatch(/rows \(2024-01-03\.\.2024-01-03, table version \d+\) → stdout, sha256 [0-9a-f]{64}/);
    expect(existsSync(path.join(w.dir, '-'))).toBe(false);
  });

  it('check completeness lists 12 differences per source-day and says how many more there are', () => {
    const diffs = Array.from({ length: 17 }, (_, i) => ({ event_type: `T${i}`, currency: 'USD', expectedRows: 1, expectedAmount: '1', actualRows: 0, actualAmount: '0', missingRows: 1, missingAmount: '1' }));
    const out = { ok: false, days: [{ day: '2024-01-03', complete: false, success: 'none', results: [{ source: 'zuora', day: '2024-01-03', status: 'INCOMPLETE', detail: '17 type/currency pairs differ', diffs, missingWindows: [], undeliveredWindows: [] }] }] } as unknown as CheckOutcome;
    const text = formatOutcome(out);
    expect(text.match(/^ {6}T\d+ USD/gm)).toHaveLength(12);
    expect(text).toContain('      … 5 more (--json lists them all)');
    expect(text).toContain('zuora        INCOMPLETE');
  });
});

describe('interrupts: exit 130, one interrupt per burst, a rerun hint built from the real arguments', () => {
  it('a second signal within a second is the same interrupt; a later one exits 130 at once', () => {
    let t = 0;
    const exits: number[] = [];
    const handlers = new Map<string, (s: NodeJS.Signals) => void>();
    const proc = { on: (e: string, h: (s: NodeJS.Signals) => void) => handlers.set(e, h), off: (e: string) => handlers.delete(e) };
    const firsts: string[] = [];
    const stop = gracefulShutdown((s) => firsts.push(s), { now: () => t, exit: (c) => exits.push(c), write: () => undefined, proc: proc as never });
    handlers.get('SIGINT')!('SIGINT');
    t = SAME_INTERRUPT_MS - 1;
    handlers.get('SIGINT')!('SIGINT');
    expect(firsts).toEqual(['SIGINT']);
    expect(exits).toEqual([]);
    expect(stop.signal.aborted).toBe(true);
    expect(stop.received()).toBe('SIGINT');
    t = SAME_INTERRUPT_MS + 5;
    handlers.get('SIGTERM')!('SIGTERM');
    expect(exits).toEqual([130]);
    stop.dispose();
    expect(handlers.size).toBe(0);
  });

  it('Ctrl-C during a backfill: exit 130, "stopped by SIGINT" (not "fix the cause"), and the pasted hint resumes the same warehouse', async () => {
    const w = await world(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06'], 400);
    requireBuilt('jobs/cli/main.js');
    const args = [...w.base, 'backfill', '--from', '2024-01-01', '--to', '2024-01-06', '--parallel', '1'];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: w.dir, env: { ...process.env, BILLING_MART_WAREHOUSE: '', BILLING_MART_LANDING: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d) => {
        const first = !err.includes('progress ');
        err += d;
        // The first progress line is printed when the handlers are installed: press Ctrl-C twice, as a terminal does.
        if (first && err.includes('progress ')) {
          child.kill('SIGINT');
          child.kill('SIGINT');
        }
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(out).toContain('backfill INTERRUPTED');
    expect(out).not.toContain('fix the cause');
    const hint = /To resume, run the same command again — `([^`]+)`/.exec(out)?.[1];
    expect(hint).toBe(`billing-mart ${args.join(' ')}`);
    const again = await cli(hint!.split(' ').slice(1), w.dir);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/144 planned, \d+ loaded, [1-9]\d* skipped \(already loaded\), 0 failed/);
  }, 300_000); // two backfills of 144 windows in child processes: ~25 s quiet, > 120 s at load 40
});

describe('doctor', () => {
  it('checks landing, warehouse, OLTP, snapshot and schedule, with fixes; exit 1 on a failed check, creating nothing', async () => {
    const w = await world(['2024-01-03']);
    const bad = await cli(['--warehouse', path.join(w.dir, 'nowh'), '--landing', path.join(w.dir, 'noland'), 'doctor']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAIL {2}landing +\S+noland does not exist \(from --landing\)\n {6}fix: /m);
    expect(bad.out).toMatch(/^FAIL {2}oltp /m);
    expect(bad.out).toMatch(/^OK {4}schedule +billing "0 \*\/4 \* \* \*" next /m);
    expect(existsSync(path.join(w.dir, 'nowh'))).toBe(false);
    expect((await cli([...w.base, 'ingest', '--source', 'oltp', '--date', '2024-01-01'])).code).toBe(0);
    const good = await cli([...w.base, '--json', 'doctor']);
    expect(good.code).toBe(0);
    const checks = Object.fromEntries(JSON.parse(good.out).checks.map((c: { check: string; level: string }) => [c.check, c.level]));
    expect(checks).toMatchObject({ landing: 'OK', 'landing sources': 'OK', warehouse: 'OK', oltp: 'OK', 'dimension snapshot': 'OK', schedule: 'OK', scheduler: 'WARN' });
  });
});
