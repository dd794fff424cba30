/**
 * The warehouse is the only writer under the warehouse directory: billing (the bill job, the billing check, the
 * MRR state) reads and commits through FactTable, never through the file system or DuckDB writing to a path.
 * Fails on the code before the billing tables (jobs/billing/store.ts renamed record sets into billing_records/,
 * jobs/billing/mrr-store.ts link()ed state files under billing/mrr_state/).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { REPO_ROOT as ROOT, tsFiles } from '../helpers/source-files.js';

describe('billing writes only through the warehouse', () => {
  it('billing/ and jobs/billing/ import no file system module and run no DuckDB COPY ... TO', () => {
    const files = [...tsFiles('billing'), ...tsFiles('jobs/billing'), 'jobs/bill.ts'];
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.filter((f) => {
      const src = readFileSync(path.join(ROOT, f), 'utf8');
      return /from ['"](node:)?fs(\/promises)?['"]/.test(src) || /\bCOPY\b[\s\S]{0,400}\bTO\b/.test(src) || /\b(writeFile|rename|link|mkdir)\s*\(/.test(src);
    });
    expect(offenders).toEqual([]);
  });

  it('the pure billing domain reads no clock and uses no DuckDB', () => {
    const offenders = tsFiles('billing').filter((f) => /Date\.now\(|new Date\(\)|@duckdb|warehouse\//.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('outside warehouse/, no source names the billing tables next to a write', () => {
    const dirs = ['jobs', 'billing', 'connectors', 'tools', 'events', 'config', 'partitions'].filter((d) => existsSync(path.join(ROOT, d)));
    const offenders = dirs.flatMap(tsFiles).filter((f) => {
      const src = readFileSync(path.join(ROOT, f), 'utf8');
      return /billing_records|billing_assignments|mrr_state|billing\/mrr/.test(src) && /\b(writeFile|writeFileDurable|rename|link|mkdir|putFile|writeDurable)\s*\(/.test(src);
    });
    expect(offenders).toEqual([]);
  });
});
