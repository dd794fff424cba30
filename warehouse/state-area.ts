/**
 * The jobs' state area (config `state:`, default `<warehouse>/_state`): the run store, the completeness history,
 * the scheduler's last fire times. The warehouse owns it like its tables: every byte goes through the storage
 * seam (warehouse/storage.ts), never through node:fs in jobs/. The default area is a key prefix of the
 * warehouse's own storage (`_state/`); a `state:` configured outside the warehouse is a local store of its own.
 *
 * What it offers is what those stores need, no more: durable whole-object writes, tolerant JSON reads (a
 * corrupt object is an error naming it), JSON-lines journals (append one line; a torn last line from a crash
 * is skipped), listings, and one local-disk-only fallback (a rewrite in place when the disk is full).
 * On a store without appends (an object store) a journal line is a read-modify-write of its object: such a
 * store serves one writer per journal.
 */
import path from 'node:path';
import { hiveView, LocalStorage, type ObjectStorage } from './storage.js';

/** The default location of the state area inside a warehouse. */
export const STATE_DIR = '_state';

export class StateArea {
  /** `prefix`: the area's key prefix inside `storage` ('' = the whole store). */
  constructor(readonly storage: ObjectStorage, readonly prefix = '') {}

  /** The state area at the local directory `dir` (a `state:` outside the warehouse, or a test's directory). */
  static open(dir: string): StateArea {
    return new StateArea(new LocalStorage(path.resolve(dir)));
  }

  /**
   * The area for `dir` on the warehouse whose storage is `storage`: a prefix of that storage when `dir` is inside
   * its root (the default `<warehouse>/_state`), else a local store at `dir`.
   */
  static forWarehouse(storage: ObjectStorage, dir: string): StateArea {
    const rel = path.relative(storage.root, path.resolve(dir));
    const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    return inside ? new StateArea(storage, rel.split(path.sep).join('/')) : StateArea.open(dir);
  }

  /** The part of the area under `rel` (e.g. 'runs'). */
  sub(rel: string): StateArea {
    return new StateArea(this.storage, this.key(rel));
  }

  /** The storage key of `rel` (relative to the area). */
  key(rel: string): string {
    return [this.prefix, rel].filter((x) => x !== '').join('/');
  }

  /** Where `rel` is, for messages and for people (a path on a local disk). */
  where(rel = ''): string {
    const k = this.key(rel);
    const local = hiveView(this.storage);
    return local ? local.abs(k) : `${this.storage.root}/${k}`;
  }

  readText(rel: string): Promise<string | null> {
    return this.storage.readText(this.key(rel));
  }

  /** The parsed JSON object at `rel`; undefined when it does not exist. A corrupt object is an error naming it. */
  async readJson<T>(rel: string): Promise<T | undefined> {
    const text = await this.readText(rel);
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new Error(`${this.where(rel)} is not valid JSON (${(e as Error).message}); move it aside and re-run`, { cause: e });
    }
  }

  /** Lines of a JSON-lines journal, each parsed; [] when it does not exist; a torn last line (crash mid-append) is skipped, others are errors. */
  async readJsonLines<T>(rel: string): Promise<T[]> {
    const text = await this.readText(rel);
    if (text === null) return [];
    const lines = text.split('\n');
    const out: T[] = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      try {
        out.push(JSON.parse(line) as T);
      } catch (e) {
        if (i === lines.length - 1) return; // torn final line without newline: an interrupted append
        throw new Error(`${this.where(rel)}:${i + 1} is not valid JSON (${(e as Error).message})`, { cause: e });
      }
    });
    return out;
  }

  /** Replaces (or creates) `rel` atomically and durably. */
  writeDurable(rel: string, data: string): Promise<void> {
    return this.storage.writeDurable(this.key(rel), data);
  }

  /** Creates `rel` only if nothing is there: of racing callers exactly one gets true. */
  createExclusive(rel: string, data: string): Promise<boolean> {
    return this.storage.createExclusive(this.key(rel), data);
  }

  /** Appends one line to the journal `rel` (whole lines, even with concurrent writers on a local disk). */
  async appendLine(rel: string, line: string): Promise<void> {
    const text = line.endsWith('\n') ? line : line + '\n';
    const local = hiveView(this.storage);
    if (local) return local.append(this.key(rel), text);
    const before = (await this.readText(rel)) ?? '';
    await this.writeDurable(rel, before + (before === '' || before.endsWith('\n') ? '' : '\n') + text);
  }

  /** Local disk only: writes `data` over the start of the existing `rel`, within its size, and fsyncs (a full disk's last resort). */
  async writeInPlace(rel: string, data: string): Promise<void> {
    const local = hiveView(this.storage);
    if (!local) throw new Error(`${this.where(rel)}: this store cannot rewrite an object in place`);
    await local.writeInPlace(this.key(rel), data);
  }

  /** Size in bytes of the existing object `rel`. */
  size(rel: string): Promise<number> {
    return this.storage.size(this.key(rel));
  }

  /** Names directly under `rel` (objects and deeper prefixes), sorted; [] when there are none. */
  list(rel = ''): Promise<string[]> {
    return this.storage.list(this.key(rel));
  }

  exists(rel: string): Promise<boolean> {
    return this.storage.exists(this.key(rel));
  }
}
