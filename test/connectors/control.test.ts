/**
 * Control providers: the contract suite against every implementation, plus each one's own errors. The source
 * query runs against a real PostgreSQL started on 127.0.0.1 (test/helpers/pg.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completenessSchema } from '../../config/completeness.js';
import { WhenSchema } from '../../config/sources.js';
import { billingMartExport, mappedExport, sourceQuery, type ControlCell, type ControlProvider } from '../../connectors/control/index.js';
import { FatalError, RetriableError } from '../../events/errors.js';
import { EVENT_TYPES } from '../../events/model.js';
import { FakeLanding } from '../jobs/fakes.js';
import { freePort, startPg, type PgCluster } from '../helpers/pg.js';
import { controlProviderContract } from './control-contract.js';
import { tempDir } from './helpers.js';

const { ControlSpecSchema } = completenessSchema(WhenSchema);
const control = (raw: unknown) => ControlSpecSchema.parse(raw);

function tmpLanding() {
  const t = tempDir();
  return { dir: t.dir, cleanup: async () => t.cleanup() };
}

function write(file: string, text: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** A per-day report with a type column: one totals rule per canonical event type. */
const REPORT_SPEC = {
  kind: 'export',
  file: 'daily_totals',
  formats: ['csv'],
  currency: { column: 'currency' },
  day: { column: 'day' },
  totals: EVENT_TYPES.map((t) => ({ when: { type: t }, eventType: t, rows: 'count', amount: { column: 'amount', unit: 'major' } })),
};

/** A file-backed fixture: `writeDay` drops one day's report into a temp landing zone, `open` makes the provider. */
function fileFixture(writeDay: (landing: string, source: string, day: string, cells: ControlCell[]) => void, open: (landing: string, source: string) => ControlProvider) {
  return async () => {
    const t = tmpLanding();
    return {
      unreported: 'null' as const,
      cleanup: t.cleanup,
      async make(source: string, days: Record<string, ControlCell[]>) {
        for (const [day, cells] of Object.entries(days)) writeDay(t.dir, source, day, cells);
        return open(t.dir, source);
      },
    };
  };
}

controlProviderContract(
  "billing-mart JSON export (the generator's _control/<day>.json)",
  fileFixture(
    (dir, source, day, cells) =>
      write(path.join(dir, source, '_control', `${day}.json`), JSON.stringify({ source, date: day, totals: cells.map((c) => ({ event_type: c.event_type, currency: c.currency, rows: Number(c.rows), amount_sum: String(c.amount) })) })),
    (dir, source) => billingMartExport(dir, source),
  ),
);

controlProviderContract(
  'mapped CSV export, a folder per day',
  fileFixture(
    (dir, source, day, cells) =>
      write(path.join(dir, source, '_control', day, 'daily_totals.csv'), ['day,type,currency,count,amount', ...cells.map((c) => `${day},${c.event_type},${c.currency},${c.rows},${c.amount}`)].join('\n') + '\n'),
    (dir, source) => mappedExport(dir, source, control(REPORT_SPEC) as never),
  ),
);

controlProviderContract(
  'mapped JSON-lines export, the day in the file name',
  fileFixture(
    (dir, source, day, cells) =>
      write(path.join(dir, source, '_control', `daily_totals-${day}.jsonl`), cells.map((c) => JSON.stringify({ type: c.event_type, currency: c.currency, count: Number(c.rows), amount: String(c.amount) })).join('\n') + '\n'),
    (dir, source) => {
      const { day: _day, ...noDay } = REPORT_SPEC;
      return mappedExport(dir, source, control({ ...noDay, formats: ['jsonl'] }) as never);
    },
  ),
);

controlProviderContract('the jobs tests\' in-memory fake', async () => {
  const landing = new FakeLanding();
  return {
    unreported: 'null',
    async make(source, days) {
      for (const [day, cells] of Object.entries(days)) landing.controlCells(source, day, cells);
      return landing.provider(source);
    },
  };
});

