/**
 * Writing the warehouse's data files into a commit's blob directory: fact files (with per-file control
 * totals and min/max event_ts computed while streaming) and small tables (quarantine, dimension snapshots).
 */
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { open } from 'node:fs/promises';
import { arrowSchema, rowsBlock, type Block, type CellValue, type ColumnSpec } from './columns.js';
import type { WarehouseCore, Tx } from './core.js';
import { writeParquetFile } from './parquet.js';
import { FACT_COLUMNS, microsToIso } from './schema.js';
import { TotalsAccumulator, type FileEntry } from './state.js';

export interface FactFileOptions {
  rowGroupRows: number;
  /** Start a new file once this many bytes are written (null: one file). */
  targetBytes: number | null;
  /**
   * Start a new file after this many rows. parquet-wasm hands encoded bytes over in large pieces, so the byte
   * count lags; compaction derives this from the partition's known bytes per row.
   */
  rowsPerFile?: number;
  sorted: boolean;
  group: string | null;
  /** File name prefix inside the partition. */
  prefix: string;
}

/** Streams sorted (or unsorted) fact rows of one partition into one or more files. */
export async function writeFactFiles(core: WarehouseCore, tx: Tx, table: string, dir: string, source: AsyncIterator<Block>, o: FactFileOptions): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  await core.storage.mkdirp(`${tx.blobDir}/${table}/${dir}`);
  for (let n = 0; ; n++) {
    const name = `${o.prefix}-${tx.commitId}-${String(n).padStart(4, '0')}.parquet`;
    const blob = `${tx.blobDir}/${table}/${dir}/${name}`;
    const totals = new TotalsAccumulator();
    let minTs: bigint | null = null;
    let maxTs: bigint | null = null;
    const res = await writeParquetFile(core.storage.abs(blob), FACT_COLUMNS, source, {
      rowGroupRows: o.rowGroupRows,
      shouldRoll: o.targetBytes === null ? undefined : (bytes, rows) => bytes >= o.targetBytes! || (o.rowsPerFile !== undefined && rows >= o.rowsPerFile),
      onBlock: (b) => {
        const src = b.column('billing_source');
        const typ = b.column('event_type');
        const cur = b.column('currency');
        const amt = b.column('amount');
        const ts = b.column('event_ts');
        for (let i = 0; i < b.length; i++) {
          totals.add(src[i] as string, typ[i] as string, cur[i] as string, 1, amt[i] as bigint);
          const t = ts[i] as bigint;
          if (minTs === null || t < minTs) minTs = t;
          if (maxTs === null || t > maxTs) maxTs = t;
        }
      },
    });
    if (res.rows === 0) {
      await core.storage.removeFile(blob);
      break;
    }
    out.push({
      name,
      blob,
      rows: res.rows,
      bytes: await core.storage.size(blob),
      minTs: minTs === null ? null : microsToIso(minTs),
      maxTs: maxTs === null ? null : microsToIso(maxTs),
      totals: totals.result(),
      sorted: o.sorted,
      group: o.group,
    });
    if (res.exhausted) break;
  }
  return out;
}

/** Writes a whole small table (quarantine batch, dimension snapshot) to one file; zero rows give a schema-only file. */
export async function writeSmallTable(absPath: string, specs: readonly ColumnSpec[], rows: readonly Record<string, CellValue>[], rowGroupRows: number): Promise<number> {
  if (rows.length === 0) {
    const empty = new arrow.Table(arrowSchema(specs));
    const wasmTable = pw.Table.fromIPCStream(arrow.tableToIPC(empty, 'stream'));
    const bytes = pw.writeParquet(wasmTable, new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).build());
    // writeParquet consumed wasmTable
    const fh = await open(absPath, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return 0;
  }
  async function* gen(): AsyncGenerator<Block> {
    for (let i = 0; i < rows.length; i += rowGroupRows) yield rowsBlock(rows.slice(i, i + rowGroupRows), (r, c) => r[c] ?? null);
  }
  const res = await writeParquetFile(absPath, specs, gen(), { rowGroupRows });
  return res.rows;
}
