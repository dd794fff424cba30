/**
 * One durable-write helper (events/io.ts): no other module fsyncs, renames or links files into place by itself.
 * The storage adapter (warehouse/storage.ts) is the warehouse's one file-system user for that.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { REPO_ROOT as ROOT, tsFiles } from '../helpers/source-files.js';
const PRODUCT_DIRS = ['events', 'partitions', 'config', 'connectors', 'warehouse', 'jobs', 'billing', 'tools'];

/** Files allowed to use the primitives, each with the reason. */
const ALLOWED: Record<string, string> = {
  'events/io.ts': 'the durable-write helper itself',
  'warehouse/storage.ts': 'the local storage adapter (create-if-absent by link, the Hive view of links and symlinks)',
  'jobs/demo.ts': 'moves landing files (a rename of complete files, no write)',
  'tools/generator/late.ts': 'the sample generator moves complete files to simulate late arrival',
};

const PRIMITIVE = /\.sync\(\)|(?:\bfs\.|(?<![.\w]))(rename|link|symlink|fsync)(Sync)?\(/;

describe('one durable-write helper', () => {
  it('only events/io.ts and the storage adapter fsync, rename or link files into place', () => {
    const offenders = PRODUCT_DIRS.flatMap(tsFiles)
      .filter((f) => !(f in ALLOWED))
      .filter((f) => readFileSync(path.join(ROOT, f), 'utf8').split('\n').some((line) => PRIMITIVE.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//')));
    expect(offenders).toEqual([]);
  });
});
