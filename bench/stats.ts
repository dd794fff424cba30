/** Pure figures of the benchmark: medians, rates, the ratio, target checks and the printed table. */

export interface PhaseRun {
  seconds: number;
  rows: number;
  maxRssBytes: number;
  detail: Record<string, unknown>;
}

export interface PhaseSummary {
  runs: number;
  medianSeconds: number;
  /** Rows per second at the median time. */
  rowsPerSecond: number;
  rows: number;
  /** Highest peak RSS over the runs, and the median one. */
  peakRssBytes: number;
  medianRssBytes: number;
}

/** Issue 11: ingest ≥ 1.0× the DuckDB reference, peak RSS ≤ 512 MB, compaction within 1.5× of a plain DuckDB COPY of the same days. */
export const TARGETS = { ingestVsReference: 1.0, peakRssBytes: 512 * 1024 * 1024, compactVsCopy: 1.5, parallelSpeedup: 1.6 } as const;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarise(runs: readonly PhaseRun[]): PhaseSummary {
  if (runs.length === 0) throw new Error('no runs to summarise');
  const medianSeconds = median(runs.map((r) => r.seconds));
  const rows = median(runs.map((r) => r.rows));
  return {
    runs: runs.length,
    medianSeconds,
    rows,
    rowsPerSecond: medianSeconds > 0 ? rows / medianSeconds : 0,
    peakRssBytes: Math.max(...runs.map((r) => r.maxRssBytes)),
    medianRssBytes: median(runs.map((r) => r.maxRssBytes)),
  };
}

/**
 * Ingest throughput relative to the reference over the same landing files and days: reference time / ingest
 * time (the row counts differ — one event per record for DuckDB, deduplicated events for us — the input is the same).
 */
export function ingestRatio(ingest: PhaseSummary, reference: PhaseSummary): number {
  return ingest.medianSeconds > 0 ? reference.medianSeconds / ingest.medianSeconds : 0;
}

