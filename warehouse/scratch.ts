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

/** Opens the local scratch file `file` for reading (e.g. a staged run the stage merges). */
export async function openLocalRead(file: string): Promise<FileHandle> {
  return fs.open(file, 'r');
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

/**
 * Text lines spilled to `buckets` files in the scratch directory `dir` (created), each line appended to the bucket
 * its caller chose (a hash of its key, so one bucket holds every line of its keys) and read back a bucket at a
 * time: memory holds what was added since the last flush plus one bucket, never the whole spill. A line must not
 * contain a newline (JSON text does not); a bucket comes back in the order its lines were added.
 */
export class BucketSpill {
  private pending: string[][];
  private chars = 0;
  private made = false;
  /** Open bucket files (appended at each flush; closed by read and remove). */
  private handles = new Map<number, FileHandle>();

  constructor(readonly dir: string, readonly buckets: number) {
    if (!(Number.isInteger(buckets) && buckets >= 1)) throw new Error(`internal: bucket spill of ${buckets} buckets`);
    this.pending = Array.from({ length: buckets }, () => []);
  }

  /** Characters added since the last flush (the caller flushes past its budget). */
  get pendingBytes(): number {
    return this.chars;
  }

  add(bucket: number, line: string): void {
    this.pending[bucket]!.push(line);
    this.chars += line.length + 1;
  }

  /** Appends what was added to the bucket files (a full disk is a DiskFullError naming the file). */
  async flush(): Promise<void> {
    if (this.chars === 0) return;
    if (!this.made) {
      await fs.mkdir(this.dir, { recursive: true });
      this.made = true;
    }
    const writes: Promise<unknown>[] = [];
    for (let b = 0; b < this.buckets; b++) {
      const lines = this.pending[b]!;
      if (lines.length === 0) continue;
      this.pending[b] = [];
      writes.push(this.append(b, lines.join('\n') + '\n'));
    }
    await Promise.all(writes);
    this.chars = 0;
  }

  private async append(b: number, text: string): Promise<void> {
    const file = this.file(b);
    try {
      let h = this.handles.get(b);
      if (!h) this.handles.set(b, (h = await fs.open(file, 'a')));
      await h.write(text);
    } catch (e) {
      throw asDiskFull(e, file);
    }
  }

  private async closeAll(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map((h) => h.close()));
  }

  /** The lines of one bucket, in the order they were added (flushes first). */
  async read(bucket: number): Promise<string[]> {
    await this.flush();
    await this.closeAll();
    let text: string;
    try {
      text = await fs.readFile(this.file(bucket), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const lines = text.split('\n');
    lines.pop(); // after the last newline
    return lines;
  }

  /** Removes the bucket files. */
  async remove(): Promise<void> {
    this.pending = Array.from({ length: this.buckets }, () => []);
    this.chars = 0;
    await this.closeAll();
    await removeLocal(this.dir);
  }

  private file(b: number): string {
    return path.join(this.dir, `bucket-${String(b).padStart(4, '0')}.txt`);
  }
}
