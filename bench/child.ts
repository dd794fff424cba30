/** Runs one phase in a child process and returns its output and peak RSS (see bench/phase-main.ts). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PhaseArgs, PhaseName } from './phases.js';
import type { PhaseRun } from './stats.js';

const RESULT_PREFIX = 'BENCH_RESULT ';
const PHASE_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'phase-main.js');

export interface ChildOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] or ['--max-old-space-size=128']. */
  nodeFlags?: string[];
  /** The compiled phase entry (default: phase-main.js beside this module; tests pass dist/bench/phase-main.js). */
  entry?: string;
  /** Where the child's stderr goes (default: ours). */
  onStderr?: (chunk: string) => void;
}

/** Parses the result line a phase prints; throws naming the phase when it is missing or malformed. */
export function parseResult(phase: string, stdout: string): PhaseRun {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw new Error(`bench phase ${phase} printed no ${RESULT_PREFIX.trim()} line (stdout: ${JSON.stringify(stdout.slice(-500))})`);
  const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as PhaseRun;
  if (typeof r.seconds !== 'number' || typeof r.rows !== 'number' || typeof r.maxRssBytes !== 'number') throw new Error(`bench phase ${phase}: malformed result ${line}`);
  return r;
}

export function runPhase(phase: PhaseName, args: PhaseArgs, o: ChildOptions = {}): Promise<PhaseRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(o.nodeFlags ?? []), o.entry ?? PHASE_MAIN, phase, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderrTail = (stderrTail + d).slice(-4000);
      (o.onStderr ?? ((s: string) => process.stderr.write(s)))(d);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`bench phase ${phase} exited with ${signal ?? `code ${code}`}: ${stderrTail.trim().split('\n').slice(-8).join('\n')}`));
      try {
        resolve(parseResult(phase, stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}
