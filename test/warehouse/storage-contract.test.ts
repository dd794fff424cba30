/**
 * The storage seam's contract (warehouse/storage.ts, ObjectStorage): every adapter runs this same suite, so
 * a fake cannot drift from the real thing. Today: the local disk and the in-memory object store.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStorage, type ObjectStorage } from '../../warehouse/storage.js';
import { MemoryStorage } from '../helpers/memory-storage.js';
import { ensureBuilt, runChild } from './child.js';

interface Subject {
  storage: ObjectStorage;
  /** A second adapter instance over the same store (what another process, or the next run, opens). */
  reopen(): ObjectStorage;
  cleanup(): void;
}

const scratchRoot = mkdtempSync(path.join(os.tmpdir(), 'bm-storage-contract-'));
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }));

const ADAPTERS: [string, () => Subject][] = [
  [
    'local disk',
    () => {
      const root = mkdtempSync(path.join(scratchRoot, 'local-'));
      return { storage: new LocalStorage(root), reopen: () => new LocalStorage(root), cleanup: () => rmSync(root, { recursive: true, force: true }) };
    },
  ],
  [
    'memory (object-store shaped)',
    () => {
      const bucket = new Map<string, Uint8Array>();
      const s = new MemoryStorage(bucket);
      return { storage: s, reopen: () => new MemoryStorage(bucket), cleanup: () => s.dispose() };
    },
  ],
];

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

