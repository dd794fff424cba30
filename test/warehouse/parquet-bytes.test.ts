/** The one Parquet writer (warehouse/parquet.ts) also encodes small tables in memory, exact for every kind, read by DuckDB. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../warehouse/columns.js';
import { parquetBytes } from '../../warehouse/parquet.js';
import { textToUnscaled } from '../../warehouse/state.js';
import { duckQuery } from './duck-read.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-parquet-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPECS: ColumnSpec[] = [
  { name: 'record_id', kind: 'utf8', nullable: false },
  { name: 'period_start', kind: 'date', nullable: false },
  { name: 'event_count', kind: 'int64', nullable: false },
  { name: 'late', kind: 'bool', nullable: false },
  { name: 'closed_at', kind: 'timestamp_us_utc', nullable: true },
  { name: 'amount_sum', kind: 'decimal38_9', nullable: false },
  { name: 'mrr_delta_sum', kind: 'decimal38_9', nullable: true },
];

describe('parquetBytes', () => {
  it('encodes rows exactly (DECIMAL(38,9) at its limits, dates, int64, booleans, UTC µs, nulls); DuckDB reads them back', async () => {
    const rows = [
      { record_id: 'r1', period_start: '2024-02-29', event_count: 9_007_199_254_740_993n, late: true, closed_at: 1_704_067_200_000_001n, amount_sum: textToUnscaled('99999999999999999999999999999.999999999'), mrr_delta_sum: null },
      { record_id: "o'neil", period_start: '1970-01-01', event_count: -1n, late: false, closed_at: null, amount_sum: textToUnscaled('-0.000000001'), mrr_delta_sum: textToUnscaled('12.5') },
    ];
    const file = path.join(dir, 'records.parquet');
    writeFileSync(file, parquetBytes(SPECS, rows));
    const got = await duckQuery(
      `SELECT record_id, period_start::VARCHAR, event_count::VARCHAR, late, epoch_us(closed_at)::VARCHAR, amount_sum::VARCHAR, mrr_delta_sum::VARCHAR, typeof(amount_sum) FROM read_parquet('${file}') ORDER BY event_count DESC`,
    );
    expect(got).toEqual([
      ['r1', '2024-02-29', '9007199254740993', true, '1704067200000001', '99999999999999999999999999999.999999999', null, 'DECIMAL(38,9)'],
      ["o'neil", '1970-01-01', '-1', false, null, '-0.000000001', '12.500000000', 'DECIMAL(38,9)'],
    ]);
  });

  it('zero rows give a schema-only file with the declared types', async () => {
    const file = path.join(dir, 'empty.parquet');
    writeFileSync(file, parquetBytes(SPECS, []));
    const cols = await duckQuery(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
    expect(cols.map((c) => c[1])).toEqual(['VARCHAR', 'DATE', 'BIGINT', 'BOOLEAN', 'TIMESTAMP WITH TIME ZONE', 'DECIMAL(38,9)', 'DECIMAL(38,9)']);
    expect(await duckQuery(`SELECT count(*)::INTEGER FROM read_parquet('${file}')`)).toEqual([[0]]);
  });
});
