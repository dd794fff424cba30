/**
 * An ObjectStorage adapter held in memory (a Map as the "bucket"): the second implementation of the
 * storage seam, shaped like an object store (flat keys, prefixes instead of directories, no links). It
 * passes the same contract suite as the local adapter (test/warehouse/storage-contract.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStorage } from '../../warehouse/storage.js';

export class MemoryStorage implements ObjectStorage {
  readonly root: string;
  private readonly cacheDir = path.join(os.tmpdir(), `bm-memory-storage-${process.pid}-${randomBytes(4).toString('hex')}`);

  /** Instances over the same `bucket` see the same objects (a "new connection" to the same store). */
  constructor(readonly bucket: Map<string, Uint8Array> = new Map(), name = 'bucket') {
    this.root = `memory://${name}`;
  }

  private key(rel: string): string {
    const k = rel.replace(/^\/+|\/+$/g, '');
    if (k === '' || k.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`invalid key "${rel}"`);
    return k;
  }

  async read(rel: string): Promise<Uint8Array | null> {
    const v = this.bucket.get(this.key(rel));
    return v ? new Uint8Array(v) : null;
  }

  async readText(rel: string): Promise<string | null> {
    const v = await this.read(rel);
    return v === null ? null : Buffer.from(v).toString('utf8');
  }

  async writeDurable(rel: string, data: string | Uint8Array): Promise<void> {
    this.bucket.set(this.key(rel), typeof data === 'string' ? new Uint8Array(Buffer.from(data, 'utf8')) : new Uint8Array(data));
  }

  async createExclusive(rel: string, data: string): Promise<boolean> {
    const k = this.key(rel);
    if (this.bucket.has(k)) return false;
    this.bucket.set(k, new Uint8Array(Buffer.from(data, 'utf8')));
    return true;
  }

  async putFile(rel: string, localPath: string): Promise<void> {
    const bytes = readFileSync(localPath);
    this.bucket.set(this.key(rel), new Uint8Array(bytes));
    rmSync(localPath, { force: true });
  }

  async localFile(rel: string): Promise<string> {
    const v = this.bucket.get(this.key(rel));
    if (!v) throw new Error(`${this.root}/${rel} does not exist`);
    mkdirSync(this.cacheDir, { recursive: true });
    const p = path.join(this.cacheDir, this.key(rel).replace(/\//g, '__'));
    writeFileSync(p, v);
    return p;
  }

  async scratchDir(rel: string): Promise<string> {
    const p = path.join(this.cacheDir, 'scratch', ...this.key(rel).split('/'));
    mkdirSync(p, { recursive: true });
    return p;
  }

  async list(rel: string): Promise<string[]> {
    const prefix = rel.replace(/^\/+|\/+$/g, '');
    const p = prefix === '' ? '' : `${prefix}/`;
    const names = new Set<string>();
    for (const k of this.bucket.keys()) if (k.startsWith(p)) names.add(k.slice(p.length).split('/')[0]!);
    return [...names].sort();
  }

  async exists(rel: string): Promise<boolean> {
    const k = this.key(rel);
    if (this.bucket.has(k)) return true;
    for (const x of this.bucket.keys()) if (x.startsWith(`${k}/`)) return true;
    return false;
  }

  async size(rel: string): Promise<number> {
    const v = this.bucket.get(this.key(rel));
    if (!v) throw new Error(`${this.root}/${rel} does not exist`);
    return v.byteLength;
  }

  async removeFile(rel: string): Promise<void> {
    this.bucket.delete(this.key(rel));
  }

  async removeTree(rel: string): Promise<void> {
    const k = this.key(rel);
    for (const x of [...this.bucket.keys()]) if (x === k || x.startsWith(`${k}/`)) this.bucket.delete(x);
    rmSync(path.join(this.cacheDir, 'scratch', ...k.split('/')), { recursive: true, force: true });
  }

  /** Removes the local copies handed out by localFile. */
  dispose(): void {
    rmSync(this.cacheDir, { recursive: true, force: true });
  }
}
