/** Small file helpers for the state directory: appends and tolerant JSON reads (durable writes: events/io.ts writeFileDurable). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { asDiskFull, writeAll } from '../events/io.js';

/** Appends one line with a single write on an O_APPEND descriptor (whole lines, even with concurrent writers). */
export async function appendLine(file: string, line: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const fh = await fs.open(file, 'a');
    try {
      await writeAll(fh, line.endsWith('\n') ? line : line + '\n', file);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw asDiskFull(e, file);
  }
}

/** Reads and parses a JSON file; undefined when it does not exist. A corrupt file is an error naming it. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); move it aside and re-run`, { cause: e });
  }
}

/** Lines of a JSON-lines file, each parsed; a torn last line (crash mid-write) is skipped, others are errors. */
export async function readJsonLines<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      if (i === lines.length - 1) return; // torn final line without newline: an interrupted append
      throw new Error(`${file}:${i + 1} is not valid JSON (${(e as Error).message})`, { cause: e });
    }
  });
  return out;
}
