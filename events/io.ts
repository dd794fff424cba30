/**
 * Writing bytes safely, for every layer: a write loop that writes all bytes or fails (FileHandle.write may write
 * part of a buffer without an error on a nearly full disk), and the one test for "the disk is full" that turns
 * such a failure — from Node (errno ENOSPC/EDQUOT) or from DuckDB (its message) — into a DiskFullError naming
 * the path.
 */
import type { FileHandle } from 'node:fs/promises';
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
