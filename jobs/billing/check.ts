/**
 * `billing-mart check billing`: reads the billing tables and the fact table (through the warehouse) with DuckDB
 * and reports the violations billing/check.ts defines.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { addDays, dayStartMs } from '../../partitions/index.js';
import type { FactTable } from '../../warehouse/index.js';
import { classifyUnassigned, totalsDifferences, type BillingCheckReport, type PendingEvent, type Violation } from '../../billing/check.js';
import { dayOfMicros } from '../../billing/cycles.js';
import { listRuns } from './store.js';
import { big, createBillingViews, createFactView, factSnapshot, rows, text, withBillingDuck } from './views.js';

export { formatBillingCheck, VIOLATION_CODES, type BillingCheckReport, type Violation, type ViolationCode } from '../../billing/check.js';

const EV = `ev AS (SELECT * FROM fact QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename) = 1)`;
const DAY = (col: string) => `CAST(make_timestamp(epoch_us(${col})) AS DATE)`;

async function structural(c: DuckDBConnection, v: Violation[]): Promise<void> {
  for (const r of await rows(c, `SELECT event_id, list(DISTINCT record_id ORDER BY record_id) AS recs, count(*) AS n FROM assignments GROUP BY event_id HAVING count(*) > 1 ORDER BY event_id`)) {
    const recs = (r.recs as { items: unknown[] }).items.map(String);
    v.push({ code: 'DUPLICATE_ASSIGNMENT', message: `event ${text(r.event_id)} is assigned ${String(r.n)} times (records ${recs.join(', ')}); an event belongs to exactly one cycle`, eventIds: [String(r.event_id)], recordIds: recs });
  }
  for (const r of await rows(c, `SELECT a.event_id, a.record_id, a.cycle_id FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM fact f WHERE f.event_id = a.event_id) ORDER BY 1, 2`)) {
    v.push({ code: 'MISSING_EVENT', message: `record ${text(r.record_id)} (${text(r.cycle_id)}) points to event ${text(r.event_id)}, which is not in the fact table`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
  for (const r of await rows(c, `SELECT a.event_id, a.record_id FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.record_id = a.record_id) ORDER BY 1, 2`)) {
    v.push({ code: 'ORPHAN_ASSIGNMENT', message: `event ${text(r.event_id)} is assigned to record ${text(r.record_id)}, which no record set contains`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
  for (const r of await rows(c, `SELECT record_id, any_value(cycle_id) AS cycle_id, list(run_id ORDER BY run_id) AS runs FROM records GROUP BY record_id HAVING count(*) > 1 ORDER BY 1`)) {
    const runs = (r.runs as { items: unknown[] }).items.map(String);
    v.push({ code: 'DUPLICATE_RECORD', message: `cycle ${text(r.cycle_id)} (record ${text(r.record_id)}) was billed ${runs.length} times, by runs ${runs.join(', ')}`, eventIds: [], recordIds: [String(r.record_id)] });
  }
}

async function totals(c: DuckDBConnection, v: Violation[]): Promise<void> {
  const res = await rows(
    c,
    `WITH ${EV},
     s AS (SELECT a.record_id, count(ev.event_id) AS n, sum(ev.amount) AS amt, sum(coalesce(ev.mrr_delta, 0)) AS mrr,
                  count(ev.event_id) FILTER (WHERE a.late) AS late_n, sum(ev.amount) FILTER (WHERE a.late) AS late_amt
           FROM assignments a LEFT JOIN ev ON ev.event_id = a.event_id GROUP BY a.record_id)
     SELECT r.record_id, r.cycle_id, r.event_count, CAST(r.amount_sum AS VARCHAR) AS amount_sum, CAST(r.mrr_delta_sum AS VARCHAR) AS mrr_sum,
            r.late_event_count, CAST(r.late_amount_sum AS VARCHAR) AS late_sum,
            coalesce(s.n, 0) AS n, CAST(s.amt AS VARCHAR) AS amt, CAST(s.mrr AS VARCHAR) AS mrr, coalesce(s.late_n, 0) AS late_n, CAST(s.late_amt AS VARCHAR) AS late_amt
     FROM records r LEFT JOIN s ON s.record_id = r.record_id ORDER BY r.record_id`,
  );
  for (const r of res) {
    const diffs = totalsDifferences({
      recordId: String(r.record_id),
      cycleId: String(r.cycle_id),
      recorded: { count: big(r.event_count), amount: String(r.amount_sum), mrr: String(r.mrr_sum), lateCount: big(r.late_event_count), lateAmount: String(r.late_sum) },
      actual: { count: big(r.n), amount: text(r.amt), mrr: text(r.mrr), lateCount: big(r.late_n), lateAmount: text(r.late_amt) },
    });
    if (diffs.length) v.push({ code: 'TOTALS_MISMATCH', message: `record ${text(r.record_id)} (${text(r.cycle_id)}): ${diffs.join('; ')}`, eventIds: [], recordIds: [String(r.record_id)] });
  }
  for (const r of await rows(c, `WITH ${EV} SELECT a.event_id, a.record_id, ev.currency AS ec, r.currency AS rc FROM assignments a JOIN records r ON r.record_id = a.record_id JOIN ev ON ev.event_id = a.event_id WHERE ev.currency <> r.currency ORDER BY 1`)) {
    v.push({ code: 'CURRENCY_MISMATCH', message: `event ${text(r.event_id)} is in ${text(r.ec)} but its record ${text(r.record_id)} totals ${text(r.rc)}`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
  const wrong = await rows(
    c,
    `WITH ${EV} SELECT a.event_id, a.record_id, a.late, CAST(${DAY('ev.event_ts')} AS VARCHAR) AS d, CAST(r.period_start AS VARCHAR) AS ps, CAST(r.period_end AS VARCHAR) AS pe
     FROM assignments a JOIN records r ON r.record_id = a.record_id JOIN ev ON ev.event_id = a.event_id
     WHERE (NOT a.late AND (${DAY('ev.event_ts')} < r.period_start OR ${DAY('ev.event_ts')} >= r.period_end)) OR (a.late AND ${DAY('ev.event_ts')} >= r.period_start)
     ORDER BY 1`,
  );
  for (const r of wrong) {
    const what = r.late ? 'is marked late but is not dated before' : 'is dated outside';
    v.push({ code: 'WRONG_PERIOD', message: `event ${text(r.event_id)} (${text(r.d)}) ${what} its cycle ${text(r.ps)}..${text(r.pe)} (record ${text(r.record_id)})`, eventIds: [String(r.event_id)], recordIds: [String(r.record_id)] });
  }
}

export async function checkBilling(table: FactTable): Promise<BillingCheckReport> {
  await table.assertBillingLayout();
  const runs = await listRuns(table);
  const snap = await factSnapshot(table);
  const manifests = runs.map((r) => r.manifest);
  const last = manifests[manifests.length - 1];
  const billedThrough = last?.watermarkAfter ?? null;
  const start = last?.timeline[0]?.from;
  return withBillingDuck(async (c) => {
    await createFactView(c, table, snap);
    await createBillingViews(c, table);
    const violations: Violation[] = [];
    await structural(c, violations);
    await totals(c, violations);
    const pending: PendingEvent[] = [];
    let beforeStart = 0;
    if (start !== undefined && billedThrough !== null) {
      const startUs = BigInt(dayStartMs(start)) * 1000n;
      const endUs = BigInt(dayStartMs(billedThrough)) * 1000n;
      const [b] = await rows(c, `WITH ${EV} SELECT count(*) AS n FROM ev WHERE epoch_us(event_ts) < ${startUs}`);
      beforeStart = Number(big(b!.n));
      const un = await rows(
        c,
        `WITH ${EV} SELECT event_id, epoch_us(event_ts) AS ts, filename FROM ev
         WHERE epoch_us(event_ts) >= ${startUs} AND epoch_us(event_ts) < ${endUs}
           AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.event_id = ev.event_id) ORDER BY ts, event_id`,
      );
      for (const r of un) {
        const day = dayOfMicros(big(r.ts));
        const file = String(r.filename);
        if (classifyUnassigned(day, file, manifests) === 'UNASSIGNED') {
          violations.push({
            code: 'UNASSIGNED',
            message: `event ${text(r.event_id)} (${day}, ${file}) was read by a bill run that closed its cycle but is in no billing record`,
            eventIds: [String(r.event_id)],
            recordIds: [],
          });
        } else pending.push({ eventId: String(r.event_id), eventDate: day, file });
      }
    }
    const [counts] = await rows(c, `SELECT (SELECT count(*) FROM records) AS r, (SELECT count(*) FROM assignments) AS a, (SELECT count(DISTINCT event_id) FROM fact) AS f`);
    return {
      ok: violations.length === 0,
      runs: runs.length,
      records: Number(big(counts!.r)),
      assignments: Number(big(counts!.a)),
      factEvents: Number(big(counts!.f)),
      billedThrough: billedThrough === null ? null : addDays(billedThrough, -1),
      violations,
      pending,
      beforeStart,
    };
  });
}

