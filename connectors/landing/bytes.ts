/**
 * The bytes of one landing file as a stream with bounded memory: chunks (from a buffer or a file opened per pass),
 * gunzip, an incremental UTF-8 validity check, text decoding with the BOM stripped, and sha256 while reading.
 * The readers (readers.ts) read only through these, so a file of any size costs at most a few chunks of memory.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** Where a reader's bytes come from: a buffer, or a function that opens the bytes as a stream (once per pass). */
export type ByteSource = Uint8Array | (() => AsyncIterable<Uint8Array>);

/**
 * A landing file up to this size is read whole, once (its hash, encoding check and records from one buffer); a larger
 * one streams in chunks. Memory for it: the buffer and its decoded text, a few times this, whatever the day.
 */
export const WHOLE_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The whole file when it holds at most WHOLE_FILE_BYTES (null when it is larger: stream it). Synchronous: a few MiB
 * at most, mostly from the page cache, without a stream and thread-pool round trips per small file.
 */
export function readSmallFile(abs: string): Buffer | null {
  const fd = openSync(abs, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > WHOLE_FILE_BYTES) return null;
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** sha256 of bytes in memory, as hex. */
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Slice size when a buffer is read as a stream (a file stream brings its own, 64 KiB). */
export const CHUNK_BYTES = 64 * 1024;

export const asBuffer = (c: Uint8Array): Buffer => (Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));

/** The source's bytes, chunk by chunk (a buffer is sliced, not copied). */
export async function* chunksOf(src: ByteSource): AsyncGenerator<Buffer> {
  if (typeof src === 'function') {
    for await (const c of src()) if (c.byteLength) yield asBuffer(c);
    return;
  }
  const b = asBuffer(src);
  for (let i = 0; i < b.length; i += CHUNK_BYTES) yield b.subarray(i, i + CHUNK_BYTES);
}

/** A file as a byte source (opened anew on every pass). */
export function fileSource(abs: string): () => AsyncIterable<Uint8Array> {
  return () => createReadStream(abs, { highWaterMark: CHUNK_BYTES });
}

/** The decompressed bytes of a gzip stream (several members are read as one, as gunzipSync does). */
export async function* gunzipped(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: CHUNK_BYTES });
  const src = Readable.from(chunks, { objectMode: false });
  src.on('error', (e) => z.destroy(e));
  src.pipe(z);
  try {
    for await (const c of z as AsyncIterable<Buffer>) yield c;
  } finally {
    src.destroy();
    z.destroy();
  }
}

/** Tells whether a byte stream is valid UTF-8, chunk by chunk (a character may be split across chunks). */
export class Utf8Check {
  private carry: Buffer = Buffer.alloc(0);
  private ok = true;

  push(chunk: Buffer): void {
    if (!this.ok) return;
    const b = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = completeUpTo(b);
    if (!isUtf8(b.subarray(0, cut))) this.ok = false;
    this.carry = Buffer.from(b.subarray(cut));
  }

  /** True when every byte pushed is valid UTF-8. */
  end(): boolean {
    if (this.ok && this.carry.length) this.ok = isUtf8(this.carry);
    this.carry = Buffer.alloc(0);
    return this.ok;
  }
}

/** Where the last, possibly incomplete, UTF-8 sequence of `b` starts (b.length when it ends on a whole character). */
export function completeUpTo(b: Buffer): number {
  for (let i = b.length - 1; i >= 0 && i >= b.length - 4; i--) {
    const c = b[i]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return b.length - i < need ? i : b.length;
  }
  return b.length;
}

/** Decoded text of a byte stream, a piece per chunk (never splitting a character), without a leading BOM. */
export async function* textOf(bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const d = new StringDecoder('utf8');
  let first = true;
  const out = (s: string): string => {
    if (first && s.length) {
      first = false;
      if (s.charCodeAt(0) === 0xfeff) return s.slice(1);
    }
    return s;
  };
  for await (const c of bytes) {
    const s = out(d.write(c));
    if (s) yield s;
  }
  const s = out(d.end());
  if (s) yield s;
}

/** Passes chunks through, hashing them; `digest()` after the stream ended gives the sha256 of every byte seen. */
export class HashTap {
  private h = createHash('sha256');
  bytes = 0;
  add(c: Uint8Array): void {
    this.h.update(c);
    this.bytes += c.byteLength;
  }
  async *through(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      this.add(c);
      yield c;
    }
  }
  digest(): string {
    return this.h.digest('hex');
  }
}

/** sha256 and size of a file: read whole when `size` (its stat) is at most WHOLE_FILE_BYTES, else as a stream. */
export async function hashFile(abs: string, size = Infinity): Promise<{ sha256: string; bytes: number }> {
  const b = size <= WHOLE_FILE_BYTES ? readSmallFile(abs) : null;
  if (b) return { sha256: sha256Hex(b), bytes: b.length };
  const tap = new HashTap();
  for await (const _ of tap.through(chunksOf(fileSource(abs)))) void _;
  return { sha256: tap.digest(), bytes: tap.bytes };
}
