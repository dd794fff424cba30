/**
 * `billing-mart doctor`: checks what a run needs before it runs — the landing zone and its source folders, the
 * warehouse, the OLTP source, a dimension snapshot, the schedule and the scheduler — and says how to fix each
 * problem. Exit 1 when a check fails (a warning alone is exit 0). Reads only; creates nothing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { compileCron } from '../scheduler.js';
import { oltpPort } from '../adapters.js';
import { FactTable, WAREHOUSE_MARKERS } from '../../warehouse/index.js';
import { LockManager } from '../../warehouse/lock.js';
import { isoUtc, systemClock } from '../clock.js';
import { CliExit, EXIT, type Register } from './context.js';
import { originOf } from './guards.js';
import { isLegacyPartitionDir } from '../../warehouse/schema.js';

interface Check {
  check: string;
  level: 'OK' | 'WARN' | 'FAIL';
  detail: string;
  fix?: string;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** `<table>/<dir>` of the published tables' partition folders still named as before the Hive-key rename. */
function legacyPartitionDirs(warehouse: string): string[] {
  const out: string[] = [];
  for (const t of readdirSync(warehouse).filter((n) => !n.startsWith('_') && !n.startsWith('.') && n !== 'current' && n !== 'iceberg')) {
    if (isDir(path.join(warehouse, t))) for (const d of readdirSync(path.join(warehouse, t))) if (isLegacyPartitionDir(d)) out.push(`${t}/${d}`);
  }
  return out;
}

export const register: Register = (program, ctx) => {
  program
    .command('doctor')
    .description('check the landing zone, the warehouse, the OLTP source, the dimension snapshot and the schedule; say how to fix each problem (exit 1 when a check fails)')
    .action(async () => {
      const c = ctx.config();
      const out: Check[] = [];
      const landingOk = isDir(c.landing);
      out.push(landingOk ? { check: 'landing', level: 'OK', detail: `${c.landing} (${originOf(ctx, 'landing')})` } : { check: 'landing', level: 'FAIL', detail: `${c.landing} does not exist (${originOf(ctx, 'landing')})`, fix: 'pass --landing DIR, set BILLING_MART_LANDING, or landing: in the config file' });
      if (landingOk) {
        const names = readdirSync(c.landing);
        const missing = c.sources.map((s) => s.name).filter((s) => !names.includes(s));
        out.push(missing.length ? { check: 'landing sources', level: 'WARN', detail: `no folder for ${missing.join(', ')} under ${c.landing}`, fix: `the transfer jobs drop files in <landing>/<source>/YYYY-MM-DD/HH/; nothing arrived yet for ${missing.join(', ')}` } : { check: 'landing sources', level: 'OK', detail: `a folder for each of ${c.sources.map((s) => s.name).join(', ')}` });
      }
      const whExists = isDir(c.warehouse);
      const whMarked = whExists && WAREHOUSE_MARKERS.some((m) => existsSync(path.join(c.warehouse, m)));
      out.push(whMarked ? { check: 'warehouse', level: 'OK', detail: `${c.warehouse} (${originOf(ctx, 'warehouse')})` } : { check: 'warehouse', level: whExists ? 'FAIL' : 'WARN', detail: whExists ? `${c.warehouse} exists but is not a billing-mart warehouse` : `${c.warehouse} does not exist yet (${originOf(ctx, 'warehouse')})`, fix: whExists ? 'point --warehouse at the warehouse directory (it holds _store/ and fact_billing_event)' : 'the first load creates it: billing-mart backfill --from D --to D (check the path if you expected data)' });
      try {
        const snap = await oltpPort(c.oltp, c.landing).read();
        out.push({ check: 'oltp', level: 'OK', detail: `${c.oltp.kind}: ${snap.accounts.length} accounts, ${snap.products.length} products from ${snap.origin}` });
      } catch (e) {
        out.push({ check: 'oltp', level: 'FAIL', detail: `${c.oltp.kind}: ${(e as Error).message}`, fix: c.oltp.kind === 'postgres' ? 'check BILLING_MART_PG_URL / PG* and that the server accepts connections' : `put accounts.csv and products.csv under ${path.join(c.landing, '_oltp')}` });
      }
      if (whMarked) {
        const legacy = legacyPartitionDirs(c.warehouse);
        if (legacy.length) out.push({ check: 'warehouse layout', level: 'WARN', detail: `${legacy.length} partition folder(s) use the old Hive key, e.g. ${legacy[0]}: pyarrow, pandas and Spark cannot read the table directory (the key is also a column in the files)`, fix: 'any writing command republishes them as event_day=/ingest_day=/snapshot_day= (nothing is rewritten): billing-mart compact' });
        const snaps = await (await FactTable.open(c.warehouse)).dimensionSnapshots('dim_account').catch((e: unknown) => e as Error);
        const dates = snaps instanceof Error ? [] : snaps.map((s) => s.snapshotDate).sort();
        if (snaps instanceof Error) out.push({ check: 'dimension snapshot', level: 'FAIL', detail: `cannot read dim_account in ${c.warehouse}: ${snaps.message}`, fix: 'run billing-mart table info to see the table state; restore the file it names' });
        else out.push(dates.length ? { check: 'dimension snapshot', level: 'OK', detail: `dim_account snapshots ${dates[0]} … ${dates.at(-1)} (${dates.length})` } : { check: 'dimension snapshot', level: 'WARN', detail: 'no dimension snapshot loaded: rows get dim_status MISSING_*', fix: 'billing-mart ingest --source oltp, then billing-mart re-enrich --from D --to D for days already loaded' });
      }
      const next: string[] = [];
      for (const job of ['billing', 'oltp', 'completeness'] as const) {
        const at = compileCron(c.schedule[job], c.schedule.timezone).nextRun();
        next.push(`${job} "${c.schedule[job]}" next ${at ? isoUtc(at.getTime()) : 'never'}`);
      }
      const holder = whExists ? await new LockManager({ dir: path.join(c.state, 'locks'), clock: systemClock }).liveHolder('scheduler').catch((e: unknown) => e as Error) : undefined;
      out.push({ check: 'schedule', level: 'OK', detail: `${next.join('; ')} (${c.schedule.timezone})` });
      if (holder instanceof Error) out.push({ check: 'scheduler', level: 'FAIL', detail: holder.message, fix: 'stop every billing-mart process, then remove the lock file it names' });
      else out.push(holder ? { check: 'scheduler', level: 'OK', detail: `running: pid ${holder.pid} on ${holder.host} since ${isoUtc(holder.acquiredAt)}` } : { check: 'scheduler', level: 'WARN', detail: 'no scheduler is running for this warehouse', fix: 'billing-mart schedule (long-lived) or billing-mart schedule --once from cron' });
      const ok = out.every((x) => x.level !== 'FAIL');
      ctx.emit({ ok, checks: out }, () => out.map((x) => `${x.level.padEnd(4)}  ${x.check.padEnd(18)} ${x.detail}${x.fix ? `\n      fix: ${x.fix}` : ''}`).join('\n'));
      if (!ok) throw new CliExit(EXIT.PROBLEM, '');
    });
};
