import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(prefix = 'bm-jobs-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Call at the top of a test file: returns `dir()`, a fresh temp dir removed after each test. */
export function tempDirsPerTest(prefix?: string): () => string {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    while (cleanups.length) cleanups.pop()!();
  });
  return () => {
    const t = tempDir(prefix);
    cleanups.push(t.cleanup);
    return t.dir;
  };
}

/** Child-process tests run the compiled code: fail with a clear message when it was not built. */
export function requireBuilt(rel: string): string {
  const p = path.join(ROOT, 'dist', rel);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npx tsc -p tsconfig.build.json\` (or \`npm test\`) first`);
  return p;
}

/** Yields to the event loop (no timers) until `cond()` holds: lets real file I/O of the code under test finish. */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}
