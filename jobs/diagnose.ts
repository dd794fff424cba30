/**
 * What the report needs beyond the status grid to diagnose, not just show: quarantine by source and reason with an
 * example (file:line), amounts per day and currency against the sources' control totals, arrival lag per source
 * coloured by the freshness thresholds, the dim_status share, the command that heals each non-green cell, and
 * paths of the day's manifest and of each run's record. collectDiagnostics() reads (DuckDB over the live files of
 * the range); the report renders it.
 */
import path from 'node:path';
import { Decimal } from 'decimal.js';
import { controlPath } from '../connectors/control/billing-mart.js';
import type { FactTable } from '../warehouse/index.js';
import { FACT_DIR_KEY, FACT_TABLE, partitionDir, QUARANTINE_TABLE } from '../warehouse/schema.js';
import { rowObjects as rows, sqlString, withDuck } from '../warehouse/duck.js';
import type { JobDeps } from './deps.js';
import { freshnessOf, type FreshnessLevel } from './inspect.js';
import type { StatusData } from './status.js';

export interface Diagnostics {
  quarantine: { source: string; reason: string; count: number; example: { file: string; line: number; field: string | null; rawValue: string | null; message: string } }[];
  amounts: { day: string; source: string; currency: string; table: string; control: string | null; ok: boolean }[];
  lag: { source: string; runs: number; p50Ms: number | null; maxMs: number | null; level: FreshnessLevel; warnHours: number; errorHours: number }[];
  dims: { source: string; total: number; byStatus: Record<string, number>; okShare: number }[];
  /** `${source}|${day}` → the command that heals a non-green cell. */
  heal: Record<string, string>;
  manifests: Record<string, string>;
  runRecords: Record<string, string>;
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The command that turns a cell green (or says what to wait for), with the caller's global flags. */
export function healCommand(status: string, source: string, day: string, prefix: string[], landing: string): string | null {
  const p = ['billing-mart', ...prefix].map(quote).join(' ');
  switch (status) {
    case 'COMPLETE':
      return null;
    case 'INCOMPLETE':
      return `${p} backfill --from ${day} --to ${day} --sources ${source} --force && ${p} check completeness --date ${day}`;
    case 'MISSING_CONTROL':
      return `wait for ${controlPath(landing, source, day)}, then ${p} check completeness --date ${day}`;
    case 'LATE':
      return `${p} check completeness --date ${day}  (after the grace period)`;
    default:
      return `${p} check completeness --date ${day}`;
  }
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

export async function collectDiagnostics(
  deps: JobDeps,
  table: FactTable,
  data: StatusData,
  o: { prefix: string[]; landing: string; freshness: Parameters<typeof freshnessOf>[3] },
): Promise<Diagnostics> {
  const day = (dir: string) => dir.slice(dir.indexOf('=') + 1);
  const factFiles = (await table.tableFiles(FACT_TABLE)).files.filter((f) => day(f.dir) >= data.from && day(f.dir) <= data.to).map((f) => f.path);
  // Quarantine is partitioned by commit day; the report counts an entry on the day of its landing folder (as status does).
  const qFiles = (await table.tableFiles(QUARANTINE_TABLE)).files.map((f) => f.path);
  const list = (fs: string[]) => `read_parquet([${fs.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`;
  const sources = new Set(data.sources);
  const out: Diagnostics = { quarantine: [], amounts: [], lag: [], dims: [], heal: {}, manifests: {}, runRecords: {} };

  await withDuck({}, async (c) => {
    if (qFiles.length) {
      for (const r of await rows(
        c,
        `SELECT billing_source, reason, count(*) AS n, arg_min(source_file, source_file || lpad(CAST(source_position AS VARCHAR), 12, '0')) AS file,
                arg_min(source_position, source_file || lpad(CAST(source_position AS VARCHAR), 12, '0')) AS line,
                arg_min(field, source_file || lpad(CAST(source_position AS VARCHAR), 12, '0')) AS field,
                arg_min(raw_value, source_file || lpad(CAST(source_position AS VARCHAR), 12, '0')) AS raw_value,
                arg_min(message, source_file || lpad(CAST(source_position AS VARCHAR), 12, '0')) AS message
         FROM ${list(qFiles)}
         WHERE regexp_extract(source_file, '^[^/]+/(\\d{4}-\\d{2}-\\d{2})/', 1) BETWEEN ${sqlString(data.from)} AND ${sqlString(data.to)}
         GROUP BY billing_source, reason ORDER BY billing_source, n DESC, reason`,
      )) {
        if (!sources.has(String(r.billing_source))) continue;
        out.quarantine.push({
          source: String(r.billing_source),
          reason: String(r.reason),
          count: Number(r.n),
          example: { file: String(r.file), line: Number(r.line), field: r.field === null ? null : String(r.field), rawValue: r.raw_value === null ? null : String(r.raw_value), message: String(r.message) },
        });
      }
    }
    if (factFiles.length) {
      const byStatus = new Map<string, Record<string, number>>();
      for (const r of await rows(c, `SELECT billing_source, dim_status, count(*) AS n FROM ${list(factFiles)} GROUP BY ALL ORDER BY ALL`)) {
        const s = String(r.billing_source);
        if (!sources.has(s)) continue;
        byStatus.set(s, { ...(byStatus.get(s) ?? {}), [String(r.dim_status)]: Number(r.n) });
      }
      for (const s of data.sources) {
        const m = byStatus.get(s) ?? {};
        const total = Object.values(m).reduce((a, b) => a + b, 0);
        out.dims.push({ source: s, total, byStatus: m, okShare: total ? (m.OK ?? 0) / total : 0 });
      }
      // arrival lag: the run's end minus each event's instant, per (source, run)
      const runs = new Map((await deps.runs.list({ days: { from: data.from, to: data.to } })).map((r) => [r.runId, r]));
      const perSource = new Map<string, { p: number[]; max: number }>();
      for (const r of await rows(c, `SELECT billing_source, ingest_run_id, epoch_ms(min(event_ts)) AS lo, epoch_ms(max(event_ts)) AS hi FROM ${list(factFiles)} GROUP BY ALL`)) {
        const run = runs.get(String(r.ingest_run_id));
        const end = run?.endedAt ? Date.parse(run.endedAt) : NaN;
        if (Number.isNaN(end)) continue;
        const s = String(r.billing_source);
        const e = perSource.get(s) ?? { p: [], max: 0 };
        e.p.push(end - Number(r.hi));
        e.max = Math.max(e.max, end - Number(r.lo));
        perSource.set(s, e);
      }
      for (const s of data.sources) {
        const e = perSource.get(s);
        const warnHours = o.freshness.sources?.[s]?.warnHours ?? o.freshness.warnHours;
        const errorHours = o.freshness.sources?.[s]?.errorHours ?? o.freshness.errorHours;
        const p50 = e ? median(e.p) : null;
        const level: FreshnessLevel = p50 === null ? 'ERROR' : p50 >= errorHours * 3_600_000 ? 'ERROR' : p50 >= warnHours * 3_600_000 ? 'WARN' : 'FRESH';
        out.lag.push({ source: s, runs: e?.p.length ?? 0, p50Ms: p50, maxMs: e ? e.max : null, level, warnHours, errorHours });
      }
    }
  });

  for (const day of data.days) {
    out.manifests[day.day] = path.join(data.factPath, partitionDir(FACT_DIR_KEY, day.day), '_manifest.json');
    const manifest = await deps.warehouse.manifest(day.day);
    for (const s of data.sources) {
      const cell = day.cells[s]!;
      const cmd = healCommand(cell.status, s, day.day, o.prefix, o.landing);
      if (cmd) out.heal[`${s}|${day.day}`] = cmd;
      const tableBy = new Map<string, Decimal>();
      for (const t of manifest?.totals ?? []) if (t.billing_source === s) tableBy.set(t.currency, (tableBy.get(t.currency) ?? new Decimal(0)).plus(t.amount_sum));
      const control = await deps.source(s).controlTotals(day.day).catch(() => null);
      const controlBy = new Map<string, Decimal>();
      for (const t of control?.totals ?? []) controlBy.set(t.currency, (controlBy.get(t.currency) ?? new Decimal(0)).plus(t.amount_sum));
      for (const cur of [...new Set([...tableBy.keys(), ...controlBy.keys()])].sort()) {
        const tv = tableBy.get(cur) ?? new Decimal(0);
        const cv = control ? (controlBy.get(cur) ?? new Decimal(0)) : null;
        out.amounts.push({ day: day.day, source: s, currency: cur, table: tv.toFixed(9), control: cv ? cv.toFixed(9) : null, ok: cv !== null && cv.equals(tv) });
      }
    }
  }
  for (const r of [...data.recentRuns, ...data.failedRuns]) out.runRecords[r.runId] = deps.runs.recordPath(r);
  return out;
}
