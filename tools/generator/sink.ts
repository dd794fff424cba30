/**
 * Buffered file writer for generated landing files: CSV (header once), JSON lines, and JSON list pages
 * (`{"list":[...]}`, 100 records a page, pages after the first suffixed `-p2`, `-p3`...). Memory stays bounded
 * by the number of open files times the buffer size, whatever the number of events.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Format } from './model.js';

interface OpenFile {
  /** Path relative to the sink root, without extension. */
  stem: string;
  ext: string;
  format: Format;
  header: string;
  wrap?: (text: string) => string;
  buffer: string[];
  bytes: number;
  started: boolean;
  page: number;
  records: number;
}

const FLUSH_BYTES = 64 * 1024;
export const PAGE_SIZE = 100;

export class FileSink {
  private files = new Map<string, OpenFile>();
  /** Every file written, relative to the root (posix separators). */
  readonly written: string[] = [];

  constructor(readonly root: string) {}

  append(stem: string, ext: string, format: Format, text: string, header = '', wrap?: (t: string) => string): void {
    let f = this.files.get(stem);
    if (!f) {
      f = { stem, ext, format, header, wrap, buffer: [], bytes: 0, started: false, page: 1, records: 0 };
      this.files.set(stem, f);
    }
    f.buffer.push(text);
    f.bytes += text.length + 1;
    f.records++;
    if (format === 'pages' ? f.buffer.length >= PAGE_SIZE : f.bytes >= FLUSH_BYTES) this.flush(f, false);
  }

  private fileName(f: OpenFile): string {
    return f.format === 'pages' && f.page > 1 ? `${f.stem}-p${f.page}.${f.ext}` : `${f.stem}.${f.ext}`;
  }

  private flush(f: OpenFile, last: boolean): void {
    if (f.buffer.length === 0) return;
    const rel = this.fileName(f);
    const abs = path.join(this.root, rel);
    if (!f.started || f.format === 'pages') mkdirSync(path.dirname(abs), { recursive: true });
    if (f.format === 'pages') {
      const more = !last;
      const items = f.buffer.map((t) => (f.wrap ? f.wrap(t) : t));
      const doc = `{"list":[\n${items.join(',\n')}\n]${more ? `,"next_offset":"[\\"${f.page * PAGE_SIZE}\\"]"` : ''}}\n`;
      writeFileSync(abs, doc);
      this.written.push(rel);
      f.page++;
    } else {
      const head = !f.started && f.format === 'csv' ? f.header + '\n' : '';
      if (!f.started) {
        writeFileSync(abs, head + f.buffer.join('\n') + '\n');
        this.written.push(rel);
      } else appendFileSync(abs, f.buffer.join('\n') + '\n');
    }
    f.started = true;
    f.buffer = [];
    f.bytes = 0;
  }

  /** Writes everything still buffered and forgets the open files. */
  close(): void {
    for (const f of this.files.values()) this.flush(f, true);
    this.files.clear();
  }

  /** Number of distinct files open. */
  get openCount(): number {
    return this.files.size;
  }
}
