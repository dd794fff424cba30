/**
 * `billing-mart bill --cycle <monthly|weekly> [--per account|subscription] [--through D] [--from D]` and
 * `billing-mart check billing`. See docs/billing.md.
 */
import { runBilling, type BillResult } from '../billing/bill.js';
import { checkBilling, formatBillingCheck } from '../billing/check.js';
import { addDays } from '../../partitions/index.js';
import { checkCommand } from './check.js';
import { CliExit, EXIT, type Register } from './context.js';
import { requireWarehouse } from './guards.js';

interface BillFlags {
  cycle: string;
  per: string;
  through?: string;
  from?: string;
}

function describeBill(r: BillResult): string {
  const lines: string[] = [];
  const logic = r.timeline.map((s) => `${s.cycle} per ${s.per} from ${s.from}`).join(', then ');
  if (r.written && r.manifest) {
    const m = r.manifest;
    lines.push(`billing record set ${m.seq} written to ${r.dir} (run ${m.runId})`);
    lines.push(`  closed ${m.periods.length} period(s): ${m.periods.map((p) => `${p.start}..${addDays(p.end, -1)}`).join(', ') || '(none: billing logic change only)'}`);
    lines.push(`  ${m.counts.records} record(s), ${m.counts.assignments} event(s) assigned: ${m.counts.onTime} on time, ${m.counts.late} late adjustment(s)`);
  } else lines.push('nothing written');
  if (logic) lines.push(`  billing logic: ${logic}`);
  lines.push(`  billed through: ${r.billedThrough ? addDays(r.billedThrough, -1) : '(nothing billed yet)'}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export const register: Register = (program, ctx) => {
  program
    .command('bill')
    .description('assign the events of closed billing cycles to immutable billing records (one record set per run; late events go to the next open cycle)')
    .requiredOption('--cycle <cycle>', 'billing cycle: monthly | weekly (ISO weeks, Monday to Sunday)')
    .option('--per <party>', 'bill per account | subscription', 'account')
    .option('--through <day>', 'last UTC day (YYYY-MM-DD) whose cycles may close; default yesterday')
    .option('--from <day>', 'day a change of billing logic (cycle or per) takes effect; default the day after the last billed cycle')
    .action(async (flags: BillFlags) => {
      const warehouse = requireWarehouse(ctx);
      const r = await runBilling({ warehouse, cycle: flags.cycle, per: flags.per, through: flags.through, from: flags.from, now: Date.now() });
      ctx.emit(r, () => describeBill(r));
    });

  checkCommand(program)
    .command('billing')
    .description('verify billing records: each closed-cycle event in exactly one cycle, no pointer to a missing event, totals equal their events (exit 1 on any violation)')
    .action(async () => {
      const warehouse = requireWarehouse(ctx);
      const report = await checkBilling(warehouse);
      ctx.emit(report, () => formatBillingCheck(report, warehouse));
      if (!report.ok) throw new CliExit(EXIT.PROBLEM, '');
    });
};
