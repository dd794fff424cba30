/**
 * The generator's OLTP metadata, written as the simulation goes (accounts are never all held in memory):
 * `<out>/_oltp/accounts.csv`, `products.csv` (the file snapshot) and `oltp.sql` (DDL + idempotent upserts for
 * PostgreSQL, one transaction).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ACCOUNT_COLUMNS, PRODUCT_COLUMNS, type AccountRow } from '../../connectors/oltp/types.js';
import { csvLine, productsCsv, SQL_HEADER, upsertStatement } from '../oltp-write.js';
import { accountRow, productRow } from './oltp-rows.js';
import type { Account, Product } from './world.js';

const BATCH = 500;

export class OltpOut {
  private batch: AccountRow[] = [];
  private readonly dir: string;
  count = 0;

  constructor(out: string, private readonly updatedMs: number) {
    this.dir = path.join(out, '_oltp');
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(path.join(this.dir, 'accounts.csv'), csvLine(ACCOUNT_COLUMNS));
    writeFileSync(path.join(this.dir, 'oltp.sql'), SQL_HEADER);
  }

  account(a: Account): void {
    this.batch.push(accountRow(a, this.updatedMs));
    this.count++;
    if (this.batch.length >= BATCH) this.flush();
  }

  private flush(): void {
    if (!this.batch.length) return;
    appendFileSync(path.join(this.dir, 'accounts.csv'), this.batch.map((r) => csvLine(ACCOUNT_COLUMNS.map((c) => r[c]))).join(''));
    appendFileSync(path.join(this.dir, 'oltp.sql'), upsertStatement('accounts', ACCOUNT_COLUMNS, 'account_id', this.batch));
    this.batch = [];
  }

  finish(products: readonly Product[], productsUpdatedMs: number): void {
    this.flush();
    const rows = products.map((p) => productRow(p, productsUpdatedMs));
    writeFileSync(path.join(this.dir, 'products.csv'), productsCsv(rows));
    const sql: string[] = [];
    for (let i = 0; i < rows.length; i += BATCH) sql.push(upsertStatement('products', PRODUCT_COLUMNS, 'product_id', rows.slice(i, i + BATCH)));
    appendFileSync(path.join(this.dir, 'oltp.sql'), sql.join('') + 'COMMIT;\n');
  }
}