describe('source query on PostgreSQL', () => {
  let cluster: PgCluster;
  let n = 0;
  beforeAll(async () => {
    cluster = await startPg();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  async function sql(text: string, values: unknown[] = []) {
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    try {
      return await c.query(text, values);
    } finally {
      await c.end();
    }
  }

  /** A billing database's own ledger table, and the SQL its owners trust for daily totals. */
  async function ledger(days: Record<string, ControlCell[]>): Promise<string> {
    const table = `ledger_${++n}`;
    await sql(`CREATE TABLE ${table} (booked_at timestamptz NOT NULL, kind text NOT NULL, ccy text NOT NULL, n bigint NOT NULL, amount numeric(38,9) NOT NULL)`);
    for (const [day, cells] of Object.entries(days)) {
      for (const c of cells) await sql(`INSERT INTO ${table} VALUES ($1::timestamptz, $2, $3, $4, $5::numeric)`, [`${day}T12:00:00Z`, c.event_type, c.currency, String(c.rows), String(c.amount)]);
    }
    return table;
  }

  const querySql = (table: string) =>
    `SELECT (booked_at AT TIME ZONE 'UTC')::date AS day, kind AS event_type, upper(ccy) AS currency, sum(n) AS rows, sum(amount) AS amount
       FROM ${table} WHERE (booked_at AT TIME ZONE 'UTC')::date = $1::date GROUP BY 1, 2, 3`;

  controlProviderContract('PostgreSQL source query', async () => ({
    unreported: 'empty',
    async make(source, days) {
      const table = await ledger(days);
      return sourceQuery(source, control({ kind: 'query', sql: querySql(table), url: cluster.url }) as never);
    },
  }));

  it('reads NUMERIC exactly and the DATE as its text (no float, no local-time Date)', async () => {
    const table = await ledger({ '2024-03-10': [{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 1, amount: '0.123456789' }] });
    const p = sourceQuery('acme', control({ kind: 'query', sql: querySql(table), url: cluster.url }) as never);
    expect((await p.totals('2024-03-10'))!.totals).toEqual([{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 1, amount_sum: '0.123456789' }]);
  });

  it('refuses SQL without the expected columns, a float amount or an unknown event type, naming the row (FatalError)', async () => {
    const table = await ledger({ '2024-01-03': [{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 1, amount: '1.5' }] });
    const q = (s: string) => sourceQuery('acme', control({ kind: 'query', sql: s, url: cluster.url }) as never).totals('2024-01-03');
    await expect(q(`SELECT $1::date AS day, kind AS event_type FROM ${table}`)).rejects.toThrow(/must return day, event_type, currency, rows, amount \(missing currency, rows, amount\)/);
    await expect(q(`SELECT $1::date AS day, kind AS event_type, ccy AS currency, n AS rows, 1.5::float8 * 1e-20 AS amount FROM ${table}`)).rejects.toThrow(/result row 1: amount "[^"]*e-20" is not an exact decimal/);
    await expect(q(`SELECT $1::date AS day, 'SALE' AS event_type, ccy AS currency, n AS rows, amount FROM ${table}`)).rejects.toBeInstanceOf(FatalError);
    await expect(q(`SELECT nope FROM ${table} WHERE $1::date IS NOT NULL`)).rejects.toThrow(/control query failed .*column "nope" does not exist.*completeness\.control\.sql/);
  });

  it('a database that is not there is a retriable error, and the password is never in the message', async () => {
    const port = await freePort();
    const p = sourceQuery('acme', control({ kind: 'query', sql: 'SELECT $1 AS day', url: `postgres://u:s3cret-pw@127.0.0.1:${port}/db` }) as never);
    const err = await p.totals('2024-01-03').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect(String((err as Error).message)).not.toContain('s3cret-pw');
    expect(p.origin).not.toContain('s3cret-pw');
  });
});

describe('mapped export errors and day filtering', () => {
  it('names the file, line and field of a bad control line; leaves out lines about other days', async () => {
    const t = tmpLanding();
    try {
      const p = mappedExport(t.dir, 'acme', control(REPORT_SPEC) as never);
      write(path.join(t.dir, 'acme', '_control', '2024-01-03', 'daily_totals.csv'), 'day,type,currency,count,amount\n2024-01-03,INVOICE_POSTED,USD,2,3.10\n2024-01-02,INVOICE_POSTED,USD,9,9\n');
      expect((await p.totals('2024-01-03'))!.totals).toEqual([{ event_type: 'INVOICE_POSTED', currency: 'USD', rows: 2, amount_sum: '3.100000000' }]);
      write(path.join(t.dir, 'acme', '_control', '2024-01-04', 'daily_totals.csv'), 'day,type,currency,count,amount\n2024-01-04,INVOICE_POSTED,USD,2.5,3.10\n');
      await expect(p.totals('2024-01-04')).rejects.toThrow(/row count "2\.5" is not a non-negative integer \(at acme\/_control\/2024-01-04\/daily_totals\.csv:2 field "count"\)/);
      write(path.join(t.dir, 'acme', '_control', '2024-01-05', 'daily_totals.csv'), 'day,type,currency,count,amount\n2024-01-05,INVOICE_POSTED,USD,1,12,5\n');
      await expect(p.totals('2024-01-05')).rejects.toThrow(/daily_totals\.csv:2 cannot be read/);
      await expect(p.totals('2024-01-05')).rejects.toBeInstanceOf(FatalError);
    } finally {
      await t.cleanup();
    }
  });
});
