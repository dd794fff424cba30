/**
 * OLTP file snapshot for embedded use (the demo): `<landing>/_oltp/accounts.csv` and `products.csv`, the same
 * columns the PostgreSQL connector returns. Problems name the file, the line and the column.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FatalError } from '../../events/errors.js';
import { ACCOUNT_COLUMNS, ACCOUNT_REQUIRED, PRODUCT_COLUMNS, PRODUCT_REQUIRED, type AccountRow, type OltpSnapshot, type ProductRow } from './types.js';

const UTC_ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

export function parseSnapshotCsv<T>(file: string, text: string, columns: readonly string[], required: ReadonlySet<string>): T[] {
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch (e) {
    throw new FatalError(`${file}: not valid CSV: ${(e as Error).message}`, { cause: e });
  }
  const header = records[0];
  if (!header) throw new FatalError(`${file}:1: the file is empty; expected a header line with ${columns.join(',')}`);
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length) throw new FatalError(`${file}:1: header lacks column(s) ${missing.join(', ')}; expected ${columns.join(',')}`);
  const idx = columns.map((c) => header.indexOf(c));
  const problems: string[] = [];
  const out: T[] = [];
  for (let i = 1; i < records.length; i++) {
    const rec = records[i]!;
    const line = i + 1;
    if (rec.length !== header.length) {
      problems.push(`${file}:${line}: ${rec.length} fields, header has ${header.length}`);
      continue;
    }
    const row: Record<string, string | null> = {};
    columns.forEach((c, k) => {
      const v = rec[idx[k]!]!.trim();
      row[c] = v === '' ? null : v;
      if (v === '' && required.has(c)) problems.push(`${file}:${line} field "${c}": empty, a value is required`);
      else if (v !== '' && (c === 'created_at' || c === 'updated_at') && !UTC_ISO_RE.test(v)) {
        problems.push(`${file}:${line} field "${c}": ${JSON.stringify(v)} is not a UTC timestamp like 2024-01-03T10:00:00.000000Z`);
      } else if (v !== '' && c === 'list_price' && !DECIMAL_RE.test(v)) problems.push(`${file}:${line} field "${c}": ${JSON.stringify(v)} is not a decimal`);
    });
    out.push(row as T);
  }
  if (problems.length) {
    const shown = problems.slice(0, 20);
    throw new FatalError(`OLTP snapshot ${file} has ${problems.length} bad row(s); fix the file and re-run:\n  - ${shown.join('\n  - ')}${problems.length > shown.length ? `\n  - ... ${problems.length - shown.length} more` : ''}`);
  }
  return out;
}

async function readRequired(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FatalError(`OLTP snapshot file ${file} does not exist: run \`billing-mart generate\` to create one, or set oltp.kind: postgres`, { cause: e });
    }
    throw new FatalError(`cannot read OLTP snapshot file ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads `<dir>/accounts.csv` and `<dir>/products.csv`. `takenAt` is the newer file's mtime unless given. */
export async function readFileSnapshot(dir: string, takenAt?: string): Promise<OltpSnapshot> {
  const accountsFile = path.join(dir, 'accounts.csv');
  const productsFile = path.join(dir, 'products.csv');
  const [a, p] = await Promise.all([readRequired(accountsFile), readRequired(productsFile)]);
  const accounts = parseSnapshotCsv<AccountRow>(accountsFile, a, ACCOUNT_COLUMNS, ACCOUNT_REQUIRED);
  const products = parseSnapshotCsv<ProductRow>(productsFile, p, PRODUCT_COLUMNS, PRODUCT_REQUIRED);
  let when = takenAt;
  if (!when) {
    const [sa, sp] = await Promise.all([stat(accountsFile), stat(productsFile)]);
    when = new Date(Math.max(sa.mtimeMs, sp.mtimeMs)).toISOString();
  }
  return { accounts, products, origin: dir, takenAt: when };
}
