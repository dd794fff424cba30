/**
 * The README's and docs/warehouse.md's data model and layout, checked against the one source, warehouse/schema.ts:
 * a column added to (or retyped in) FACT_COLUMNS / QUARANTINE_COLUMNS but not to the docs fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../warehouse/columns.js';
import { BILLING_ASSIGNMENT_COLUMNS, BILLING_RECORD_COLUMNS, DIMENSION_DIR_KEY, FACT_COLUMNS, FACT_DIR_KEY, FACT_TABLE, QUARANTINE_COLUMNS, QUARANTINE_DIR_KEY, QUARANTINE_PARTITION_KEY, QUARANTINE_TABLE } from '../../warehouse/schema.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const WAREHOUSE_MD = readFileSync(path.join(ROOT, 'docs', 'warehouse.md'), 'utf8');

/** How each column kind is spelled in the README and in docs/warehouse.md. */
const README_TYPE: Record<ColumnSpec['kind'], string> = { utf8: 'string', int64: 'int64', bool: 'bool', date: 'date', timestamp_us_utc: 'timestamp[us, UTC]', decimal38_9: 'DECIMAL(38,9)' };
const DOCS_TYPE: Record<ColumnSpec['kind'], string> = { utf8: 'utf8', int64: 'int64', bool: 'bool', date: 'date32', timestamp_us_utc: 'timestamp[us, UTC]', decimal38_9: 'decimal(38,9)' };

