/**
 * A small Parquet writer for the billing tables (apache-arrow + parquet-wasm). Money columns are
 * DECIMAL(38,9) built from exact decimal text (unscaled 128-bit integers), never through floats.
 */
import { Bool, DateDay, Decimal as ArrowDecimal, Int64, Table, Utf8, makeData, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { AMOUNT_PRECISION, AMOUNT_SCALE, Decimal } from '../../events/money.js';
import { dayStartMs } from '../../partitions/index.js';

export type Column =
  | { kind: 'utf8'; values: (string | null)[] }
  | { kind: 'bool'; values: boolean[] }
  | { kind: 'int64'; values: bigint[] }
  | { kind: 'date'; values: string[] }
  | { kind: 'decimal'; values: (string | null)[] };

/** Exact decimal text → DECIMAL(38,9) unscaled integer; refuses anything that would need rounding. */
export function toUnscaled(text: string): bigint {
  const d = new Decimal(text);
  if (!d.isFinite() || d.decimalPlaces() > AMOUNT_SCALE) throw new Error(`amount ${text} does not fit DECIMAL(${AMOUNT_PRECISION},${AMOUNT_SCALE}) exactly`);
  const u = BigInt(d.times(new Decimal(10).pow(AMOUNT_SCALE)).toFixed(0));
  if (u >= 10n ** BigInt(AMOUNT_PRECISION) || u <= -(10n ** BigInt(AMOUNT_PRECISION))) throw new Error(`amount ${text} exceeds DECIMAL(${AMOUNT_PRECISION},${AMOUNT_SCALE})`);
  return u;
}

function decimalVector(values: (string | null)[]): Vector {
  const n = values.length;
  const data = new Uint32Array(n * 4);
  const valid = new Uint8Array(Math.ceil(n / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) {
      nullCount++;
      return;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    let x = BigInt.asUintN(128, toUnscaled(v));
    for (let w = 0; w < 4; w++) {
      data[i * 4 + w] = Number(x & 0xffffffffn);
      x >>= 32n;
    }
  });
  const type = new ArrowDecimal(AMOUNT_SCALE, AMOUNT_PRECISION, 128);
  return makeVector(makeData({ type, length: n, nullCount, data, nullBitmap: nullCount ? valid : undefined }));
}

function dateVector(values: string[]): Vector {
  const data = Int32Array.from(values, (d) => dayStartMs(d) / 86_400_000);
  return makeVector(makeData({ type: new DateDay(), length: values.length, nullCount: 0, data }));
}

function toVector(c: Column): Vector {
  switch (c.kind) {
    case 'utf8':
      return vectorFromArray(c.values, new Utf8());
    case 'bool':
      return vectorFromArray(c.values, new Bool());
    case 'int64':
      return vectorFromArray(c.values, new Int64());
    case 'date':
      return dateVector(c.values);
    case 'decimal':
      return decimalVector(c.values);
  }
}

/** Serialises the columns (all the same length) to Parquet bytes (ZSTD). */
export function toParquet(columns: Record<string, Column>): Uint8Array {
  const table = new Table(Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, toVector(c)])));
  const ipc = tableToIPC(table, 'stream');
  return writeParquet(WasmTable.fromIPCStream(ipc), new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build());
}
