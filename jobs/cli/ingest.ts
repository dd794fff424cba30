import { kindHint } from '../../events/errors.js';
import { isAlignedWindow } from '../../partitions/index.js';
import { defaultWindow, runIngest, runOltp } from '../ingest.js';
import type { RunRecord } from '../runstore.js';
import { CliExit, EXIT, type Register } from './context.js';
import { noteNewWarehouse, requireLanding } from './guards.js';
import { appFor, gracefulShutdown } from './jobs-common.js';
import { day, positiveInt, windowOption } from './options.js';

export function describeRun(r: RunRecord): string {
  const q = Object.entries(r.quarantined).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `${r.job} ${r.source ?? ''} ${r.window ?? ''}: ${r.status.toUpperCase()}${r.warnings?.length ? ' WITH WARNINGS' : ''} (run ${r.runId}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})`,
    `  files read ${r.files.length}, already committed ${r.filesSkipped}${r.unrecognised?.length ? `, unrecognised ${r.unrecognised.length}` : ''}; records read ${r.records?.read ?? '?'}; rows in ${r.rowsIn}, written ${r.rowsWritten}, duplicates ${r.duplicates}, quarantined ${q || '0'}`,
    r.records && Object.keys(r.records.skipped).length ? `  records read ${r.records.read}: ${r.records.mapped} produced events, ${r.records.quarantined} quarantined, skipped by rule ${Object.entries(r.records.skipped).map(([k, v]) => `${k} ${v}`).join(', ')}` : '',
    r.commitId ? `  commit ${r.commitId} (table version ${r.version})` : '',
    r.note ? `  note: ${r.note}` : '',
    ...(r.warnings ?? []).map((w) => `  WARNING: ${w}`),
    r.error ? `  error${r.errorKind ? ` (${r.errorKind})` : ''}: ${r.error}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** `billing-mart ingest --source S [--window START/END]`: one run for one source and window. */
export const register: Register = (program, ctx) => {
  program
    .command('ingest')
    .description('load one source window into the fact table (default: the 4-hour window that just closed); --source oltp loads the dimension snapshot')
    .requiredOption('--source <name>', 'a configured billing source, or "oltp" for the accounts/products snapshot')
    .option('--window <start/end>', 'UTC window, e.g. 2024-01-03T04:00Z/2024-01-03T08:00Z (a bare day means its midnight)')
    .option('--date <day>', 'oltp: snapshot date (default today, UTC)')
    .option('--attempts <n>', 'attempts with exponential backoff before the run is marked failed (the scheduler uses schedule.maxAttempts)', '1')
    .action(async (o: { source: string; window?: string; date?: string; attempts: string }) => {
      const attempts = positiveInt('--attempts', o.attempts);
      noteNewWarehouse(ctx);
      const app = await appFor(ctx);
      const { deps } = app;
      requireLanding(ctx, o.source === 'oltp' || o.source === '_oltp' ? undefined : [o.source]);
      const stop = gracefulShutdown((sig) => deps.log.warn('shutdown.requested', { signal: sig, note: 'finishing the current commit; no new attempts' }));
      try {
        let rec: RunRecord;
        const retry = { ...deps.settings.retry, maxAttempts: attempts };
        if (o.source === 'oltp' || o.source === '_oltp') {
          rec = await runOltp(deps, { trigger: 'manual', snapshotDate: o.date ? day('--date', o.date) : undefined, retry });
        } else {
          let window = defaultWindow(deps.clock.now());
          if (o.window) {
            window = windowOption('--window', o.window);
            const aligned = isAlignedWindow(window);
            if (!aligned) deps.log.warn('window.unaligned', { window: o.window, note: 'billing windows are 4-hour UTC windows starting 00,04,..,20; the completeness check looks for those' });
          }
          rec = await runIngest(deps, { source: o.source, window, trigger: 'manual', signal: stop.signal, retry });
        }
        ctx.emit(rec, () => describeRun(rec));
        if (rec.status === 'failed' && stop.signal.aborted) throw new CliExit(EXIT.INTERRUPTED, `interrupted by ${stop.received()}: nothing partial is visible; re-run the same command`);
        if (rec.status !== 'failed' && rec.warnings?.length) process.exitCode = EXIT.PROBLEM;
        if (rec.status === 'failed') throw new CliExit(EXIT.FAILED, `the run failed: ${rec.error} (${kindHint(rec.errorKind ?? 'unexpected')})`);
      } finally {
        stop.dispose();
      }
    });
};
