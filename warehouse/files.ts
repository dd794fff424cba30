/**
 * Writing small tables (quarantine batches, dimension snapshots) with parquet-wasm. Fact files are written
 * by DuckDB (stage.ts, compact.ts).
 */
import path from 'node:path';
import { writeFileDurable } from '../events/io.js';
import { rowsBlock, type Block, type CellValue, type ColumnSpec } from './columns.js';
import { parquetBytes, writeParquetFile } from './parquet.js';
import type { ObjectStorage } from './storage.js';

/**
 * Writes a whole small table (quarantine batch, dimension snapshot) to one file; zero rows give a schema-only file.
 * `constants`: columns with one value for every row, written without a copy of each row (an ingest's MRR state
 * rows and their commit_version: a copy of each row doubled the main thread's heap at the publish of a big day).
 */
export async function writeSmallTable(absPath: string, specs: readonly ColumnSpec[], rows: readonly Record<string, CellValue>[], rowGroupRows: number, constants: Readonly<Record<string, CellValue>> = {}): Promise<number> {
  if (rows.length === 0) {
    await writeFileDurable(absPath, parquetBytes(specs, [], rowGroupRows));
    return 0;
  }
  async function* gen(): AsyncGenerator<Block> {
    const cell = (r: Record<string, CellValue>, c: string) => (Object.hasOwn(constants, c) ? constants[c]! : (r[c] ?? null));
    for (let i = 0; i < rows.length; i += rowGroupRows) yield rowsBlock(rows.slice(i, i + rowGroupRows), cell);
  }
  const res = await writeParquetFile(absPath, specs, gen(), { rowGroupRows });
  return res.rows;
}

/**
 * Writes a small table into the local scratch directory of `scratchKey` (a commit's tmpDir), then stores it as
 * `blob` through the storage seam. Returns its rows and stored size.
 */
export async function putSmallTable(storage: ObjectStorage, scratchKey: string, blob: string, specs: readonly ColumnSpec[], rows: readonly Record<string, CellValue>[], rowGroupRows: number, constants: Readonly<Record<string, CellValue>> = {}): Promise<{ rows: number; bytes: number }> {
  const local = path.join(await storage.scratchDir(scratchKey), path.posix.basename(blob));
  const n = await writeSmallTable(local, specs, rows, rowGroupRows, constants);
  await storage.putFile(blob, local);
  return { rows: n, bytes: await storage.size(blob) };
}