/** The cells of the first markdown table after `heading` (header and separator rows dropped). */
function tableAfter(md: string, heading: string): string[][] {
  const at = md.indexOf(heading);
  if (at < 0) throw new Error(`heading "${heading}" not found`);
  const lines = md.slice(at).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

/** A row names one or more columns (`a`, `b`) and gives one type for all, or one per name (`string, int64`). */
function documented(rows: string[][], typeCol: number, nullCol?: number): { name: string; type: string; nullable?: boolean }[] {
  const out: { name: string; type: string; nullable?: boolean }[] = [];
  for (const r of rows) {
    const names = r[0]!.split(',').map((n) => n.trim().replace(/`/g, ''));
    const types = names.length > 1 && r[typeCol]!.split(/,(?![^(\[]*[)\]])/).length === names.length ? r[typeCol]!.split(/,(?![^(\[]*[)\]])/).map((t) => t.trim()) : names.map(() => r[typeCol]!);
    names.forEach((name, i) => out.push({ name, type: types[i]!, ...(nullCol !== undefined ? { nullable: r[nullCol] === 'yes' } : {}) }));
  }
  return out;
}

/** What differs between a documented column list and the schema (empty = in step). */
function mismatches(doc: { name: string; type: string; nullable?: boolean }[], columns: readonly ColumnSpec[], typeOf: Record<ColumnSpec['kind'], string>, where: string): string[] {
  const out: string[] = [];
  const byName = new Map(doc.map((d) => [d.name, d]));
  for (const c of columns) {
    const d = byName.get(c.name);
    if (!d) out.push(`${where}: column ${c.name} (warehouse/schema.ts) is not documented`);
    else {
      if (d.type !== typeOf[c.kind]) out.push(`${where}: column ${c.name} is documented as ${d.type}, schema.ts says ${typeOf[c.kind]}`);
      if (d.nullable !== undefined && d.nullable !== c.nullable) out.push(`${where}: column ${c.name} is documented ${d.nullable ? '' : 'not '}nullable, schema.ts says ${c.nullable ? '' : 'not '}nullable`);
    }
  }
  for (const d of doc) if (!columns.some((c) => c.name === d.name)) out.push(`${where}: documents a column ${d.name} that warehouse/schema.ts does not have`);
  const order = doc.map((d) => d.name).filter((n) => columns.some((c) => c.name === n));
  const expected = columns.map((c) => c.name).filter((n) => byName.has(n));
  if (order.join() !== expected.join()) out.push(`${where}: columns are not in the schema's order (${expected.join(', ')})`);
  return out;
}

const readmeFact = () => documented(tableAfter(README, '### The fact table `fact_billing_event`'), 1);
const docsFact = () => documented(tableAfter(WAREHOUSE_MD, '## Data model: `fact_billing_event`'), 1, 2);

describe('the docs follow warehouse/schema.ts', () => {
  it("README's fact table: every column, in order, with its type", () => {
    expect(readmeFact().length).toBeGreaterThan(20);
    expect(mismatches(readmeFact(), FACT_COLUMNS, README_TYPE, 'README.md')).toEqual([]);
  });

  it("docs/warehouse.md's fact table: every column, in order, with its Arrow type and nullability", () => {
    expect(mismatches(docsFact(), FACT_COLUMNS, DOCS_TYPE, 'docs/warehouse.md')).toEqual([]);
  });

  it("docs/warehouse.md's quarantine columns, in order, with the non-text types named", () => {
    const m = new RegExp('`' + QUARANTINE_TABLE + '/' + QUARANTINE_DIR_KEY + '=D/`: `([^`]+)`').exec(WAREHOUSE_MD.replace(/\n\s*/g, ' '));
    expect(m, 'the quarantine line of docs/warehouse.md').not.toBeNull();
    const doc = m![1]!.split(/,\s*(?![^(]*\))/).map((p) => {
      const [, name, type] = /^(\w+)(?: \(([^)]+)\))?$/.exec(p.trim())!;
      return { name: name!, type: type ?? 'utf8' };
    });
    const docsTypeOrText = { ...DOCS_TYPE, date: 'utf8' } as Record<ColumnSpec['kind'], string>; // the partition key's type is its folder's
    const cols = QUARANTINE_COLUMNS.map((c) => (c.name === QUARANTINE_PARTITION_KEY ? { ...c, kind: 'date' as const } : c));
    expect(mismatches(doc, cols, docsTypeOrText, 'docs/warehouse.md quarantine')).toEqual([]);
  });

  it('the on-disk layout names the tables and partition keys schema.ts declares', () => {
    expect(README).toContain(`\`<warehouse>/${FACT_TABLE}/${FACT_DIR_KEY}=YYYY-MM-DD/*.parquet\``);
    expect(README).toContain(`\`${QUARANTINE_TABLE}/${QUARANTINE_DIR_KEY}=D/\``);
    expect(README).toContain(`\`dim_account/${DIMENSION_DIR_KEY}=D/\`, \`dim_product/${DIMENSION_DIR_KEY}=D/\``);
    const layout = WAREHOUSE_MD.slice(WAREHOUSE_MD.indexOf('## Layout'), WAREHOUSE_MD.indexOf('## Commit protocol'));
    expect(layout).toContain(`  ${FACT_TABLE} -> current/${FACT_TABLE}`);
    expect(layout).toContain(`    ${FACT_DIR_KEY}=2024-01-03/part-<commit>-0000.parquet`);
    expect(layout).toContain(`  ${QUARANTINE_TABLE} -> current/${QUARANTINE_TABLE}`);
  });

  it('would fail on a deliberate mismatch: a column added, retyped, made nullable or dropped in schema.ts', () => {
    const added = [...FACT_COLUMNS, { name: 'new_column', kind: 'utf8', nullable: true, doc: '' } as ColumnSpec];
    expect(mismatches(readmeFact(), added, README_TYPE, 'README.md')).toEqual(['README.md: column new_column (warehouse/schema.ts) is not documented']);
    const retyped = FACT_COLUMNS.map((c) => (c.name === 'seqn' ? { ...c, kind: 'utf8' as const } : c));
    expect(mismatches(readmeFact(), retyped, README_TYPE, 'README.md')).toEqual(['README.md: column seqn is documented as int64, schema.ts says string']);
    const nullable = FACT_COLUMNS.map((c) => (c.name === 'amount' ? { ...c, nullable: true } : c));
    expect(mismatches(docsFact(), nullable, DOCS_TYPE, 'docs')).toEqual(['docs: column amount is documented not nullable, schema.ts says nullable']);
    const dropped = FACT_COLUMNS.filter((c) => c.name !== 'mrr_delta');
    expect(mismatches(readmeFact(), dropped, README_TYPE, 'README.md')).toEqual(['README.md: documents a column mrr_delta that warehouse/schema.ts does not have']);
    const swapped = [FACT_COLUMNS[1]!, FACT_COLUMNS[0]!, ...FACT_COLUMNS.slice(2)];
    expect(mismatches(readmeFact(), swapped, README_TYPE, 'README.md')).toHaveLength(1);
  });
});

describe('docs/billing.md names only declared billing columns', () => {
  const BILLING_MD = readFileSync(path.join(ROOT, 'docs', 'billing.md'), 'utf8');
  /** The backticked lower_case names of the bullet that starts with `<table>/run=N/*.parquet`. */
  const named = (table: string) => {
    const at = BILLING_MD.indexOf(`\`${table}/run=N/*.parquet\``);
    if (at < 0) throw new Error(`docs/billing.md has no bullet for ${table}/run=N/*.parquet`);
    const bullet = BILLING_MD.slice(at, BILLING_MD.indexOf('\n  *', at + 1));
    return [...bullet.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
  };
  it('every column the billing_records and billing_assignments bullets name is in warehouse/schema.ts', () => {
    for (const [table, cols] of [['billing_records', BILLING_RECORD_COLUMNS], ['billing_assignments', BILLING_ASSIGNMENT_COLUMNS]] as const) {
      const names = named(table);
      expect(names.length, table).toBeGreaterThan(3);
      expect(names.filter((n) => !cols.some((c) => c.name === n)), table).toEqual([]);
    }
  });
});
