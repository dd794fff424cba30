/**
 * `billing-mart bill --cycle <monthly|weekly> [--per account|subscription] [--through D] [--from D]` and
 * `billing-mart check billing`. See docs/billing.md.
 */
import { ConfigError, kindHint } from '../../events/errors.js';
import type { BillResult } from '../billing/bill.js';
import { CYCLES, PARTIES } from '../../billing/cycles.js';
import { checkBilling, formatBillingCheck } from '../billing/check.js';
import { runBill, type BillRequest } from '../bill.js';
import { appFor } from './jobs-common.js';
import { addDays } from '../../partitions/index.js';
import { checkCommand } from './check.js';
import { CliExit, EXIT, type Register } from './context.js';
import { requireWarehouse } from './guards.js';

type BillFlags = Omit<BillRequest, 'trigger'>;

function describeBill(r: BillResult): string {
  const lines: string[] = [];
  const logic = r.timeline.map((s) => `${s.cycle} per ${s.per} from ${s.from}`).join(', then ');
  if (r.manifest && (r.written || r.dryRun)) {
    const m = r.manifest;
    lines.push(r.dryRun ? `dry run: would write billing record set ${m.seq} (nothing written)` : `billing record set ${m.seq} committed as ${r.dir} (run ${m.runId}, table version ${r.version})`);
    lines.push(`  closed ${m.periods.length} period(s): ${m.periods.map((p) => `${p.start}..${addDays(p.end, -1)}`).join(', ') || '(none: billing logic change only)'}`);
    lines.push(`  ${m.counts.records} record(s), ${m.counts.assignments} event(s) assigned: ${m.counts.onTime} on time, ${m.counts.late} late adjustment(s)`);
  } else lines.push(r.dryRun ? 'dry run: nothing would be written' : 'nothing written');
  if (logic) lines.push(`  billing logic: ${logic}`);
  lines.push(`  billed through: ${r.billedThrough ?? '(nothing billed yet)'}${r.dryRun && r.manifest?.watermarkAfter ? ` (after this run: ${addDays(r.manifest.watermarkAfter, -1)})` : ''}`);
  if (r.factFilesRead) lines.push(`  fact files read: ${r.factFilesRead.read} of ${r.factFilesRead.of} (the open cycles' days and files new since the last record set)`);
  if (r.assignmentsRead) lines.push(`  assignments matched against: ${r.assignmentsRead.read} of ${r.assignmentsRead.of} (those of the days read)`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export const register: Register = (program, ctx) => {
  program
    .command('bill')
    .description('assign the events of closed billing cycles to immutable billing records (one record set per run; late events go to the next open cycle)')
    .option('--cycle <cycle>', 'billing cycle: monthly | weekly (ISO weeks, Monday to Sunday); required the first time, later default: the logic in force')
    .option('--per <party>', 'bill per account | subscription (first run default: account; later: the logic in force)')
    .option('--through <day>', 'last UTC day (YYYY-MM-DD) whose cycles may close; default yesterday')
    .option('--from <day>', 'day a change of billing logic (cycle or per) takes effect; default the day after the last billed cycle')
    .option('--change-logic', 'confirm a change of the cycle or the billed party (it applies for good from --from on)')
    .option('--dry-run', 'show the cycles that would close and the records that would be written; write nothing')
    .action(async (flags: BillFlags) => {
      if (flags.cycle !== undefined && !(CYCLES as readonly string[]).includes(flags.cycle)) throw new ConfigError(`--cycle must be one of ${CYCLES.join(', ')} (got ${JSON.stringify(flags.cycle)})`);
      if (flags.per !== undefined && !(PARTIES as readonly string[]).includes(flags.per)) throw new ConfigError(`--per must be one of ${PARTIES.join(', ')} (got ${JSON.stringify(flags.per)})`);
      requireWarehouse(ctx);
      // the run's progress lines are in its run record (runs show); stderr carries warnings and errors only
      const app = await appFor(ctx, { minLevel: 'warn' });
      const out = await runBill(app.deps, app.table, { cycle: flags.cycle, per: flags.per, through: flags.through, from: flags.from, dryRun: flags.dryRun, changeLogic: flags.changeLogic, trigger: 'manual' });
      const r = out.result;
      if (!r) throw new CliExit(EXIT.FAILED, `the bill run failed: ${out.record!.error} (${kindHint(out.record!.errorKind ?? 'unexpected')})`, [`the run record: billing-mart runs show ${out.record!.runId}`]);
      for (const n of r.notes.filter((x) => x.startsWith('warning: '))) ctx.info(`billing-mart: ${n}`);
      const shown = { ...r, runId: out.record?.runId ?? null };
      ctx.emit(shown, () => describeBill(r));
    });

  checkCommand(program)
    .command('billing')
    .description('verify billing records: each closed-cycle event in exactly one cycle, no pointer to a missing event, totals equal their events (exit 1 on any violation)')
    .action(async () => {
      requireWarehouse(ctx);
      const app = await appFor(ctx, { minLevel: 'warn' });
      const report = await checkBilling(app.table);
      ctx.emit(report, () => formatBillingCheck(report, `${app.table.root} (billing_records, billing_assignments)`));
      if (!report.ok) throw new CliExit(EXIT.PROBLEM, '');
    });
};
