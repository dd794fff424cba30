/**
 * Storage is the warehouse's boundary: every byte it keeps goes through these calls. Two layers:
 * - ObjectStorage: what any adapter provides (local disk, object store, memory): read, atomic replace,
 *   atomic create-if-absent, list, delete, and the two steps that let DuckDB (which only reads and writes
 *   local files) work against any store: `putFile` stores a file DuckDB wrote in a local scratch path,
 *   `localFile` gives a local path holding an object's bytes. An object-store adapter is this much, with
 *   conditional puts (If-None-Match) for createExclusive. test/warehouse/storage-contract.test.ts is the
 *   suite every adapter must pass.
 * - Storage (the local disk only) adds absolute paths, directories, hard links and symlink swaps: what the
 *   plain-Parquet Hive view (`current` and the version directories) needs for readers that glob the layout.
 * All keys are relative to the warehouse root and use '/'.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { asDiskFull, fsyncDir, TMP_PREFIX, tmpSuffix, writeAll, writeFileDurable, writeTempBeside } from '../events/io.js';

export interface ObjectStorage {
  /** Where the store is, for messages (a directory, a bucket URL). */
  readonly root: string;
  /** The whole object as bytes, null when it does not exist. */
  read(rel: string): Promise<Uint8Array | null>;
  readText(rel: string): Promise<string | null>;
  /** Stores `data` under `rel`, replacing atomically (a reader sees the old or the new bytes, never a part); durable when it returns. */
  writeDurable(rel: string, data: string | Uint8Array): Promise<void>;
  /** Stores `data` under `rel` only if nothing is there: of racing callers exactly one gets true (the commit point). Durable when it returns. */
  createExclusive(rel: string, data: string): Promise<boolean>;
  /** Stores the local file `localPath` (e.g. DuckDB's output in a scratch directory) under `rel`, durably; the local file is gone afterwards. */
  putFile(rel: string, localPath: string): Promise<void>;
  /** A local path holding the bytes of `rel` (the object itself on a local disk, a fetched copy elsewhere), for DuckDB to read. */
  localFile(rel: string): Promise<string>;
  /** A local directory (created) for temporary files of the key prefix `rel`: DuckDB's output before putFile, spill files. removeTree(rel) removes it. */
  scratchDir(rel: string): Promise<string>;
  /** Names directly under the prefix `rel` (objects and deeper prefixes), sorted; [] when there are none. No temporary names. */
  list(rel: string): Promise<string[]>;
  exists(rel: string): Promise<boolean>;
  /** Size in bytes of an existing object. */
  size(rel: string): Promise<number>;
  /** Deletes an object; nothing happens when it does not exist. */
  removeFile(rel: string): Promise<void>;
  /** Deletes every object under the prefix `rel` (and `rel` itself). */
  removeTree(rel: string): Promise<void>;
}

/** The local disk: ObjectStorage plus what the Hive-layout view needs (directories, hard links, symlink swaps). */
export interface Storage extends ObjectStorage {
  abs(rel: string): string;
  mkdirp(rel: string): Promise<void>;
  /** Hard link (same object under a second name). */
  link(fromRel: string, toRel: string): Promise<void>;
  /** Renames `fromRel` (a file or a directory) to `toRel`, which must not be a non-empty directory. */
  rename(fromRel: string, toRel: string): Promise<void>;
  /** Points symlink `rel` at `target` (relative to the link's directory) with one atomic rename. */
  swapSymlink(rel: string, target: string): Promise<void>;
  /** Creates symlink `rel` → `target` if `rel` does not exist. */
  ensureSymlink(rel: string, target: string): Promise<void>;
  readSymlink(rel: string): Promise<string | null>;
  fsyncDir(rel: string): Promise<void>;
  /**
   * Appends `data` with one write on an O_APPEND descriptor (whole lines even with concurrent writers; not
   * fsynced): the jobs' state area's journals (warehouse/state-area.ts), whose every line is also kept elsewhere.
   */
  append(rel: string, data: string): Promise<void>;
  /** Writes `data` over the start of the existing object `rel` (it must fit in its size) and fsyncs: a last resort on a full disk. */
  writeInPlace(rel: string, data: string): Promise<void>;
}

/** The store as a local disk with the Hive view's operations, or null (an object store has no links). */
export function hiveView(s: ObjectStorage): Storage | null {
  const l = s as Partial<Storage>;
  return typeof l.link === 'function' && typeof l.swapSymlink === 'function' && typeof l.abs === 'function' ? (s as Storage) : null;
}

