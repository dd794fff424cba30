/**
 * Storage is the warehouse's boundary: inside warehouse/, only the local storage adapter touches the file system for
 * the warehouse's own bytes, and one scratch module (warehouse/scratch.ts) for the local files that are not stored
 * bytes: scratch under ObjectStorage.scratchDir (staged CSV, Parquet being encoded, DuckDB's output before putFile,
 * spill directories) and the user's export --out file. So an object-store adapter is one file plus a local scratch
 * directory. A new warehouse file that imports node:fs fails here: give it a call in scratch.ts instead.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { REPO_ROOT as ROOT, tsFiles } from '../helpers/source-files.js';

const ALLOWED: Record<string, string> = {
  'warehouse/storage.ts': 'the local-disk storage adapter',
  'warehouse/scratch.ts': 'local scratch files and directories, and the export --out file (never a stored object)',
};

/** Every way a module reaches the file system module: static and type imports, re-exports, import(), require(). */
const FS_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](?:node:)?fs(?:\/promises)?['"]/m;

function fsUsers(files: readonly string[]): string[] {
  return files.filter((f) => FS_IMPORT.test(readFileSync(path.join(ROOT, f), 'utf8')));
}

describe('storage is the boundary', () => {
  it('inside warehouse/ only the storage adapter and the scratch module import node:fs', () => {
    expect(fsUsers(tsFiles('warehouse')).filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it('the allow list names only files that exist and import node:fs (it cannot outlive its reason)', () => {
    expect(fsUsers(Object.keys(ALLOWED)).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('the check sees every form of importing node:fs (so a new warehouse file cannot slip past it)', () => {
    for (const src of [
      "import { open } from 'node:fs/promises';",
      'import fs from "fs";',
      "import * as fs from 'node:fs';",
      "import type { Stats } from 'node:fs';",
      "export { rm } from 'node:fs/promises';",
      "const fs = await import('node:fs');",
      "const fs = require('fs');",
      "import 'node:fs';",
    ]) expect(FS_IMPORT.test(src), src).toBe(true);
    for (const src of ["import { x } from './fs.js';", "import { fsyncDir } from '../events/io.js';", "import { Readable } from 'node:stream';"]) expect(FS_IMPORT.test(src), src).toBe(false);
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
