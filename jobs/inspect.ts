/**
 * Inspection for support and operators: `trace ID` (every event, quarantine entry and billing assignment of a
 * source record, invoice, subscription, account or event id, with lineage: landing file and line, run, commit),
 * and freshness per source against thresholds (`check freshness`, like `dbt source freshness`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { FactTable } from '../warehouse/index.js';
import { FACT_TABLE, QUARANTINE_TABLE } from '../warehouse/schema.js';
import { windowOfKey } from '../partitions/index.js';
import { rowObjects as rows, sqlString, text, withDuck } from '../warehouse/duck.js';
import { BILLING_ASSIGNMENTS_TABLE } from '../warehouse/index.js';
import { formatDuration } from './progress.js';

export interface TraceEvent {
  event_id: string;
  event_type: string;
  event_ts: string;
  billing_source: string;
  source_object_type: string;
  source_record_id: string;
  source_version: string | null;
  amount: string;
  currency: string;
  account_id: string | null;
  subscription_id: string | null;
  invoice_id: string | null;
  dim_status: string;
  /** Which id column matched. */
  matched: string;
  lineage: { file: string; line: number; run: string; commit: string | null; version: number | null; committedAt: string | null };
  billing: { cycle_id: string; record_id: string; late: boolean }[];
}

export interface TraceQuarantine {
  billing_source: string;
  reason: string;
  field: string | null;
  raw_value: string | null;
  message: string;
  lineage: { file: string; line: number; run: string; version: number };
}

export interface TraceResult {
  id: string;
  asOf: string | null;
  version: number;
  events: TraceEvent[];
  quarantine: TraceQuarantine[];
}

const ID_COLUMNS = ['event_id', 'source_record_id', 'invoice_id', 'subscription_id', 'account_id'] as const;

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

/** The billing assignments of `eventIds` in the billing_assignments table as of `asOfMs` (warehouse API). */
async function billingAssignments(c: DuckDBConnection, table: FactTable, eventIds: string[], asOfMs?: number): Promise<Map<string, TraceEvent['billing']>> {
  const out = new Map<string, TraceEvent['billing']>();
  if (!eventIds.length) return out;
  const files = (await table.tableFiles(BILLING_ASSIGNMENTS_TABLE, asOfMs)).files.map((f) => f.path);
  if (!files.length) return out;
  const found = await rows(
    c,
    `SELECT event_id, cycle_id, record_id, late FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true) WHERE event_id IN (${eventIds.map(sqlString).join(', ')}) ORDER BY cycle_id`,
  );
  for (const r of found) {
    const id = String(r.event_id);
    out.set(id, [...(out.get(id) ?? []), { cycle_id: String(r.cycle_id), record_id: String(r.record_id), late: Boolean(r.late) }]);
  }
  return out;
}

/** Every row of the table (as of `asOfMs`) that an id names, with lineage. Reads the days in [from, to] (default: all). */
export async function trace(table: FactTable, id: string, o: { asOfMs?: number; from?: string; to?: string } = {}): Promise<TraceResult> {
  const inRange = (dir: string) => {
    const d = dir.slice(dir.indexOf('=') + 1);
    return (!o.from || d >= o.from) && (!o.to || d <= o.to);
  };
  const facts = await table.tableFiles(FACT_TABLE, o.asOfMs);
  const factFiles = facts.files.filter((f) => inRange(f.dir)).map((f) => f.path);
  const quarantineFiles = (await table.tableFiles(QUARANTINE_TABLE, o.asOfMs)).files.map((f) => f.path);
  const commits = new Map<string, { commit: string; version: number; committedAt: string }>();
  for (const h of await table.history()) if (h.runId && h.operation === 'ingest') commits.set(h.runId, { commit: h.commitId, version: h.version, committedAt: h.committedAt });
  const lit = sqlString(id);
  return withDuck({}, async (c) => {
    const events: TraceEvent[] = [];
    if (factFiles.length) {
      const found = await rows(
        c,
        `SELECT event_id, event_type, strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, billing_source, source_object_type, source_record_id, source_version,
                CAST(amount AS VARCHAR) AS amount, currency, account_id, subscription_id, invoice_id, dim_status, source_file, source_position, ingest_run_id,
                concat_ws(',', ${ID_COLUMNS.map((k) => `CASE WHEN ${k} = ${lit} THEN '${k}' END`).join(', ')}) AS matched
         FROM read_parquet([${factFiles.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)
         WHERE ${ID_COLUMNS.map((k) => `${k} = ${lit}`).join(' OR ')}
         ORDER BY event_ts, billing_source, seqn, event_id`,
      );
      const billing = await billingAssignments(c, table, found.map((r) => String(r.event_id)), o.asOfMs);
      for (const r of found) {
        const run = String(r.ingest_run_id);
        const cm = commits.get(run);
        events.push({
          event_id: String(r.event_id),
          event_type: String(r.event_type),
          event_ts: String(r.ts),
          billing_source: String(r.billing_source),
          source_object_type: String(r.source_object_type),
          source_record_id: String(r.source_record_id),
          source_version: text(r.source_version),
          amount: String(r.amount),
          currency: String(r.currency),
          account_id: text(r.account_id),
          subscription_id: text(r.subscription_id),
          invoice_id: text(r.invoice_id),
          dim_status: String(r.dim_status),
          matched: String(r.matched),
          lineage: { file: String(r.source_file), line: Number(r.source_position), run, commit: cm?.commit ?? null, version: cm?.version ?? null, committedAt: cm?.committedAt ?? null },
          billing: billing.get(String(r.event_id)) ?? [],
        });
      }
    }
    const quarantine: TraceQuarantine[] = [];
    if (quarantineFiles.length) {
      // A quarantined record never became an event: it is found by its raw text (the id as a JSON value).
      const found = await rows(
        c,
        `SELECT billing_source, reason, field, raw_value, message, source_file, source_position, ingest_run_id, commit_version
         FROM read_parquet([${quarantineFiles.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)
         WHERE raw_value = ${lit} OR contains(raw_record, ${sqlString(JSON.stringify(id))})
         ORDER BY committed_at, source_file, source_position`,
      );
      for (const r of found) {
        quarantine.push({
          billing_source: String(r.billing_source),
          reason: String(r.reason),
          field: text(r.field),
          raw_value: text(r.raw_value),
          message: String(r.message),
          lineage: { file: String(r.source_file), line: Number(r.source_position), run: String(r.ingest_run_id), version: Number(r.commit_version) },
        });
      }
    }
    return { id, asOf: o.asOfMs === undefined ? null : new Date(o.asOfMs).toISOString(), version: facts.version, events, quarantine };
  });
}

