/**
 * CPU per event of the ingest prepares, and a digest of everything they produced (issue 11 item 4's yardstick).
 *
 *   node dist/bench/prepare-cpu.js <landing> <from> <to> [--repeat N]
 *
 * Backfills the landing zone's days into a fresh warehouse (in a temporary directory) with `--parallel 1` and the
 * prepares run in THIS thread, one after the other, each timed with process.cpuUsage() (this process's CPU: the
 * JS thread and V8's GC helpers; DuckDB is idle while a prepare runs, since the publish comes after it). A sha256
 * over every prepare's output (the staged CSV bytes per file, the rejected events, the quarantine, the stats, the
 * in-batch duplicates and conflicts) shows that two versions of the code produce the same output byte for byte.
 * Prints one JSON line: events, prepare CPU µs per event, prepare wall seconds, the digest, the load average.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { openApp } from '../jobs/app.js';
import { planBackfill, runBackfill } from '../jobs/backfill.js';
import { systemClock } from '../jobs/clock.js';
import { createLogger } from '../jobs/log.js';
import { runPrepareTask, type PreparedBatch } from '../jobs/prepare.js';
import type { PrepareExecutor } from '../jobs/prepare-pool.js';

/** The output of one prepare as stable bytes (scratch paths reduced to their file names). */
export function preparedDigestParts(p: PreparedBatch): string[] {
  const parts: string[] = [];
  const s = p.staged;
  for (const [day, files] of [...s.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const f of files) parts.push(`${day} ${path.basename(f)} ${s.fileRows.get(f)}\n`, readFileSync(f, 'latin1'));
  }
  const json = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  parts.push(json({ rowsIn: s.rowsIn, rejected: s.rejected, spilled: s.spilled, dup: s.duplicatesInBatch, conflicts: s.conflicts, rows: [...s.rows] }));
  parts.push(json({ inputs: p.inputs, skipped: p.skipped, quarantine: p.quarantine, pending: p.pending, unrecognised: p.unrecognised, stats: p.stats }));
  return parts;
}

async function main(): Promise<void> {
  const [landing, from, to] = process.argv.slice(2);
  if (!landing || !from || !to) throw new Error('usage: prepare-cpu <landing> <from> <to> [--repeat N]');
  const ri = process.argv.indexOf('--repeat');
  const repeat = ri > 0 ? Number(process.argv[ri + 1]) : 1;
  const load0 = os.loadavg()[0]!;
  const results: { cpuUsPerEvent: number; prepareSeconds: number; events: number; digest: string }[] = [];
  for (let r = 0; r < repeat; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prepare-cpu-'));
    try {
      const config = loadConfig({ landing, warehouse: path.join(dir, 'wh'), env: {} });
      const log = createLogger({ format: 'human', clock: systemClock, sink: (l) => process.stderr.write(l + '\n'), minLevel: 'warn' });
      const app = await openApp(config, { clock: systemClock, log });
      const hash = createHash('sha256');
      let cpuUs = 0;
      let wallMs = 0;
      let events = 0;
      const inThread: PrepareExecutor = {
        kind: 'bench-in-thread',
        async run(task, mrr) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const p = await runPrepareTask(task, mrr);
          const c = process.cpuUsage(c0);
          wallMs += performance.now() - t0;
          cpuUs += c.user + c.system;
          events += p.staged.rowsIn;
          // the run id (a clock time and a random suffix) is in every staged line: one placeholder for it
          hash.update(`${task.source} ${task.window.startMs}\n`);
          for (const part of preparedDigestParts(p)) hash.update(part.split(task.runId).join('<run>'), 'latin1');
          return p;
        },
        async close() {},
      };
      const deps = { ...app.deps, prepares: () => inThread };
      const sources = deps.sourceNames;
      const loaded = new Map<string, Set<string>>();
      for (const s of sources) loaded.set(s, new Set());
      const plan = planBackfill({ from, to, sources, loaded, force: false, nowMs: deps.clock.now() });
      const s = await runBackfill(deps, plan, { parallel: 1, force: false, trigger: 'bench' });
      if (s.failed.length) throw new Error(`prepare-cpu: ${s.failed.length} run(s) failed, first: ${s.failed[0]!.error}`);
      results.push({ cpuUsPerEvent: cpuUs / events, prepareSeconds: wallMs / 1000, events, digest: hash.digest('hex').slice(0, 16) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(JSON.stringify({ load: [load0, os.loadavg()[0]], results }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
