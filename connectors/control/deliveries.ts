/**
 * Delivery evidence for ARRIVED: for each 4-hour window of a UTC day, did the source deliver it? A window is
 * delivered when it has at least one landing folder (`<source>/<day>/<HH>` with HH inside the window) and every
 * such folder is marked: a `_SUCCESS`, or a `<file>.done` beside every data file. Quiet-period pick-up leaves no
 * evidence, so a source that never writes markers cannot reach ARRIVED (declare a control instead).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { windowKey, windowsOfDay } from '../../partitions/index.js';
import { windowFolders } from '../landing/pickup.js';

export interface WindowDelivery {
  window: string;
  delivered: boolean;
  /** Landing folders of the window, e.g. `zuora/2024-01-03/04`. */
  folders: string[];
  /** Why not delivered. */
  reason?: string;
}

export async function windowDeliveries(landing: string, source: string, day: string): Promise<WindowDelivery[]> {
  const root = path.join(landing, source);
  const out: WindowDelivery[] = [];
  for (const w of windowsOfDay(day)) {
    const folders = await windowFolders(root, w, 0);
    const rels = folders.map((f) => `${source}/${f.rel}`);
    if (!folders.length) {
      out.push({ window: windowKey(w), delivered: false, folders: [], reason: 'no landing folder' });
      continue;
    }
    const unmarked: string[] = [];
    for (const f of folders) {
      const names = (await readdir(path.join(root, f.rel))).filter((n) => !n.startsWith('.'));
      if (names.includes('_SUCCESS')) continue;
      const present = new Set(names);
      const data = names.filter((n) => n !== '_SUCCESS' && !n.endsWith('.done'));
      if (!data.length || data.some((n) => !present.has(`${n}.done`))) unmarked.push(`${source}/${f.rel}`);
    }
    out.push(unmarked.length ? { window: windowKey(w), delivered: false, folders: rels, reason: `no _SUCCESS / .done marker in ${unmarked.join(', ')}` } : { window: windowKey(w), delivered: true, folders: rels });
  }
  return out;
}
