/**
 * One durable-write helper (events/io.ts): no other module fsyncs, renames or links files into place by itself.
 * The storage adapter (warehouse/storage.ts) is the warehouse's one file-system user for that.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const PRODUCT_DIRS = ['events', 'partitions', 'config', 'connectors', 'warehouse', 'jobs', 'tools'];

/** Files allowed to use the primitives, each with the reason. */
const ALLOWED: Record<string, string> = {
  'events/io.ts': 'the durable-write helper itself',
  'warehouse/storage.ts': 'the local storage adapter (create-if-absent by link, the Hive view of links and symlinks)',
  'jobs/runstore.ts': 'a run record rewritten in place within its own padding when the disk is full',
  'jobs/demo.ts': 'moves landing files (a rename of complete files, no write)',
  'connectors/generator/late.ts': 'the sample generator moves complete files to simulate late arrival',
  'tools/generator/late.ts': 'the sample generator moves complete files to simulate late arrival',
};
/** Being folded into the warehouse's tables (issue 12, billing part); remove once jobs/billing/ writes through the warehouse. */
const PENDING = /^jobs\/billing\//;

const PRIMITIVE = /\.sync\(\)|(?:\bfs\.|(?<![.\w]))(rename|link|symlink|fsync)(Sync)?\(/;

function tsFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(ROOT, dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []; // the folder does not exist (yet)
    throw e;
  }
  return names.flatMap((n) => {
    const rel = `${dir}/${n}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) return tsFiles(rel);
    return n.endsWith('.ts') ? [rel] : [];
  });
}

describe('one durable-write helper', () => {
  it('only events/io.ts and the storage adapter fsync, rename or link files into place', () => {
    const offenders = PRODUCT_DIRS.flatMap(tsFiles)
      .filter((f) => !(f in ALLOWED) && !PENDING.test(f))
      .filter((f) => readFileSync(path.join(ROOT, f), 'utf8').split('\n').some((line) => PRIMITIVE.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//')));
    expect(offenders).toEqual([]);
  });
});