export interface TargetCheck {
  name: string;
  target: string;
  actual: string;
  met: boolean;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

export function checkTargets(s: { ingest: PhaseSummary; compact: PhaseSummary; copy: PhaseSummary; reference: PhaseSummary; ratio: number; eventsPerDay: number; serial?: PhaseSummary | null }): TargetCheck[] {
  const vsCopy = compactVsCopy(s.compact, s.copy);
  const speedup = s.serial ? parallelSpeedup(s.ingest, s.serial) : null;
  return [
    { name: 'ingest vs DuckDB', target: `≥ ${TARGETS.ingestVsReference}`, actual: s.ratio.toFixed(3), met: s.ratio >= TARGETS.ingestVsReference },
    { name: `ingest peak RSS (${Math.round(s.eventsPerDay)} events/day)`, target: `≤ ${mb(TARGETS.peakRssBytes)}`, actual: mb(s.ingest.peakRssBytes), met: s.ingest.peakRssBytes <= TARGETS.peakRssBytes },
    { name: 'compaction peak RSS', target: `≤ ${mb(TARGETS.peakRssBytes)}`, actual: mb(s.compact.peakRssBytes), met: s.compact.peakRssBytes <= TARGETS.peakRssBytes },
    { name: 'compaction vs plain DuckDB COPY', target: `≤ ${TARGETS.compactVsCopy}× its time`, actual: `${vsCopy.toFixed(2)}×`, met: vsCopy <= TARGETS.compactVsCopy },
    ...(speedup === null ? [] : [{ name: 'backfill --parallel N vs --parallel 1', target: `≥ ${TARGETS.parallelSpeedup}× faster`, actual: `${speedup.toFixed(2)}×`, met: speedup >= TARGETS.parallelSpeedup }]),
  ];
}

/** How much faster the ingest with --parallel N ran than with --parallel 1 (serial time / parallel time). */
export function parallelSpeedup(parallel: PhaseSummary, serial: PhaseSummary): number {
  return parallel.medianSeconds > 0 ? serial.medianSeconds / parallel.medianSeconds : 0;
}

/** Compaction time over the time of a plain DuckDB COPY of the same days (lower is better; 1.0 = as fast). */
export function compactVsCopy(compact: PhaseSummary, copy: PhaseSummary): number {
  return copy.medianSeconds > 0 ? compact.medianSeconds / copy.medianSeconds : Infinity;
}

/** One size of the memory day: the peak RSS of its ingest and of its compaction. */
export interface MemoryRow {
  events: number;
  ingestRssBytes: number;
  compactRssBytes: number;
  compactRows: number;
  /** Load average when the size finished (1, 5, 15 minutes). */
  loadAvg: number[];
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/**
 * "Memory does not grow with the day" in numbers: the least-squares slope of each phase's peak RSS against the
 * day's events, in MB per million events (0 = flat: the peak does not grow with the day).
 */
export function memorySlopes(rows: readonly MemoryRow[]): { ingestMbPerMillion: number; compactMbPerMillion: number } {
  const xs = rows.map((r) => r.events / 1e6);
  return { ingestMbPerMillion: slope(xs, rows.map((r) => r.ingestRssBytes / 2 ** 20)), compactMbPerMillion: slope(xs, rows.map((r) => r.compactRssBytes / 2 ** 20)) };
}

/** The sizes side by side with a bar per phase (40 columns = the 512 MB target) and the slopes. */
export function formatMemorySlopes(rows: readonly MemoryRow[]): string {
  const bar = (b: number) => '#'.repeat(Math.max(1, Math.round((b / TARGETS.peakRssBytes) * 40)));
  const s = memorySlopes(rows);
  return [
    'peak RSS against the size of the day (40 # = 512 MB):',
    ...rows.flatMap((r) => [
      `  ${String(r.events).padStart(9)} events  ingest     ${mb(r.ingestRssBytes).padStart(7)} ${bar(r.ingestRssBytes)}`,
      `  ${' '.repeat(9)}         compaction ${mb(r.compactRssBytes).padStart(7)} ${bar(r.compactRssBytes)}   (load ${r.loadAvg.map((x) => x.toFixed(1)).join(' ')})`,
    ]),
    `slope: ingest ${s.ingestMbPerMillion.toFixed(1)} MB per million events, compaction ${s.compactMbPerMillion.toFixed(1)} MB per million events (0 = flat)`,
  ].join('\n');
}

/**
 * Projection of a long backfill from measured run completion times: the time between consecutive runs fitted
 * as a + b·i (least squares; b > 0 means each commit costs more as the table ages; a falling fit counts as flat),
 * summed over `totalRuns`.
 */
export function projectBackfill(doneAt: readonly number[], totalRuns: number): { a: number; b: number; seconds: number; firstToLast: number } {
  const gaps = doneAt.map((t, i) => t - (i === 0 ? 0 : doneAt[i - 1]!));
  const n = gaps.length;
  if (n < 2) throw new Error('a projection needs at least 2 measured runs');
  const mx = (n - 1) / 2;
  const my = gaps.reduce((x, y) => x + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  gaps.forEach((g, i) => {
    sxy += (i - mx) * (g - my);
    sxx += (i - mx) ** 2;
  });
  // a falling fit is noise on a shared machine (a commit never gets cheaper with age): project it as flat
  const fit = sxx > 0 ? sxy / sxx : 0;
  const b = Math.max(0, fit);
  const a = fit > 0 ? my - fit * mx : my;
  const k = Math.min(100, Math.floor(n / 2));
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const firstToLast = sum(gaps.slice(-k)) / Math.max(1e-9, sum(gaps.slice(0, k)));
  return { a, b, seconds: totalRuns * a + (b * (totalRuns - 1) * totalRuns) / 2, firstToLast };
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function formatTable(rows: { phase: string; s: PhaseSummary; unit: string }[]): string {
  const head = ['phase', 'runs', 'median s', 'rows', 'rate', 'peak RSS', 'median RSS'];
  const body = rows.map(({ phase, s, unit }) => [
    phase,
    String(s.runs),
    s.medianSeconds.toFixed(2),
    String(Math.round(s.rows)),
    unit ? `${Math.round(s.rowsPerSecond).toLocaleString('en-US')} ${unit}/s` : '-',
    mb(s.peakRssBytes),
    mb(s.medianRssBytes),
  ]);
  return pad([head, ...body]);
}

export function formatTargets(checks: readonly TargetCheck[]): string {
  return checks.map((c) => `${c.met ? 'MET    ' : 'NOT MET'}  ${c.name}: ${c.actual} (target ${c.target})`).join('\n');
}

/**
 * The event-index rows the de-duplication of the first `k` runs and of the last `k` read, on average (a count: the
 * part of a commit's lookup that could grow with the table's age, free of the machine's load).
 */
export function indexRowsLine(rows: readonly number[], k: number): string {
  if (rows.length === 0 || k <= 0) return 'event-index rows read per run: no runs';
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(rows.slice(0, k));
  const last = mean(rows.slice(-k));
  const total = rows.reduce((a, b) => a + b, 0);
  return `event-index rows read per run: first ${k} ${first.toFixed(0)}, last ${k} ${last.toFixed(0)} on average (${first > 0 ? `${(last / first).toFixed(2)}×` : 'first read none'}), ${total} in all`;
}
