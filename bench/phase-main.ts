/**
 * Child-process entry of one benchmark phase: `node dist/bench/phase-main.js <phase> <json args>`.
 * Prints one line `BENCH_RESULT {...}` on stdout with the phase output and this process's peak RSS
 * (process.resourceUsage().maxRSS, read at the end), and exits 0; on failure prints the error and exits 3.
 */
import { PHASES, type PhaseArgs, type PhaseName } from './phases.js';

export const RESULT_PREFIX = 'BENCH_RESULT ';

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  if (!name || !(name in PHASES) || !json) {
    process.stderr.write(`usage: phase-main.js <${Object.keys(PHASES).join('|')}> '<json args>'\n`);
    process.exit(2);
  }
  const args = JSON.parse(json) as PhaseArgs;
  const out = await PHASES[name as PhaseName](args);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(RESULT_PREFIX + JSON.stringify({ ...out, maxRssBytes }) + '\n');
}

if (process.argv[1] && /phase-main\.(js|ts)$/.test(process.argv[1])) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`bench phase ${process.argv[2]} failed: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(3);
    },
  );
}
