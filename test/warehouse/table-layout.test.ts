/**
 * Every table the warehouse writes is read by Hive-discovering readers (pyarrow's read_table(dir), pandas,
 * Spark, Polars, DuckDB's hive_partitioning): a folder key that is also a column in the files makes them fail to
 * merge the two (pyarrow infers the folder value as a string, Spark refuses duplicate columns). So no table's
 * folder key may be one of its file columns.
 */
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../warehouse/index.js';
import { partitionDir } from '../../warehouse/tables.js';

describe('declared tables: the Hive folder key is never a file column', () => {
  for (const def of TABLES.values()) {
    it(`${def.name}: folder key ${def.dirKey ?? def.partitionKey}= is not a column of its files`, () => {
      const key = def.dirKey ?? def.partitionKey;
      expect(def.columns.map((c) => c.name)).not.toContain(key);
      expect(partitionDir(def, 'x1').startsWith(`${key}=`)).toBe(true);
    });
  }
});
