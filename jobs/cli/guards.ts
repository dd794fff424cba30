/**
 * Loud on wrong inputs: a mistyped --warehouse or --landing ends with exit 2 before anything is read or
 * created, naming the path and where it came from. Commands that only read (status, report, table, export,
 * check …, trace, runs) require an existing warehouse; loads require an existing landing zone (a first load
 * creates the warehouse, and says so).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { CliExit, EXIT, type CliContext } from './context.js';
import { WAREHOUSE_MARKERS } from '../../warehouse/index.js';

/** Where the effective value of `warehouse` / `landing` came from, for error messages. */
export function originOf(ctx: CliContext, key: 'warehouse' | 'landing'): string {
  const o = ctx.globals();
  if (o[key]) return `from --${key}`;
  const env = key === 'warehouse' ? 'BILLING_MART_WAREHOUSE' : 'BILLING_MART_LANDING';
  if (process.env[env]) return `from ${env}`;
  if (o.config) return `from ${o.config} or the embedded default`;
  return 'the embedded default; pass --' + key + ' DIR';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}


/** The warehouse must exist and hold a billing-mart table (read-only commands create nothing). */
export function requireWarehouse(ctx: CliContext): string {
  const wh = ctx.config().warehouse;
  if (!existsSync(wh)) {
    throw new CliExit(EXIT.USAGE, `warehouse ${wh} does not exist (${originOf(ctx, 'warehouse')})`, [
      'check the path (a typo?); nothing was created',
      'a new warehouse is created by the first load: billing-mart --warehouse DIR --landing DIR backfill --from D --to D',
    ]);
  }
  if (!isDir(wh)) throw new CliExit(EXIT.USAGE, `warehouse ${wh} is not a directory (${originOf(ctx, 'warehouse')})`);
  const names = readdirSync(wh);
  if (!WAREHOUSE_MARKERS.some((m) => names.includes(m))) {
    throw new CliExit(EXIT.USAGE, `${wh} is not a billing-mart warehouse: it has no ${WAREHOUSE_MARKERS.join('/, ')}/ (${originOf(ctx, 'warehouse')})`, [
      names.length ? `it holds ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}: is this the landing zone or a parent directory?` : 'it is empty: load data first (billing-mart backfill --from D --to D)',
    ]);
  }
  return wh;
}

/**
 * The landing zone must exist before anything reads it (a typo must not load "0 files" and call it done). Sources
 * pulled from a vendor API (config `pull`) land their pages themselves: a run of only those may create it.
 */
export function requireLanding(ctx: CliContext, sources?: string[]): string {
  const c = ctx.config();
  const landing = c.landing;
  const pulled = (c as { pull?: Record<string, unknown> }).pull ?? {};
  if (sources && sources.length > 0 && sources.every((s) => s in pulled)) return landing;
  if (!isDir(landing)) {
    throw new CliExit(EXIT.USAGE, `landing zone ${landing} ${existsSync(landing) ? 'is not a directory' : 'does not exist'} (${originOf(ctx, 'landing')})`, [
      'check the path (a typo?); nothing was loaded or marked loaded',
    ]);
  }
  return landing;
}

/** A note for people when a load is about to create a new warehouse (a typo shows at once). */
export function noteNewWarehouse(ctx: CliContext): void {
  const wh = ctx.config().warehouse;
  if (!existsSync(wh)) ctx.info(`billing-mart: creating a new warehouse at ${wh} (${originOf(ctx, 'warehouse')})`);
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that re-runs this invocation, global flags included (what the user typed, as typed), minus
 * the boolean flags in `drop` (e.g. --force: a rerun should skip what is loaded), with the valued flags of
 * `set` replaced (or appended).
 */
export function rerunCommand(ctx: Pick<CliContext, 'args'>, o: { drop?: string[]; set?: Record<string, string> } = {}): string {
  const drop = new Set(o.drop ?? []);
  const set = o.set ?? {};
  const args: string[] = [];
  const given = ctx.args();
  for (let i = 0; i < given.length; i++) {
    const a = given[i]!;
    const name = a.split('=')[0]!;
    if (drop.has(a)) continue;
    if (name in set) {
      if (!a.includes('=')) i++; // skip its value too
      continue;
    }
    args.push(a);
  }
  for (const [k, v] of Object.entries(set)) args.push(k, v);
  return ['billing-mart', ...args].map(shellQuote).join(' ');
}
