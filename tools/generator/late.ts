/**
 * Delivering the generator's held-back files: `<out>/_late/<rel>` moves to `<out>/<rel>` (with its `.done`
 * marker written after the data file, so a pick-up never sees a half-delivered file). A changed re-delivery
 * replaces the file at the same path: a new sha256, the same events. The demo calls this between runs to
 * show that the lookback re-reads recent windows and nothing is lost.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { landingFolderStart } from '../../partitions/index.js';

export interface Delivered {
  /** Landing-relative paths of the delivered data files. */
  files: string[];
  /** Of those, the ones that replaced an existing file (changed re-deliveries). */
  replaced: string[];
}

/** Moves every held-back file whose window folder starts before `beforeMs` (default: all). */
export function deliverLate(out: string, beforeMs = Number.POSITIVE_INFINITY): Delivered {
  const lateRoot = path.join(out, '_late');
  const res: Delivered = { files: [], replaced: [] };
  if (!existsSync(lateRoot)) return res;
  const walk = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((n) => {
        const p = path.join(dir, n);
        return statSync(p).isDirectory() ? walk(p) : [p];
      });
  for (const abs of walk(lateRoot)) {
    if (abs.endsWith('.done')) continue;
    const rel = path.relative(lateRoot, abs).split(path.sep).join('/');
    const [, day, hh] = rel.split('/'); // <source>/<day>/<HH>/<file>
    const startMs = day !== undefined && hh !== undefined ? landingFolderStart(day, hh) : null;
    if (startMs === null || startMs >= beforeMs) continue;
    const target = path.join(out, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    if (existsSync(target)) res.replaced.push(rel);
    renameSync(abs, target);
    renameSync(abs + '.done', target + '.done');
    res.files.push(rel);
  }
  if (walk(lateRoot).length === 0) rmSync(lateRoot, { recursive: true, force: true });
  return res;
}
