/**
 * Streaming Parquet writer: Arrow record batches built from plain rows, encoded by parquet-wasm one row group
 * at a time, each encoded piece written with FileHandle.write, wasm objects freed as soon as they are handed
 * over. Memory stays at about one row group whatever the file size.
 */
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { writeAll } from '../events/io.js';
import { createEmptyLocalFile, createLocalFile } from './scratch.js';
import { arrowSchema, buildBatch, rowsBlock, type Block, type CellValue, type ColumnSpec } from './columns.js';

export interface WriteOptions {
  /** Rows per row group (one Arrow batch per row group). */
  rowGroupRows: number;
  /** Asked before each row group: stop this file here (the iterator keeps its remaining rows). */
  shouldRoll?: (bytesWritten: number, rowsWritten: number) => boolean;
  /** Sees every row group's block, in order (totals, min/max). */
  onBlock?: (block: Block) => void;
  /** Page compression (default zstd; scratch files use snappy: faster, read once). */
  compression?: 'zstd' | 'snappy';
}

export interface WriteResult {
  rows: number;
  bytes: number;
  /** True when the source iterator is used up. */
  exhausted: boolean;
}

/** Writer properties: zstd, statistics on (row-group pruning by source and type), row group size. */
function writerProperties(rowGroupRows: number, compression: WriteOptions['compression']): pw.WriterProperties {
  return new pw.WriterPropertiesBuilder()
    .setCompression(compression === 'snappy' ? pw.Compression.SNAPPY : pw.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .setCreatedBy('billing-mart (parquet-wasm)')
    .build();
}

/**
 * A whole small table (billing records, a dimension snapshot, a schema-only file) encoded in memory as Parquet
 * bytes (ZSTD), for ObjectStorage.writeDurable. Values as CellValue (decimal: unscaled bigint, exact); zero rows
 * give a schema-only file.
 */
export function parquetBytes(specs: readonly ColumnSpec[], rows: readonly Record<string, CellValue>[], rowGroupRows = 65_536): Uint8Array {
  const table = rows.length === 0 ? new arrow.Table(arrowSchema(specs)) : new arrow.Table([buildBatch(specs, rowsBlock(rows, (r, c) => r[c] ?? null))]);
  // writeParquet consumes the wasm table
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), writerProperties(rowGroupRows, 'zstd'));
}

/** The next block holding rows, or undefined when the source is used up (empty blocks are skipped). */
async function nextNonEmpty(source: AsyncIterator<Block>): Promise<Block | undefined> {
  for (;;) {
    const next = await source.next();
    if (next.done) return undefined;
    if (next.value.length > 0) return next.value;
  }
}

/**
 * Writes rows from `source` (chunks of at most rowGroupRows) to `path` (created, must not exist) and closes
 * it; the caller makes it durable (ObjectStorage.putFile, or events/io.ts replaceFile, fsync it). The iterator is not closed when the file rolls, so the caller can continue it
 * into the next file.
 */
export async function writeParquetFile(path: string, specs: readonly ColumnSpec[], rowSource: AsyncIterator<Block>, opts: WriteOptions): Promise<WriteResult> {
  // parquet-wasm cannot encode a stream with no batches ("Dyn casting error"): look at the first non-empty block
  // first, and leave an empty source as an empty (0-byte) file the caller discards.
  let pending = await nextNonEmpty(rowSource);
  if (!pending) {
    await createEmptyLocalFile(path);
    return { rows: 0, bytes: 0, exhausted: true };
  }
  const fh = await createLocalFile(path);
  let rows = 0;
  let bytes = 0;
  let exhausted = false;
  let failure: unknown;
  try {
    const input = new ReadableStream<pw.RecordBatch>({
      async pull(ctrl) {
        try {
          if (rows > 0 && opts.shouldRoll?.(bytes, rows)) return ctrl.close();
          const chunk = pending ?? (await nextNonEmpty(rowSource));
          pending = undefined;
          if (!chunk) {
            exhausted = true;
            return ctrl.close();
          }
          opts.onBlock?.(chunk);
          const batch = buildBatch(specs, chunk);
          rows += chunk.length;
          const wasmTable = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([batch]), 'stream'));
          const wasmBatch = wasmTable.recordBatch(0);
          wasmTable.free();
          if (!wasmBatch) throw new Error(`internal: parquet-wasm lost a batch of ${chunk.length} rows writing ${path}`);
          ctrl.enqueue(wasmBatch);
        } catch (e) {
          failure = e;
          ctrl.error(e);
        }
      },
    }, { highWaterMark: 0 });
    const props = writerProperties(opts.rowGroupRows, opts.compression);
    const output = await pw.transformParquetStream(input, props);
    const reader = output.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const buf = value as Uint8Array;
      await writeAll(fh, buf, path);
      bytes += buf.length;
    }
    if (failure) throw failure;
  } catch (e) {
    throw new Error(`writing Parquet file ${path} failed after ${rows} rows: ${(e as Error)?.message ?? String(e)}`, { cause: failure ?? e });
  } finally {
    await fh.close();
  }
  return { rows, bytes, exhausted };
}