function isCode(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

export class LocalStorage implements Storage {
  /** `fsync: false`: atomic but not flushed (a store for lock leases only, see DurableWriteOptions.fsync). */
  constructor(readonly root: string, private readonly o: { fsync?: boolean } = {}) {}

  abs(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }

  async mkdirp(rel: string): Promise<void> {
    await fs.mkdir(this.abs(rel), { recursive: true });
  }

  async writeDurable(rel: string, data: string | Uint8Array): Promise<void> {
    await writeFileDurable(this.abs(rel), data, this.o);
  }

  async createExclusive(rel: string, data: string): Promise<boolean> {
    // complete content under a temporary name, then link(): it fails if `rel` exists, so readers never see a part
    const target = this.abs(rel);
    const tmp = await writeTempBeside(target, data, this.o);
    try {
      await fs.link(tmp, target);
      if (this.o.fsync !== false) await fsyncDir(path.dirname(target));
      return true;
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw asDiskFull(e, target);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async putFile(rel: string, localPath: string): Promise<void> {
    const fh = await fs.open(localPath, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const dir = path.posix.dirname(rel);
    await this.mkdirp(dir);
    try {
      await fs.rename(localPath, this.abs(rel));
    } catch (e) {
      if (!isCode(e, 'EXDEV')) throw e;
      // scratch on another file system: copy durably (temporary name, rename), then drop the scratch file
      await writeFileDurable(this.abs(rel), await fs.readFile(localPath));
      await fs.rm(localPath, { force: true });
    }
    await this.fsyncDir(dir);
  }

  async localFile(rel: string): Promise<string> {
    return this.abs(rel);
  }

  async scratchDir(rel: string): Promise<string> {
    await this.mkdirp(rel);
    return this.abs(rel);
  }

  async readText(rel: string): Promise<string | null> {
    const bytes = await this.read(rel);
    return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  async read(rel: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(this.abs(rel));
    } catch (e) {
      if (isCode(e, 'ENOENT')) return null;
      throw e;
    }
  }

  async list(rel: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.abs(rel))).filter((n) => !n.startsWith(TMP_PREFIX)).sort();
    } catch (e) {
      if (isCode(e, 'ENOENT')) return [];
      throw e;
    }
  }

  async link(fromRel: string, toRel: string): Promise<void> {
    await fs.link(this.abs(fromRel), this.abs(toRel));
  }

  async removeTree(rel: string): Promise<void> {
    await fs.rm(this.abs(rel), { recursive: true, force: true });
  }

  async removeFile(rel: string): Promise<void> {
    await fs.rm(this.abs(rel), { force: true });
  }

  async rename(fromRel: string, toRel: string): Promise<void> {
    await fs.rename(this.abs(fromRel), this.abs(toRel));
  }

  async swapSymlink(rel: string, target: string): Promise<void> {
    const dir = path.posix.dirname(rel);
    const tmp = `${dir}/${TMP_PREFIX}link-${path.posix.basename(rel)}-${tmpSuffix()}`;
    await fs.symlink(target, this.abs(tmp));
    await fs.rename(this.abs(tmp), this.abs(rel));
    await this.fsyncDir(dir);
  }

  async ensureSymlink(rel: string, target: string): Promise<void> {
    try {
      await fs.symlink(target, this.abs(rel));
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
    }
  }

  async readSymlink(rel: string): Promise<string | null> {
    try {
      return await fs.readlink(this.abs(rel));
    } catch (e) {
      if (isCode(e, 'ENOENT')) return null;
      throw e;
    }
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await fs.access(this.abs(rel), constants.F_OK);
      return true;
    } catch (e) {
      if (isCode(e, 'ENOENT')) return false;
      throw e;
    }
  }

  async size(rel: string): Promise<number> {
    return (await fs.stat(this.abs(rel))).size;
  }

  async fsyncDir(rel: string): Promise<void> {
    await fsyncDir(this.abs(rel));
  }

  async append(rel: string, data: string): Promise<void> {
    const file = this.abs(rel);
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const fh = await fs.open(file, 'a');
      try {
        await writeAll(fh, data, file);
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw asDiskFull(e, file);
    }
  }

  async writeInPlace(rel: string, data: string): Promise<void> {
    const file = this.abs(rel);
    const fh = await fs.open(file, 'r+');
    try {
      const size = (await fh.stat()).size;
      if (Buffer.byteLength(data) > size) throw new Error(`${file}: ${Buffer.byteLength(data)} bytes do not fit in place (${size} bytes)`);
      await writeAll(fh, data, file, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
