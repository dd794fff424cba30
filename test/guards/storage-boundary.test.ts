/**
 * Storage is the warehouse's boundary: inside warehouse/, only the storage adapter touches the file system for the
 * warehouse's own bytes. The other files allowed to import node:fs handle process-local scratch files only (what
 * ObjectStorage.scratchDir hands out: staging CSV, Parquet being encoded, DuckDB spill directories), which the seam
 * then stores with putFile, or a file the user asked for outside the warehouse (export --out).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { REPO_ROOT as ROOT, tsFiles } from '../helpers/source-files.js';

const ALLOWED: Record<string, string> = {
  'warehouse/storage.ts': 'the local-disk storage adapter',
  'warehouse/lines.ts': 'writes staged CSV into the commit scratch directory (local by contract)',
  'warehouse/stage.ts': 'removes an empty DuckDB output from the scratch directory',
  'warehouse/parquet.ts': 'encodes Parquet into a local scratch file that putFile stores',
  'warehouse/duck.ts': "DuckDB's spill directories under the local scratch directory",
  'warehouse/export.ts': "writes the user's --out file (outside the warehouse) and reads it back for its sha256",
  'warehouse/bench.ts': 'the benchmark creates and removes its own temporary warehouse',
};

describe('storage is the boundary', () => {
  it('inside warehouse/ only the storage adapter (and the scratch-file helpers named here) import node:fs', () => {
    const users = tsFiles('warehouse').filter((f) => /from ['"](node:)?fs(\/promises)?['"]/.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(users.filter((f) => !(f in ALLOWED))).toEqual([]);
  });
});

describe('the warehouse is reached through its API', () => {
  it("no code outside warehouse/ reaches into a table's core (its storage, state or layout) instead of calling FactTable", () => {
    const reach = /\.core\.(storage|state|root|log)\b|\bcore\.storage\b/;
    const offenders = ['jobs', 'billing', 'connectors', 'tools', 'config', 'events', 'partitions']
      .flatMap((d) => tsFiles(d))
      .filter((f) => reach.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
