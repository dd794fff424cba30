/**
 * Local files that are not the warehouse's stored bytes: the one place in warehouse/ besides the local storage
 * adapter (storage.ts) that touches node:fs (test/guards/storage-boundary.test.ts holds it to that).
 * - Scratch: files under a directory that ObjectStorage.scratchDir handed out (staged CSV, Parquet being encoded,
 *   DuckDB's output before putFile, spill directories). Scratch is always on the local disk, whatever the store:
 *   an object-store adapter is one file (its ObjectStorage) plus a local scratch directory.
 * - The user's own output file outside the warehouse (export --out), and its read-back for the sha256.
 * Nothing here writes a warehouse object: what must be kept is handed to ObjectStorage.putFile.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { asDiskFull, tmpSuffix } from '../events/io.js';
import { processAlive } from './lock.js';

export type { FileHandle } from 'node:fs/promises';

/** Creates the local file `file` (it must not exist) for writing; a full disk is a DiskFullError naming it. */
export async function createLocalFile(file: string): Promise<FileHandle> {
  try {
    return await fs.open(file, 'wx');
  } catch (e) {
    throw asDiskFull(e, file);
  }
}

/** Creates `file` empty (it must not exist): e.g. a Parquet writer's output for a source with no rows. */
export async function createEmptyLocalFile(file: string): Promise<void> {
  await (await createLocalFile(file)).close();
}

/** Removes a local scratch file or directory (and what is inside); nothing happens when it does not exist. */
export async function removeLocal(p: string): Promise<void> {
  await fs.rm(p, { recursive: true, force: true });
}

/** A new local directory for this process under `base` (created), named `<pid>-<random>` so removeDeadProcessDirs finds it once this process is gone. */
export function newProcessDir(base: string): string {
  const dir = path.join(base, tmpSuffix());
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes the directories under `base` named `<pid>-<random>` (newProcessDir, prepares) of processes that no longer run: spills, prepares of a killed run. */
export function removeDeadProcessDirs(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const n of names) {
    const pid = Number(/^(\d+)-/.exec(n)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) rmSync(path.join(base, n), { recursive: true, force: true });
  }
}

/** A new temporary directory beside the local file `file` (`<prefix>XXXXXX`, created): scratch for writing it. */
export async function tempDirBeside(file: string, prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(path.dirname(file), prefix));
}

/** Size in bytes and sha256 (hex) of a local file, read as a stream. */
export async function localFileDigest(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const buf of createReadStream(file)) {
    hash.update(buf as Buffer);
    bytes += (buf as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
