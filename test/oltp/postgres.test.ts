import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog, GEN_SOURCES, newAccount } from '../../tools/generator/world.js';
import { accountRow, productRow } from '../../tools/generator/oltp-rows.js';
import { Rng } from '../../tools/generator/rng.js';
import { generate } from '../../tools/generator/index.js';
import { readFileSnapshot, readPgSnapshot, resolvePgTarget, type AccountRow, type ProductRow } from '../../connectors/oltp/index.js';
import { oltpSql } from '../../tools/oltp-write.js';
import { FatalError, RetriableError } from '../../events/errors.js';
import { freePort, startPg, type PgCluster } from '../helpers/pg.js';

let cluster: PgCluster;
const accounts: AccountRow[] = [];
const products: ProductRow[] = [];

beforeAll(async () => {
  cluster = await startPg();
  const rng = new Rng('oltp-test');
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  for (const s of GEN_SOURCES) {
    for (const p of buildCatalog('oltp-test', s)) products.push(productRow(p, t0));
    for (let i = 0; i < 30; i++) accounts.push(accountRow(newAccount(rng, s, t0 + i * 1000, i), t0 + 86_400_000));
  }
  accounts.push({ account_id: "o'brien", billing_source: 'recurly', account_name: "O'Brien, \"Ltd\"", segment: null, country: null, currency: null, created_at: '2024-01-02T03:04:05.123456Z', updated_at: '2024-01-02T03:04:05.123456Z' });
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    for (const chunk of oltpSql(accounts, products)) await client.query(chunk);
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await cluster?.stop();
});

describe('PostgreSQL OLTP connector (real server)', () => {
  it('reads accounts and products as plain rows with UTC text timestamps and exact prices', async () => {
    const snap = await readPgSnapshot({ url: cluster.url });
    expect(snap.accounts).toHaveLength(accounts.length);
    expect(snap.products).toHaveLength(products.length);
    const byId = new Map(snap.accounts.map((a) => [a.account_id, a]));
    for (const a of accounts) expect(byId.get(a.account_id)).toEqual(a);
    const pById = new Map(snap.products.map((p) => [p.product_id, p]));
    for (const p of products) expect(pById.get(p.product_id)).toEqual({ ...p, list_price: p.list_price === null ? null : p.list_price.padEnd(p.list_price.indexOf('.') + 10, '0') }); // numeric(38,9) text
    expect(snap.takenAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(snap.origin).not.toContain(cluster.password);
    expect(snap.origin).toContain(':***@');
  });

  it('takes the credentials from BILLING_MART_PG_URL, then from PG* variables', async () => {
    const viaUrl = await readPgSnapshot({ env: { BILLING_MART_PG_URL: cluster.url } });
    expect(viaUrl.accounts).toHaveLength(accounts.length);
    const env = { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: cluster.user, PGPASSWORD: cluster.password, PGDATABASE: 'postgres' };
    const viaPg = await readPgSnapshot({ env });
    expect(viaPg.products).toHaveLength(products.length);
    expect(viaPg.origin).toBe(`postgres://${cluster.user}:***@127.0.0.1:${cluster.port}/postgres`);
  });

  it('reads both tables in one REPEATABLE READ snapshot', async () => {
    // A writer commits between the two reads of a REPEATABLE READ transaction: the second read must not see it.
    const reader = new pg.Client({ connectionString: cluster.url });
    const writer = new pg.Client({ connectionString: cluster.url });
    await reader.connect();
    await writer.connect();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const before = await reader.query('SELECT count(*)::text AS n FROM products');
      await writer.query("INSERT INTO products VALUES ('p-new','stripe','New','pl','Plan','1.5','USD','month',now())");
      const after = await reader.query('SELECT count(*)::text AS n FROM products');
      await reader.query('COMMIT');
      expect(after.rows[0].n).toBe(before.rows[0].n);
      const snap = await readPgSnapshot({ url: cluster.url });
      expect(snap.products.find((p) => p.product_id === 'p-new')?.list_price).toBe('1.500000000');
    } finally {
      await writer.query("DELETE FROM products WHERE product_id = 'p-new'");
      await reader.end();
      await writer.end();
    }
  });

  it('never shows the password when authentication fails', async () => {
    const wrong = cluster.url.replace(encodeURIComponent(cluster.password), 'WrongPassw0rd');
    const err = await readPgSnapshot({ url: wrong }).then(() => new Error('expected a failure'), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FatalError);
    expect(err.message).toContain('password authentication failed');
    expect(err.message).not.toContain('WrongPassw0rd');
    expect(err.message).toContain(':***@127.0.0.1');
  });

  it('reports a missing table as fatal with a hint, and a refused connection as retriable, without secrets', async () => {
    const e1 = await readPgSnapshot({ url: cluster.url, accountsTable: 'no_such_table' }).then(() => new Error('expected a failure'), (e: unknown) => e as Error);
    expect(e1).toBeInstanceOf(FatalError);
    expect(e1.message).toMatch(/no_such_table.*does not exist/);
    expect(e1.message).not.toContain(cluster.password);
    const port = await freePort();
    const e2 = await readPgSnapshot({ url: `postgres://u:topsecret@127.0.0.1:${port}/db` }).then(() => new Error('expected a failure'), (e: unknown) => e as Error);
    expect(e2).toBeInstanceOf(RetriableError);
    expect(e2.message).toContain('cannot connect');
    expect(e2.message).not.toContain('topsecret');
  });

  it('rejects a non-postgres URL and unsafe table names before connecting', () => {
    expect(() => resolvePgTarget({ url: 'mysql://u:pw@h/db' })).toThrow(/not a postgres:\/\/ URL/);
    expect(() => resolvePgTarget({ url: 'mysql://u:pw@h/db' })).not.toThrow(/pw@/);
    return expect(readPgSnapshot({ url: cluster.url, accountsTable: 'accounts; DROP TABLE x' })).rejects.toThrow(/not a plain identifier/);
  });

  it("loads the generator's oltp.sql and reads back the same rows as its file snapshot", async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bm-oltp-gen-'));
    try {
      await generate({ out, from: '2024-02-01', to: '2024-02-02', eventsPerDay: 400, seed: 'oltp' });
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      try {
        await client.query('DROP TABLE IF EXISTS accounts, products');
        await client.query(readFileSync(path.join(out, '_oltp', 'oltp.sql'), 'utf8'));
      } finally {
        await client.end();
      }
      const fromPg = await readPgSnapshot({ url: cluster.url });
      const fromFile = await readFileSnapshot(path.join(out, '_oltp'));
      expect(fromPg.accounts).toEqual([...fromFile.accounts].sort((a, b) => (a.account_id < b.account_id ? -1 : 1)));
      const price = (p: ProductRow) => ({ ...p, list_price: p.list_price === null ? null : p.list_price.replace(/\.?0+$/, '') });
      expect(fromPg.products.map(price)).toEqual([...fromFile.products].sort((a, b) => (a.product_id < b.product_id ? -1 : 1)).map(price));
      expect(fromPg.accounts.length).toBeGreaterThan(30);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
