/**
 * The few storage calls the warehouse makes, behind one small interface (local filesystem today; object
 * storage later would implement the same calls with conditional puts instead of link/rename).
 * All paths are relative to the warehouse root and use '/'.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface Storage {
  readonly root: string;
  abs(rel: string): string;
  mkdirp(rel: string): Promise<void>;
  /** Writes via a temporary name, fsyncs, renames into place, fsyncs the directory. Replaces atomically. */
  writeDurable(rel: string, data: string | Uint8Array): Promise<void>;
  /** Like writeDurable but fails (returns false) when `rel` already exists: the optimistic-commit primitive. */
  createExclusive(rel: string, data: string): Promise<boolean>;
  readText(rel: string): Promise<string | null>;
  /** The whole object as bytes, null when it does not exist. */
  read(rel: string): Promise<Uint8Array | null>;
  /** Directory entries (names), [] when the directory does not exist. */
  list(rel: string): Promise<string[]>;
  /** Hard link (same object under a second name). */
  link(fromRel: string, toRel: string): Promise<void>;
  removeTree(rel: string): Promise<void>;
  removeFile(rel: string): Promise<void>;
  /** Points symlink `rel` at `target` (relative to the link's directory) with one atomic rename. */
  swapSymlink(rel: string, target: string): Promise<void>;
  /** Creates symlink `rel` → `target` if `rel` does not exist. */
  ensureSymlink(rel: string, target: string): Promise<void>;
  readSymlink(rel: string): Promise<string | null>;
  exists(rel: string): Promise<boolean>;
  size(rel: string): Promise<number>;
  fsyncDir(rel: string): Promise<void>;
}

function isCode(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

export function tmpSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

export class LocalStorage implements Storage {
  constructor(readonly root: string) {}

  abs(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }

  async mkdirp(rel: string): Promise<void> {
    await fs.mkdir(this.abs(rel), { recursive: true });
  }

  private async writeTmp(rel: string, data: string | Uint8Array): Promise<string> {
    const dir = path.posix.dirname(rel);
    await this.mkdirp(dir);
    const tmp = `${dir}/.tmp-${path.posix.basename(rel)}-${tmpSuffix()}`;
    const fh = await fs.open(this.abs(tmp), 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  async writeDurable(rel: string, data: string | Uint8Array): Promise<void> {
    const tmp = await this.writeTmp(rel, data);
    await fs.rename(this.abs(tmp), this.abs(rel));
    await this.fsyncDir(path.posix.dirname(rel));
  }

  async createExclusive(rel: string, data: string): Promise<boolean> {
    const tmp = await this.writeTmp(rel, data);
    try {
      await fs.link(this.abs(tmp), this.abs(rel));
      await this.fsyncDir(path.posix.dirname(rel));
      return true;
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw e;
    } finally {
      await fs.rm(this.abs(tmp), { force: true });
    }
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
      return (await fs.readdir(this.abs(rel))).sort();
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

  async swapSymlink(rel: string, target: string): Promise<void> {
    const dir = path.posix.dirname(rel);
    const tmp = `${dir}/.tmp-link-${path.posix.basename(rel)}-${tmpSuffix()}`;
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
    const fh = await fs.open(this.abs(rel), 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
