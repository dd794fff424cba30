/**
 * `billing-mart report`: the status as one self-contained HTML page (inline CSS, a few lines of inline script,
 * no external resources): a calendar heatmap of completeness per source, row counts per day, freshness, run
 * history. Pure: StatusData in, HTML text out.
 */
import { redact } from '../events/redact.js';
import type { StatusData } from './status.js';
import { formatDuration } from './progress.js';

/** Every text on the page is redacted (credentials in run errors) and HTML-escaped. */
function esc(s: unknown): string {
  return redact(String(s ?? '')).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const COLORS: Record<string, string> = { COMPLETE: '#2e9e5b', ARRIVED: '#9fd4b0', INCOMPLETE: '#d64541', NOT_ARRIVED: '#b03a6f', UNUSUAL_VOLUME: '#8e6fd8', MISSING_CONTROL: '#e08e0b', LATE: '#f2c94c', NOT_CHECKED: '#c9ced6' };
const LABEL: Record<string, string> = {
  COMPLETE: 'complete (reconciled with the source\'s numbers)',
  ARRIVED: 'arrived (every window delivered and loaded, usual volume; not reconciled)',
  INCOMPLETE: 'incomplete',
  NOT_ARRIVED: 'not arrived (a window not delivered or not loaded)',
  UNUSUAL_VOLUME: 'unusual volume',
  MISSING_CONTROL: 'no control totals',
  LATE: 'late (in grace)',
  NOT_CHECKED: 'not checked',
};

function weekday(day: string): number {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
}

function heatmap(d: StatusData, source: string): string {
  if (!d.days.length) return '<p>no days</p>';
  const lead = weekday(d.days[0]!.day);
  const cells: string[] = [];
  for (let i = 0; i < lead; i++) cells.push('<div class="cell empty"></div>');
  for (const day of d.days) {
    const c = day.cells[source]!;
    const title = `${source} ${day.day}: ${LABEL[c.status] ?? c.status} — ${c.detail}; ${c.windowsLoaded}/${c.windowsTotal} windows, ${c.rows} rows, ${c.quarantined} quarantined`;
    cells.push(`<div class="cell" data-source="${esc(source)}" data-day="${esc(day.day)}" data-status="${esc(c.status)}" style="background:${COLORS[c.status] ?? '#999'}" title="${esc(title)}"><span>${esc(day.day.slice(8))}</span></div>`);
  }
  return `<div class="cal">${['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((w) => `<div class="wd">${w}</div>`).join('')}${cells.join('')}</div>`;
}

function rowsChart(d: StatusData): string {
  const max = Math.max(1, ...d.days.map((x) => x.rows));
  const bars = d.days
    .map((x) => {
      const segs = d.sources
        .map((s, i) => {
          const r = x.cells[s]!.rows;
          return r ? `<div class="seg s${i % 6}" style="width:${((r / max) * 100).toFixed(2)}%" title="${esc(`${s}: ${r} rows`)}"></div>` : '';
        })
        .join('');
      return `<tr><td class="day">${esc(x.day)}</td><td class="bar"><div class="stack">${segs}</div></td><td class="num" data-rows="${x.rows}">${x.rows.toLocaleString('en-US')}</td><td>${x.success ? '<span class="ok">_SUCCESS</span>' : '<span class="no">—</span>'}</td></tr>`;
    })
    .join('');
  const legend = d.sources.map((s, i) => `<span class="lg"><i class="seg s${i % 6}"></i>${esc(s)}</span>`).join(' ');
  return `<div class="legend">${legend}</div><table class="rows"><thead><tr><th>day</th><th>rows per source</th><th>rows</th><th>marker</th></tr></thead><tbody>${bars}</tbody></table>`;
}

function runsTable(d: StatusData): string {
  const rows = [...d.recentRuns]
    .reverse()
    .map(
      (r) =>
        `<tr class="run ${esc(r.status)}"><td>${esc(r.startedAt)}</td><td>${esc(r.job)}</td><td>${esc(r.source ?? '')}</td><td>${esc(r.window ?? '')}</td><td>${esc(r.trigger)}</td><td class="st">${esc(r.status)}</td><td class="num">${r.rowsWritten}</td><td class="num">${Object.values(r.quarantined).reduce((a, b) => a + b, 0)}</td><td>${esc(r.error ?? r.note ?? '')}</td></tr>`,
    )
    .join('');
  return `<table class="runs"><thead><tr><th>started</th><th>job</th><th>source</th><th>window</th><th>trigger</th><th>status</th><th>rows written</th><th>quarantined</th><th>error / note</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderReport(d: StatusData): string {
  const complete = d.days.filter((x) => d.sources.every((s) => x.cells[s]!.status === 'COMPLETE')).length;
  const totalRows = d.days.reduce((n, x) => n + x.rows, 0);
  const fresh = d.freshness
    .map((f) => `<li><b>${esc(f.source)}</b>: ${f.lastWindow ? `last window ${esc(f.lastWindow)}, ${esc(formatDuration(f.ageMs!))} ago` : 'nothing loaded yet'}</li>`)
    .join('');
  const failed = d.failedRuns.length
    ? `<ul class="failed">${d.failedRuns.map((r) => `<li>${esc(r.startedAt)} ${esc(r.job)} ${esc(r.source ?? '')} ${esc(r.window ?? '')}: ${esc(r.error ?? r.status)}</li>`).join('')}</ul>`
    : '<p class="ok">No failed runs.</p>';
  const legend = Object.keys(COLORS)
    .map((k) => `<span class="lg"><i style="background:${COLORS[k]}"></i>${esc(LABEL[k])}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>billing-mart report ${esc(d.from)} – ${esc(d.to)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
.sub{color:#5b6576}.kpis{display:flex;gap:16px;margin:16px 0}.kpi{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 16px}
.kpi b{display:block;font-size:22px}.grid{display:flex;flex-wrap:wrap;gap:28px}.src h3{margin:0 0 6px;font-size:15px}
.cal{display:grid;grid-template-columns:repeat(7,30px);gap:4px}.wd{font-size:10px;color:#5b6576;text-align:center}
.cell{width:30px;height:30px;border-radius:5px;display:flex;align-items:center;justify-content:center;color:#fff;font-size:11px;font-weight:600}
.cell.empty{background:transparent}.lg{margin-right:12px;white-space:nowrap}.lg i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e7}th,td{padding:4px 8px;border-bottom:1px solid #eef0f3;text-align:left;font-size:13px}
td.num{text-align:right;font-variant-numeric:tabular-nums}.bar{width:420px}.stack{display:flex;height:14px;background:#eef0f3;border-radius:3px;overflow:hidden}
.seg{display:inline-block;height:14px}.s0{background:#4c78a8}.s1{background:#f58518}.s2{background:#54a24b}.s3{background:#b279a2}.s4{background:#e45756}.s5{background:#72b7b2}
.ok{color:#2e9e5b;font-weight:600}.no{color:#9aa3b2}tr.failed .st,tr.abandoned .st{color:#d64541;font-weight:600}.failed li{color:#d64541}
code{background:#eef0f3;padding:1px 4px;border-radius:3px}
</style></head><body>
<h1>billing-mart — data completeness</h1>
<div class="sub">Days ${esc(d.from)} to ${esc(d.to)} · generated ${esc(d.now)} · fact table <code>${esc(d.factPath)}</code></div>
<div class="kpis"><div class="kpi"><b id="kpi-complete">${complete}/${d.days.length}</b>days complete (all sources)</div><div class="kpi"><b id="kpi-rows">${totalRows.toLocaleString('en-US')}</b>rows in range</div><div class="kpi"><b id="kpi-failed">${d.failedRuns.length}</b>recent failed runs</div><div class="kpi"><b id="kpi-attention">…</b>source-days needing attention</div></div>
<h2>Completeness calendar</h2>
<div class="legend">${legend}</div>
<div class="grid">${d.sources.map((s) => `<div class="src"><h3>${esc(s)}</h3>${heatmap(d, s)}</div>`).join('')}</div>
<h2>Rows per day</h2>${rowsChart(d)}
<h2>Freshness</h2><ul>${fresh}</ul>
<h2>Failed runs</h2>${failed}
<h2>Run history (latest ${d.recentRuns.length})</h2>${runsTable(d)}
<script>
// Counts the source-days that are not complete, from the calendar itself (so the page checks what it shows).
(function(){var bad=document.querySelectorAll('.cell[data-status]:not([data-status="COMPLETE"])').length;document.getElementById('kpi-attention').textContent=String(bad);})();
</script>
</body></html>
`;
}
