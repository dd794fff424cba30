/**
 * Landing-zone pick-up: which files of a source to read for a window (plus lookback), whether each is ready
 * (marker or quiet period, time injected), and what each contains (sha256) so committed files are skipped.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectSpec, SourceConfig } from '../../config/sources.js';
import { DAY_MS, DAY_RE, HOUR_MS, landingFolderStart, type Window } from '../../partitions/index.js';
import type { InputFile } from '../types.js';
import { parseFileName, type FileName } from './readers.js';
import { hashFile } from './bytes.js';

export interface PickupSettings {
  /** 'marker': `<file>.done` or the folder's `_SUCCESS`; 'quiet': unchanged for quietSeconds; or either. */
  mode: 'marker' | 'quiet' | 'marker-or-quiet';
  quietSeconds: number;
}

export interface PlannedFile extends InputFile {
  abs: string;
  spec: ObjectSpec;
  name: FileName;
}

export interface PickupPlan {
  /** Ready files not yet committed: these are read. */
  inputs: PlannedFile[];
  /** Ready files already committed with the same content (path@sha256). */
  skipped: PlannedFile[];
  /** Files not ready yet (no marker / still changing): left for a later run. */
  pending: { path: string; reason: string }[];
  /** Files that match no object of the source (or a format it does not accept): reported, not read. */
  unrecognised: { path: string; reason: string }[];
  /** Landing folders (relative) that were looked at. */
  folders: string[];
}


/** A directory's entries, sorted; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** An entry of a source's landing folder that is not part of the `<YYYY-MM-DD>/<HH>` layout (never read). */
export interface StrayEntry {
  path: string;
  reason: string;
}

/** Names the layout ignores on purpose: hidden entries and `_…` (the generator's `_late`, control folders). */
function ignoredName(n: string): boolean {
  return n.startsWith('.') || n.startsWith('_');
}

function strayDayReason(name: string): string {
  const where = 'nothing in it is read; landing data goes in <source>/<YYYY-MM-DD>/<HH>/ (the UTC day and hour of its window)';
  return DAY_RE.test(name) ? `"${name}" is not a calendar day: ${where}` : `not a <YYYY-MM-DD> landing folder: ${where}`;
}

/**
 * The landing folders `<day>/<HH>` whose start lies in [window.start − lookback, window.end). Entries that do not
 * fit the layout (a folder `2024-02-30`, a file beside the day folders, an hour `4` or a file directly in a day
 * folder of the window) are never read; when `strays` is given they are added to it, so the run reports them
 * instead of skipping them silently.
 */
export async function windowFolders(sourceRoot: string, window: Window, lookbackHours: number, strays?: StrayEntry[]): Promise<{ rel: string; startMs: number }[]> {
  const from = window.startMs - lookbackHours * HOUR_MS;
  const out: { rel: string; startMs: number }[] = [];
  const source = path.basename(sourceRoot);
  for (const day of await listDir(sourceRoot)) {
    const dayMs = landingFolderStart(day, '00');
    if (dayMs === null) {
      if (!ignoredName(day)) strays?.push({ path: `${source}/${day}`, reason: strayDayReason(day) });
      continue;
    }
    if (dayMs + DAY_MS <= from || dayMs >= window.endMs) continue;
    for (const hh of await listDir(path.join(sourceRoot, day))) {
      const startMs = landingFolderStart(day, hh);
      if (startMs === null) {
        if (!ignoredName(hh)) strays?.push({ path: `${source}/${day}/${hh}`, reason: `not an <HH> hour folder (00-23): nothing in it is read; landing data goes in <source>/${day}/<HH>/` });
        continue;
      }
      if (startMs >= from && startMs < window.endMs) out.push({ rel: `${day}/${hh}`, startMs });
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** Where a path really is, or null when it is a dangling link. */
async function realOrNull(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function inside(root: string, p: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

export function objectForFile(source: SourceConfig, fileName: string): { spec: ObjectSpec; name: FileName } | { reason: string } {
  const name = parseFileName(fileName);
  if (!name) return { reason: 'not a data file name <object>[-<suffix>].<csv|jsonl|json>[.gz]' };
  const spec = source.objects.find((o) => (o.file ?? o.object) === name.prefix);
  if (!spec) return { reason: `no object "${name.prefix}" in source "${source.name}" (objects: ${source.objects.map((o) => o.file ?? o.object).join(', ')})` };
  if (!spec.formats.includes(name.format)) return { reason: `object "${spec.object}" does not accept ${name.format} (formats: ${spec.formats.join(', ')})` };
  return { spec, name };
}

export async function planPickup(
  landing: string,
  source: SourceConfig,
  window: Window,
  o: { lookbackHours: number; nowMs: number; pickup: PickupSettings; committed?: ReadonlySet<string> },
): Promise<PickupPlan> {
  const sourceRoot = path.join(landing, source.name);
  const plan: PickupPlan = { inputs: [], skipped: [], pending: [], unrecognised: [], folders: [] };
  // Links that leave the landing zone are reported, never followed (a link to /etc/passwd must not land its lines).
  const root = (await realOrNull(landing)) ?? path.resolve(landing);
  const outside = async (abs: string, rel: string): Promise<boolean> => {
    const real = await realOrNull(abs);
    if (real !== null && inside(root, real)) return false;
    plan.unrecognised.push({ path: rel, reason: real === null ? 'a dangling symbolic link: not followed' : `a symbolic link leaving the landing zone (to ${real}): not followed` });
    return true;
  };
  for (const folder of await windowFolders(sourceRoot, window, o.lookbackHours, plan.unrecognised)) {
    const dir = path.join(sourceRoot, folder.rel);
    if (await outside(dir, `${source.name}/${folder.rel}`)) continue;
    plan.folders.push(`${source.name}/${folder.rel}`);
    const names = await listDir(dir);
    const present = new Set(names);
    const folderDone = present.has('_SUCCESS');
    for (const n of names) {
      if (n === '_SUCCESS' || n.endsWith('.done') || n.startsWith('.')) continue;
      const rel = `${source.name}/${folder.rel}/${n}`;
      const abs = path.join(dir, n);
      if ((await lstat(abs)).isSymbolicLink() && (await outside(abs, rel))) continue;
      const st = await stat(abs);
      if (!st.isFile()) continue;
      const which = objectForFile(source, n);
      if ('reason' in which) {
        plan.unrecognised.push({ path: rel, reason: which.reason });
        continue;
      }
      const marker = folderDone || present.has(`${n}.done`);
      const quiet = st.mtimeMs <= o.nowMs - o.pickup.quietSeconds * 1000;
      const ready = o.pickup.mode === 'marker' ? marker : o.pickup.mode === 'quiet' ? quiet : marker || quiet;
      if (!ready) {
        const why = o.pickup.mode === 'marker' ? 'no .done/_SUCCESS marker yet' : o.pickup.mode === 'quiet' ? `modified less than ${o.pickup.quietSeconds}s ago` : `no marker and modified less than ${o.pickup.quietSeconds}s ago`;
        plan.pending.push({ path: rel, reason: why });
        continue;
      }
      const h = await hashFile(abs, st.size); // a large file streamed: a file of any size costs one chunk of memory
      const f: PlannedFile = { path: rel, sha256: h.sha256, bytes: h.bytes, abs, spec: which.spec, name: which.name };
      (o.committed?.has(`${f.path}@${f.sha256}`) ? plan.skipped : plan.inputs).push(f);
    }
  }
  return plan;
}