for (const [name, make] of ADAPTERS) {
  describe(`storage contract: ${name}`, () => {
    let sub: Subject;
    let s: ObjectStorage;
    beforeAll(() => {
      sub = make();
      s = sub.storage;
    });
    afterAll(() => sub.cleanup());

    it('reads back exactly what was written (bytes and UTF-8 text); a missing object reads as null', async () => {
      expect(await s.read('r/missing.bin')).toBeNull();
      expect(await s.readText('r/missing.txt')).toBeNull();
      expect(await s.exists('r/missing.bin')).toBe(false);
      const bin = Uint8Array.from([0, 255, 1, 0, 128, 10, 13]);
      await s.writeDurable('r/a.bin', bin);
      expect(Buffer.from((await s.read('r/a.bin'))!).equals(Buffer.from(bin))).toBe(true);
      await s.writeDurable('r/b.txt', 'Zürich € 🧾\n');
      expect(await s.readText('r/b.txt')).toBe('Zürich € 🧾\n');
      expect(await s.size('r/b.txt')).toBe(Buffer.byteLength('Zürich € 🧾\n'));
      expect(await s.exists('r/b.txt')).toBe(true);
    });

    it('writeDurable replaces atomically: concurrent readers see a whole old or a whole new object, never a part', async () => {
      const versions = Array.from({ length: 8 }, (_, i) => bytesOf(512 * 1024, i));
      await s.writeDurable('atomic/obj', versions[0]!);
      const seen: Uint8Array[] = [];
      await Promise.all([
        (async () => {
          for (const v of versions.slice(1)) await s.writeDurable('atomic/obj', v);
        })(),
        (async () => {
          for (let i = 0; i < 24; i++) seen.push((await s.read('atomic/obj'))!);
        })(),
      ]);
      for (const got of seen) expect(versions.some((v) => Buffer.from(v).equals(Buffer.from(got)))).toBe(true);
      expect(Buffer.from((await s.read('atomic/obj'))!).equals(Buffer.from(versions.at(-1)!))).toBe(true);
    });

    it('createExclusive is an atomic create-if-absent: of racing callers exactly one wins, and its content stays', async () => {
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => s.createExclusive('log/0000000001.json', JSON.stringify({ writer: i, pad: 'x'.repeat(10_000) }))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(JSON.parse((await s.readText('log/0000000001.json'))!).writer).toBe(winner);
      expect(await s.createExclusive('log/0000000001.json', '{"late":true}')).toBe(false);
      expect(JSON.parse((await s.readText('log/0000000001.json'))!).writer).toBe(winner);
      expect(await s.list('log')).toEqual(['0000000001.json']);
    });

    it('lists the names directly under a prefix, sorted, with deeper prefixes once and no temporary names', async () => {
      for (const k of ['ls/b.json', 'ls/a.json', 'ls/sub/x', 'ls/sub/y/z', 'ls/c', 'lsx/other']) await s.writeDurable(k, k);
      expect(await s.list('ls')).toEqual(['a.json', 'b.json', 'c', 'sub']);
      expect(await s.list('ls/sub')).toEqual(['x', 'y']);
      expect(await s.list('nothing/here')).toEqual([]);
    });

    it('removeFile deletes one object (absent is fine); removeTree deletes a prefix and nothing beside it', async () => {
      for (const k of ['rm/a/1', 'rm/a/2/3', 'rm/ab/4', 'rm/a.txt']) await s.writeDurable(k, k);
      await s.removeFile('rm/a.txt');
      await s.removeFile('rm/a.txt');
      expect(await s.exists('rm/a.txt')).toBe(false);
      await s.removeTree('rm/a');
      expect(await s.read('rm/a/1')).toBeNull();
      expect(await s.read('rm/a/2/3')).toBeNull();
      expect(await s.readText('rm/ab/4')).toBe('rm/ab/4');
      expect(await s.list('rm')).toEqual(['ab']);
      await s.removeTree('rm/never-was');
    });

    it('putFile stores a local scratch file (how DuckDB output enters the store); localFile hands bytes back as a local path', async () => {
      const dir = await s.scratchDir('tmp/c1');
      const scratch = path.join(dir, 'duck-output.parquet');
      const data = bytesOf(300_000, 3);
      writeFileSync(scratch, data);
      await s.putFile('blobs/c1/fact/part-0.parquet', scratch);
      expect(existsSync(scratch)).toBe(false);
      expect(await s.size('blobs/c1/fact/part-0.parquet')).toBe(data.length);
      const local = await s.localFile('blobs/c1/fact/part-0.parquet');
      expect(readFileSync(local).equals(Buffer.from(data))).toBe(true);
      writeFileSync(path.join(dir, 'spill.tmp'), 'x');
      await s.removeTree('tmp/c1');
      expect(existsSync(dir)).toBe(false);
      expect(await s.exists('blobs/c1/fact/part-0.parquet')).toBe(true);
    });

    it("the lock's needs: create-if-absent races between instances (processes) have one winner; replace and delete of a created object; a deleted name can be created again", async () => {
      const others = Array.from({ length: 6 }, () => sub.reopen());
      const won = await Promise.all(others.map((o, i) => o.createExclusive('locks/writer/0000000001.lease', JSON.stringify({ owner: i }))));
      expect(won.filter(Boolean)).toHaveLength(1);
      const owner = won.indexOf(true);
      // the holder renews (replaces) its lease; every instance reads the new content
      await others[owner]!.writeDurable('locks/writer/0000000001.lease', JSON.stringify({ owner, renewed: true }));
      for (const o of others) expect(JSON.parse((await o.readText('locks/writer/0000000001.lease'))!)).toEqual({ owner, renewed: true });
      // replacing never turns a create-if-absent into a success
      expect(await s.createExclusive('locks/writer/0000000001.lease', '{}')).toBe(false);
      expect(await s.createExclusive('locks/writer/0000000002.lease', '{"owner":"next"}')).toBe(true);
      expect(await s.list('locks/writer')).toEqual(['0000000001.lease', '0000000002.lease']);
      await others[3]!.removeFile('locks/writer/0000000001.lease');
      expect(await s.list('locks/writer')).toEqual(['0000000002.lease']);
      expect(await s.read('locks/writer/0000000001.lease')).toBeNull();
      expect(await s.createExclusive('locks/writer/0000000001.lease', '{"again":true}')).toBe(true);
      await s.removeTree('locks');
      expect(await s.list('locks')).toEqual([]);
      expect(await s.list('')).not.toContain('locks');
    });

    it('what was written is there for a new adapter instance over the same store', async () => {
      await s.writeDurable('durable/x', 'x1');
      expect(await s.createExclusive('durable/log', 'l1')).toBe(true);
      const other = sub.reopen();
      expect(await other.readText('durable/x')).toBe('x1');
      expect(await other.readText('durable/log')).toBe('l1');
      expect(await other.createExclusive('durable/log', 'l2')).toBe(false);
      expect(await other.list('durable')).toEqual(['log', 'x']);
    });
  });
}

describe('storage contract, local disk: durable when the call returns', () => {
  beforeAll(() => ensureBuilt());
  it('a process SIGKILLed right after writeDurable and createExclusive return leaves both objects whole', async () => {
    const root = mkdtempSync(path.join(scratchRoot, 'kill-'));
    const r = await runChild(['put-and-die', root]);
    expect(r.signal).toBe('SIGKILL');
    const s = new LocalStorage(root);
    expect(Buffer.from((await s.read('kill/blob.bin'))!).equals(Buffer.from(bytesOf(1 << 20, 9)))).toBe(true);
    expect(await s.readText('kill/log.json')).toBe('{"version":1}');
    expect(await s.list('kill')).toEqual(['blob.bin', 'log.json']);
  });
});