export function formatTrace(t: TraceResult): string {
  const lines = [`trace ${t.id}${t.asOf ? ` as of ${t.asOf}` : ''} (table version ${t.version}): ${t.events.length} event(s), ${t.quarantine.length} quarantine entr${t.quarantine.length === 1 ? 'y' : 'ies'}`];
  for (const e of t.events) {
    lines.push(`  ${e.event_ts} ${e.billing_source} ${e.event_type} ${e.amount} ${e.currency}  event ${e.event_id} (${e.source_object_type} ${e.source_record_id}${e.source_version ? ` v${e.source_version}` : ''}; matched ${e.matched}; dim ${e.dim_status})`);
    lines.push(`      from ${e.lineage.file}:${e.lineage.line}, run ${e.lineage.run}${e.lineage.commit ? `, commit ${e.lineage.commit} (v${e.lineage.version}, ${e.lineage.committedAt})` : ''}`);
    for (const b of e.billing) lines.push(`      billed in ${b.cycle_id}${b.late ? ' (late adjustment)' : ''}, record ${b.record_id}`);
  }
  for (const q of t.quarantine) lines.push(`  QUARANTINED ${q.billing_source} ${q.reason}${q.field ? ` ${q.field}=${JSON.stringify(q.raw_value)}` : ''}: ${q.message}\n      from ${q.lineage.file}:${q.lineage.line}, run ${q.lineage.run}, v${q.lineage.version}`);
  if (!t.events.length && !t.quarantine.length) lines.push('  nothing found: the id is not an event_id, source_record_id, invoice_id, subscription_id or account_id of any loaded row, nor in a quarantined record');
  return lines.join('\n');
}

export type FreshnessLevel = 'FRESH' | 'WARN' | 'ERROR';

export interface FreshnessRow {
  source: string;
  lastWindow: string | null;
  /** Age of the end of the last loaded window (ms), null when nothing is loaded. */
  ageMs: number | null;
  warnHours: number;
  errorHours: number;
  level: FreshnessLevel;
}

/** Pure: the freshness level of each source from its newest loaded window and the thresholds. */
export function freshnessOf(
  sources: string[],
  loaded: Map<string, Set<string>>,
  nowMs: number,
  cfg: { warnHours: number; errorHours: number; sources?: Record<string, { warnHours?: number; errorHours?: number }> },
): FreshnessRow[] {
  return sources.map((source) => {
    const warnHours = cfg.sources?.[source]?.warnHours ?? cfg.warnHours;
    const errorHours = cfg.sources?.[source]?.errorHours ?? cfg.errorHours;
    let last: string | null = null;
    let lastEnd = -Infinity;
    for (const k of loaded.get(source) ?? []) {
      const end = windowOfKey(k)?.endMs ?? NaN;
      if (end > lastEnd) [last, lastEnd] = [k, end];
    }
    const ageMs = last === null ? null : nowMs - lastEnd;
    const level: FreshnessLevel = ageMs === null || ageMs >= errorHours * 3_600_000 ? 'ERROR' : ageMs >= warnHours * 3_600_000 ? 'WARN' : 'FRESH';
    return { source, lastWindow: last, ageMs, warnHours, errorHours, level };
  });
}

export function formatFreshness(rows_: FreshnessRow[]): string {
  const w = Math.max(8, ...rows_.map((r) => r.source.length));
  return rows_
    .map((r) => `${r.level.padEnd(5)}  ${r.source.padEnd(w)}  ${r.lastWindow ? `last window ${r.lastWindow}, ${formatDuration(r.ageMs!)} ago` : 'nothing loaded yet'}  (warn ≥ ${r.warnHours}h, error ≥ ${r.errorHours}h)`)
    .join('\n');
}
