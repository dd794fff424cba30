/**
 * Writing bytes safely, for every layer: a write loop that writes all bytes or fails (FileHandle.write may write
 * part of a buffer without an error on a nearly full disk), the one test for "the disk is full" that turns
 * such a failure — from Node (errno ENOSPC/EDQUOT) or from DuckDB (its message) — into a DiskFullError naming
 * the path, and the one durable-write helper (temporary file beside the target, every byte, fsync, rename,
 * fsync of the directory) that every file writer uses: `writeFileDurable`, `replaceFile`, `writeTempBeside`.
 */
import { randomBytes } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DiskFullError } from './errors.js';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const FULL_TEXT = /No space left on device|Disk quota exceeded/i;

/** The errno code of a disk-full failure anywhere in `e`'s cause chain (DuckDB's message counts), else undefined. */
export function diskFullCode(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 10; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof DiskFullError) return cur.code;
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return code;
    const msg = (cur as { message?: unknown }).message;
    if (typeof msg === 'string' && FULL_TEXT.test(msg)) return /quota/i.test(msg) ? 'EDQUOT' : 'ENOSPC';
  }
  return undefined;
}

/** The file a failure names: the errno error's `path`, or the first quoted path in DuckDB's message. */
function failedPath(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 10; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof DiskFullError) return cur.path;
    const p = (cur as { path?: unknown }).path;
    if (typeof p === 'string' && p) return p;
    const m = /"(\/[^"]+)"/.exec(String((cur as { message?: unknown }).message ?? ''));
    if (m) return m[1];
  }
  return undefined;
}

/**
 * `e` as a DiskFullError when the disk is full (naming the failing file, else `where`, and adding `context`:
 * what state things were left in); any other error is returned unchanged.
 */
export function asDiskFull(e: unknown, where: string, context?: string): unknown {
  const code = diskFullCode(e);
  if (code === undefined) return e;
  if (e instanceof DiskFullError && !context) return e;
  const inner = e instanceof DiskFullError ? (e.cause ?? e) : e;
  return new DiskFullError(failedPath(e) ?? where, { code, cause: inner, context });
}

/**
 * Writes all of `data` at the handle's position (or at `position` onwards), looping over short writes. A write
 * that makes no progress is a full disk (DiskFullError naming `path`), never a silent truncation.
 */
export async function writeAll(fh: FileHandle, data: Uint8Array | string, path: string, position?: number): Promise<number> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  try {
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off, position === undefined ? null : position + off);
      if (bytesWritten <= 0) throw new DiskFullError(path, { context: `a write made no progress after ${off} of ${buf.length} bytes` });
      off += bytesWritten;
    }
  } catch (e) {
    throw asDiskFull(e, path);
  }
  return buf.length;
}

/** Names of files being written (renamed into place when complete): hidden, and never listed by the storage seam. */
export const TMP_PREFIX = '.tmp-';

/** A name unique to this process and call, for temporary files. */
export function tmpSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface DurableWriteOptions {
  /** File mode of the new file (e.g. 0o600 for a file holding secrets); default 0o666 less the umask. */
  mode?: number;
  /**
   * false: atomic (whole old or whole new content) but not flushed to the device — only for files nobody needs
   * after the machine crashed (lock leases: every holder on the machine is gone then). Default true.
   */
  fsync?: boolean;
}

function tmpBeside(file: string): string {
  return path.join(path.dirname(file), `${TMP_PREFIX}${path.basename(file)}-${tmpSuffix()}`);
}

/** fsyncs a file another writer made (DuckDB's COPY), so its bytes are on disk before it is renamed into place. */
export async function fsyncFile(file: string): Promise<void> {
  await fsyncDir(file); // the same call: open read-only, fsync (Linux flushes the inode's data whatever the open mode)
}

/** fsyncs a directory, so a rename or link in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` whole to a new temporary file in `file`'s directory (created), fsynced, and returns its path: the
 * first half of a durable write (rename or link it into place, then fsyncDir). On failure nothing is left and a
 * full disk is a DiskFullError naming `file`.
 */
export async function writeTempBeside(file: string, data: string | Uint8Array, o: DurableWriteOptions = {}): Promise<string> {
  const tmp = tmpBeside(file);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const fh = await fs.open(tmp, 'wx', o.mode);
    try {
      await writeAll(fh, data, file);
      if (o.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    if (o.mode !== undefined) await fs.chmod(tmp, o.mode); // the umask does not narrow an explicit mode
    return tmp;
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw asDiskFull(e, file);
  }
}

/**
 * Replaces `file` (or creates it) so that a reader, or the disk after a crash, has the old or the new content,
 * never a part: `fill(tmpPath)` creates and writes a temporary file beside it (with writeAll; e.g. a Parquet or
 * CSV writer); then it is fsynced, renamed over `file`, and the directory fsynced. On failure the temporary file
 * is removed (its space comes back) and a full disk is a DiskFullError naming `file`.
 */
export async function replaceFile(file: string, fill: (tmpPath: string) => Promise<void>, o: DurableWriteOptions = {}): Promise<void> {
  const tmp = tmpBeside(file);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fill(tmp);
    const fh = await fs.open(tmp, 'r+');
    try {
      if (o.mode !== undefined) await fh.chmod(o.mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
    if (o.fsync !== false) await fsyncDir(path.dirname(file));
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw asDiskFull(e, file);
  }
}

/** Writes `data` to `file` durably and atomically (temporary file, every byte, fsync, rename, fsync of the directory). */
export async function writeFileDurable(file: string, data: string | Uint8Array, o: DurableWriteOptions = {}): Promise<void> {
  const tmp = await writeTempBeside(file, data, o);
  try {
    await fs.rename(tmp, file);
    await fsyncDir(path.dirname(file));
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw asDiskFull(e, file);
  }
}
