/**
 * The one durable-write helper (events/io.ts): every byte, fsync, rename into place, fsync of the directory;
 * nothing half-written is ever visible, a failure leaves no temporary file, a full disk names the file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskFullError } from '../../events/errors.js';
import { replaceFile, writeFileDurable, writeTempBeside } from '../../events/io.js';
import { fillUntil, mountTmpfs } from '../helpers/tmpfs.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bm-durable-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileDurable', () => {
  it('creates the directories, writes every byte, replaces the old content, and leaves no temporary file', async () => {
    const file = path.join(root, 'a', 'b', 'state.json');
    await writeFileDurable(file, 'first');
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a);
    await writeFileDurable(file, big);
    expect(readFileSync(file).equals(big)).toBe(true);
    expect(readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it('without fsync (lock leases) it is still atomic: whole content, no temporary file left', async () => {
    const file = path.join(root, 'locks', 'job', '0000000001.lease');
    await writeFileDurable(file, '{"fence":1}', { fsync: false });
    await writeFileDurable(file, '{"fence":1,"renewed":true}', { fsync: false });
    expect(readFileSync(file, 'utf8')).toBe('{"fence":1,"renewed":true}');
    expect(readdirSync(path.dirname(file))).toEqual(['0000000001.lease']);
  });

  it('gives the file the mode asked for, whatever the umask', async () => {
    const file = path.join(root, 'secret.json');
    const old = process.umask(0o000);
    try {
      await writeFileDurable(file, '{"token":"x"}', { mode: 0o600 });
    } finally {
      process.umask(old);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const tmp = await writeTempBeside(path.join(root, 'other'), 'x', { mode: 0o640 });
    expect(statSync(tmp).mode & 0o777).toBe(0o640);
    expect(path.basename(tmp)).toMatch(/^\.tmp-other-/); // hidden: pick-up and the storage seam never list it
  });
});

describe('replaceFile', () => {
  it('a failing writer leaves the old content and no temporary file', async () => {
    const file = path.join(root, 'r', 'export.csv');
    await writeFileDurable(file, 'old\n');
    await expect(
      replaceFile(file, async (tmp) => {
        writeFileSync(tmp, 'half of the ne');
        throw new Error('the query failed');
      }),
    ).rejects.toThrow('the query failed');
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(readdirSync(path.dirname(file))).toEqual(['export.csv']);
    await replaceFile(file, async (tmp) => writeFileSync(tmp, 'new\n'));
    expect(readFileSync(file, 'utf8')).toBe('new\n');
  });
});

describe('a full disk', () => {
  it('is a DiskFullError naming the file, and the old content and the space come back', async (ctx) => {
    const m = mountTmpfs(4 * 1024 * 1024, 'durable write on a full disk');
    if ('skip' in m) return ctx.skip();
    try {
      const file = path.join(m.dir, 'runs', 'record.json');
      await writeFileDurable(file, 'old');
      fillUntil(m.dir, 64 * 1024);
      const err = await writeFileDurable(file, Buffer.alloc(1024 * 1024, 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DiskFullError);
      expect((err as DiskFullError).message).toContain(file);
      expect(readFileSync(file, 'utf8')).toBe('old');
      expect(readdirSync(path.dirname(file))).toEqual(['record.json']);
    } finally {
      m.unmount();
    }
  });
});
