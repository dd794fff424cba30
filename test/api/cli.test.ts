/**
 * The commands people run, as child processes against the stand-in: `ingest --source stripe|chargebee` pulls the
 * window, lands the pages and loads them; `backfill` pulls a date range with progress; configuration mistakes exit 2.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, requireBuilt, tempDirsPerTest } from '../jobs/helpers.js';
import { factGlob, duckQuery } from '../warehouse/duck-read.js';
import { sec, standInPerTest, writeConfig } from './helpers.js';
import { chargebeeStore, stripeStore } from './scale.js';

const run = promisify(execFile);
const dir = tempDirsPerTest('bm-api-cli-');
const standIns = standInPerTest();

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  requireBuilt('jobs/cli/main.js');
  try {
    const r = await run(process.execPath, [path.join(ROOT, 'bin/billing-mart.js'), ...args], { cwd, env: { PATH: process.env.PATH, ...env }, timeout: 120_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

async function rows(wh: string, source: string): Promise<number> {
  const r = await duckQuery(`SELECT count(*) FROM read_parquet('${factGlob(wh)}', hive_partitioning = true) WHERE billing_source = '${source}'`);
  return Number(r[0]![0]);
}

describe('pull connectors from the command line', () => {
  it('ingest --source stripe with a key in the environment pulls the window, lands the pages and loads them', async () => {
    const standin = await standIns.start({ stripe: stripeStore({ fromSec: sec('2024-03-05T04:00:00Z'), toSec: sec('2024-03-05T08:00:00Z'), per: { charge: 120, refund: 10, invoice: 8 } }) });
    const d = dir();
    const cfg = writeConfig(d, { stripe: { vendor: 'stripe', baseUrl: standin.url } });
    const r = await cli(['--config', cfg, 'ingest', '--source', 'stripe', '--window', '2024-03-05T04:00Z/2024-03-05T08:00Z'], d, { STRIPE_API_KEY: standin.keys.stripe });
    expect(r.err).not.toContain(standin.keys.stripe);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/pull\.done.*pages=\d+/);
    expect(readdirSync(path.join(d, 'landing', 'stripe', '2024-03-05', '04')).filter((f) => f.endsWith('.json.done')).length).toBeGreaterThan(2);
    expect(await rows(path.join(d, 'wh'), 'stripe')).toBeGreaterThan(100);
  });

  it('backfill pulls a date range of chargebee windows with progress and a summary', async () => {
    const standin = await standIns.start({ chargebee: chargebeeStore({ fromSec: sec('2024-03-05T00:00:00Z'), toSec: sec('2024-03-06T23:59:59Z'), per: { invoice: 60, transaction: 40, subscription: 10 } }) });
    const d = dir();
    const cfg = writeConfig(d, { chargebee: { vendor: 'chargebee', site: 'acme-test', baseUrl: standin.url } });
    const r = await cli(['--config', cfg, 'backfill', '--from', '2024-03-05', '--to', '2024-03-06', '--sources', 'chargebee'], d, { CHARGEBEE_API_KEY: standin.keys.chargebee });
    expect(r.code).toBe(0);
    expect(r.out + r.err).toMatch(/progress done=12 total=12/);
    expect(r.out + r.err).toMatch(/windows: 12 planned, 12 loaded/);
    expect(existsSync(path.join(d, 'landing', 'chargebee', '2024-03-06', '20'))).toBe(true);
    expect(await rows(path.join(d, 'wh'), 'chargebee')).toBeGreaterThan(100);
  });

  it('configuration mistakes exit 2 naming the key (a pull for an unknown source, a missing site); a missing key fails the run saying what to set', async () => {
    const d = dir();
    const a = await cli(['--config', writeConfig(d, { paypal: { vendor: 'stripe' } }), 'ingest', '--source', 'stripe', '--window', '2024-03-05T04:00Z/2024-03-05T08:00Z'], d, {});
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/pull\.paypal: no source named "paypal"/);
    const b = await cli(['--config', writeConfig(d, { chargebee: { vendor: 'chargebee' } }), 'config'], d, {});
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/pull\.chargebee\.site/);
    const c = await cli(['--config', writeConfig(d, { stripe: { vendor: 'stripe', baseUrl: 'http://127.0.0.1:9' } }), 'ingest', '--source', 'stripe', '--window', '2024-03-05T04:00Z/2024-03-05T08:00Z'], d, {});
    // the configuration is valid; the run that needs the key fails at once with what to set (exit 3: the run failed)
    expect(c.code).toBe(3);
    expect(c.err).toMatch(/environment variable STRIPE_API_KEY is not set/);
  });
});
