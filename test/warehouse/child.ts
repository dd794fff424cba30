/** Spawning the compiled writer child (test/helpers/warehouse-child.ts) for crash and concurrency tests. */
import { spawn } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** A private build (not the shared dist/, which other engineers rebuild at any time); inside node_modules so packages resolve. */
const OUT = path.join(ROOT, 'node_modules', '.cache', 'billing-mart-warehouse-test');
export const CHILD = path.join(OUT, 'test', 'helpers', 'warehouse-child.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Compiles the child and what it imports when the build is older than the sources. */
export async function ensureBuilt(): Promise<void> {
  const src = Math.max(newestMtime(path.join(ROOT, 'warehouse')), newestMtime(path.join(ROOT, 'billing')), newestMtime(path.join(ROOT, 'jobs', 'billing')), statSync(path.join(ROOT, 'test', 'helpers', 'warehouse-child.ts')).mtimeMs, statSync(path.join(ROOT, 'test', 'helpers', 'sample-events.ts')).mtimeMs);
  if (existsSync(CHILD) && statSync(CHILD).mtimeMs >= src) return;
  const flags = ['--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck', '--esModuleInterop', '--types', 'node', '--rootDir', ROOT, '--outDir', OUT];
  const r = await runProcess(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ...flags, path.join(ROOT, 'test', 'helpers', 'warehouse-child.ts')], { cwd: ROOT });
  // tsc exits non-zero when any file in the tree has a type error, but still emits; only a missing child is fatal
  if (r.code !== 0 && !existsSync(CHILD)) throw new Error(`could not build ${CHILD}: ${r.stdout || r.stderr}`);
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runChild(args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
