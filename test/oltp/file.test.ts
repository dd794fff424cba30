import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSnapshot, readOltpSnapshot, redactUrl, scrub, type AccountRow, type ProductRow } from '../../connectors/oltp/index.js';
import { accountsCsv, productsCsv } from '../../tools/oltp-write.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bm-oltp-'));
  dirs.push(d);
  return d;
}

const acct: AccountRow = { account_id: 'A1', billing_source: 'zuora', account_name: 'Acme, "Inc"', segment: 'SMB', country: 'US', currency: 'USD', created_at: '2024-01-01T00:00:00.000000Z', updated_at: '2024-01-02T00:00:00.000000Z' };
const prod: ProductRow = { product_id: 'P1', billing_source: 'zuora', product_name: 'Team', plan_id: 'PL1', plan_name: 'Team Monthly', list_price: '49.00', currency: 'USD', billing_period: 'month', updated_at: '2024-01-02T00:00:00.000000Z' };

describe('OLTP file snapshot', () => {
  it('round-trips rows through accounts.csv / products.csv, empty cells as null', async () => {
    const landing = tmp();
    const dir = path.join(landing, '_oltp');
    mkdirSync(dir);
    const noSeg = { ...acct, account_id: 'A2', segment: null };
    writeFileSync(path.join(dir, 'accounts.csv'), accountsCsv([acct, noSeg]));
    writeFileSync(path.join(dir, 'products.csv'), productsCsv([prod]));
    const snap = await readOltpSnapshot({ kind: 'file' }, landing);
    expect(snap.accounts).toEqual([acct, noSeg]);
    expect(snap.products).toEqual([prod]);
    expect(snap.origin).toBe(dir);
  });

  it('names the file, line and field of a bad row', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'accounts.csv'), accountsCsv([acct, { ...acct, account_id: 'A3', created_at: '2024-01-01 10:00' }]));
    writeFileSync(path.join(dir, 'products.csv'), productsCsv([{ ...prod, list_price: '49,00' }]));
    await expect(readFileSnapshot(dir)).rejects.toThrow(/accounts\.csv:3 field "created_at": "2024-01-01 10:00" is not a UTC timestamp/);
    writeFileSync(path.join(dir, 'accounts.csv'), accountsCsv([acct]));
    await expect(readFileSnapshot(dir)).rejects.toThrow(/products\.csv:2 field "list_price": "49,00" is not a decimal/);
  });

  it('rejects a missing column, an empty required value and a missing file with what to do', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'accounts.csv'), 'account_id,billing_source\nA1,zuora\n');
    writeFileSync(path.join(dir, 'products.csv'), productsCsv([prod]));
    await expect(readFileSnapshot(dir)).rejects.toThrow(/accounts\.csv:1: header lacks column\(s\) account_name/);
    writeFileSync(path.join(dir, 'accounts.csv'), accountsCsv([{ ...acct, account_name: '' }]));
    await expect(readFileSnapshot(dir)).rejects.toThrow(/accounts\.csv:2 field "account_name": empty/);
    await expect(readFileSnapshot(path.join(dir, 'nope'))).rejects.toThrow(/does not exist: run `billing-mart generate`/);
  });
});

describe('credential redaction', () => {
  it('hides passwords in URLs, query strings and free text', () => {
    expect(redactUrl('postgres://bob:pa%40ss@db:5432/x')).toBe('postgres://bob:***@db:5432/x');
    expect(redactUrl('postgresql://db/x?user=bob&password=hunter2&ssl=1')).toBe('postgresql://db/x?user=bob&password=***&ssl=1');
    expect(redactUrl('postgres://db/x')).toBe('postgres://db/x');
    const msg = scrub('failed for postgres://bob:hunter2@db/x (hunter2 rejected)', ['hunter2']);
    expect(msg).toBe('failed for postgres://bob:***@db/x (*** rejected)');
  });
});
