/**
 * Lands pulled pages in the landing zone exactly as a transfer job would drop files:
 * `<landing>/<source>/<YYYY-MM-DD>/<HH>/<object>-<page>.json` plus its `<file>.done` marker. Each file is written
 * to a hidden temporary name (the pick-up ignores dot files), fsynced and renamed, then the marker is written the
 * same way: a reader sees no page, or the whole page without a marker (pending), or the page with its marker.
 * Pages that pick-up must not read (Stripe's raw event pages) go to `<HH>/_api/`, kept for audit and replay.
 */
import path from 'node:path';
import { writeFileDurable } from '../../events/io.js';
import { landingFolder, type Window } from '../../partitions/index.js';

/** `<source>/<day>/<HH>` of a window: the folder its pull lands in (relative to the landing zone). */
export function windowFolder(source: string, w: Window): string {
  return landingFolder(source, w);
}

export interface LandedPage {
  /** Relative to the landing zone. */
  path: string;
  object: string;
  records: number;
  bytes: number;
}

export class PageWriter {
  readonly landed: LandedPage[] = [];
  private readonly counters = new Map<string, number>();
  constructor(private readonly landing: string, readonly folder: string) {}

  /** The next page number for a (object, kind) series in this folder: deterministic, so a re-pull overwrites. */
  next(series: string): number {
    const n = (this.counters.get(series) ?? 0) + 1;
    this.counters.set(series, n);
    return n;
  }

  /** Writes a page the pick-up will read: `<object>-<suffix>.json` and its `.done` marker. */
  async page(object: string, suffix: string, text: string, records: number): Promise<LandedPage> {
    const rel = `${this.folder}/${object}-${suffix}.json`;
    const abs = path.join(this.landing, rel);
    await writeFileDurable(abs, text);
    await writeFileDurable(`${abs}.done`, '');
    const p = { path: rel, object, records, bytes: Buffer.byteLength(text) };
    this.landed.push(p);
    return p;
  }

  /** Writes a page kept for audit only (not a data file of the source): `_api/<name>.json`. */
  async archive(name: string, text: string): Promise<string> {
    const rel = `${this.folder}/_api/${name}.json`;
    await writeFileDurable(path.join(this.landing, rel), text);
    return rel;
  }
}

export const pageNo = (n: number) => String(n).padStart(4, '0');
