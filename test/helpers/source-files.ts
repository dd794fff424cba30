/** The repository's TypeScript source files under a folder, for the grep-based guard tests (test/guards/). */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Paths (relative to the repository, '/'-separated) of the .ts files under `dir`; [] when the folder does not exist. */
export function tsFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(REPO_ROOT, dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.flatMap((n) => {
    const rel = `${dir}/${n}`;
    if (statSync(path.join(REPO_ROOT, rel)).isDirectory()) return tsFiles(rel);
    return n.endsWith('.ts') ? [rel] : [];
  });
}
