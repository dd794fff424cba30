/**
 * `billing-mart report`: the status as one self-contained HTML page (inline CSS, a few lines of inline script,
 * no external resources): a calendar heatmap of completeness per source, row counts per day, freshness, run
 * history. Pure: StatusData in, HTML text out.
 */
import { redact } from '../events/redact.js';
import type { Diagnostics } from './diagnose.js';
import { STATUS_EXIT, type StatusData } from './status.js';
import { formatDuration } from './progress.js';
import { dayStartMs } from '../partitions/index.js';

/** Every text on the page is redacted (credentials in run errors) and HTML-escaped. */
function esc(s: unknown): string {
  return redact(String(s ?? '')).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const COLORS: Record<string, string> = { COMPLETE: '#2e9e5b', ARRIVED: '#9fd4b0', INCOMPLETE: '#d64541', NOT_ARRIVED: '#b03a6f', UNUSUAL_VOLUME: '#8e6fd8', MISSING_CONTROL: '#e08e0b', LATE: '#f2c94c', NOT_CHECKED: '#c9ced6' };
const LABEL: Record<string, string> = {
  COMPLETE: 'complete (reconciled with the source\'s numbers)',
  ARRIVED: 'arrived (every window delivered and loaded, usual volume; not reconciled)',
  INCOMPLETE: 'incomplete (differs from the control totals)',
  NOT_ARRIVED: 'not arrived (a window not delivered or not loaded)',
  UNUSUAL_VOLUME: 'unusual volume (outside its usual range)',
  MISSING_CONTROL: 'missing control (no totals to reconcile with)',
  LATE: 'late (in grace)',
  NOT_CHECKED: 'not checked',
};
/** Whether a level needs someone: the same rule as `status`'s exit code (STATUS_EXIT; an unknown level does). */
const needsAttention = (status: string) => (STATUS_EXIT[status]?.exit ?? 1) === 1;

function weekday(day: string): number {
  return (new Date(dayStartMs(day)).getUTCDay() + 6) % 7; // Monday = 0
}

function heatmap(d: StatusData, source: string, x?: Diagnostics): string {
  if (!d.days.length) return '<p>no days</p>';
  const lead = weekday(d.days[0]!.day);
  const cells: string[] = [];
  for (let i = 0; i < lead; i++) cells.push('<div class="cell empty"></div>');
  for (const day of d.days) {
    const c = day.cells[source]!;
    const heal = x?.heal[`${source}|${day.day}`];
    const title = `${source} ${day.day}: ${c.status} (${LABEL[c.status] ?? c.status}) — ${c.detail}; ${c.windowsLoaded}/${c.windowsTotal} windows, ${c.rows} rows, ${c.quarantined} quarantined${heal ? `; to heal: ${heal}` : ''}`;
    cells.push(`<div class="cell" data-source="${esc(source)}" data-day="${esc(day.day)}" data-status="${esc(c.status)}"${needsAttention(c.status) ? ' data-attention="1"' : ''} style="background:${COLORS[c.status] ?? '#999'}" title="${esc(title)}"><span>${esc(day.day.slice(8))}</span></div>`);
  }
  return `<div class="cal">${['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((w) => `<div class="wd">${w}</div>`).join('')}${cells.join('')}</div>`;
}

function rowsChart(d: StatusData, dg?: Diagnostics): string {
  const max = Math.max(1, ...d.days.map((x) => x.rows));
  const bars = d.days
    .map((x) => {
      const segs = d.sources
        .map((s, i) => {
          const r = x.cells[s]!.rows;
          return r ? `<div class="seg s${i % 6}" style="width:${((r / max) * 100).toFixed(2)}%" title="${esc(`${s}: ${r} rows`)}"></div>` : '';
        })
        .join('');
      return `<tr><td class="day">${esc(x.day)}</td><td>${dg ? fileLink(dg.manifests[x.day], '_manifest.json') : ''}</td><td class="bar"><div class="stack">${segs}</div></td><td class="num" data-rows="${x.rows}">${x.rows.toLocaleString('en-US')}</td><td>${x.success ? '<span class="ok">_SUCCESS</span>' : '<span class="no">—</span>'}</td></tr>`;
    })
    .join('');
  const legend = d.sources.map((s, i) => `<span class="lg"><i class="seg s${i % 6}"></i>${esc(s)}</span>`).join(' ');
  return `<div class="legend">${legend}</div><table class="rows"><thead><tr><th>day</th><th>manifest</th><th>rows per source</th><th>rows</th><th>marker</th></tr></thead><tbody>${bars}</tbody></table>`;
}

const fileLink = (p: string | undefined, label: string) => (p ? `<a href="file://${esc(encodeURI(p))}">${esc(label)}</a>` : esc(label));
const LEVEL_CLASS: Record<string, string> = { FRESH: 'lv-fresh', WARN: 'lv-warn', ERROR: 'lv-error' };

/** Each non-green cell with the exact command that heals it (or what it waits for). */
function healList(d: StatusData, x: Diagnostics): string {
  const items: string[] = [];
  for (const day of d.days) {
    for (const s of d.sources) {
      const cmd = x.heal[`${s}|${day.day}`];
      const c = day.cells[s]!;
      if (cmd && c.status !== 'NOT_CHECKED') items.push(`<li class="heal" data-cell="${esc(`${s}|${day.day}`)}" data-status="${esc(c.status)}"><b>${esc(s)} ${esc(day.day)} ${esc(c.status)}</b> — ${esc(c.detail)}<br><code>${esc(cmd)}</code></li>`);
    }
  }
  const unchecked = d.days.flatMap((day) => d.sources.filter((s) => day.cells[s]!.status === 'NOT_CHECKED').map((s) => `${s} ${day.day}`));
  if (unchecked.length) items.push(`<li class="heal" data-status="NOT_CHECKED"><b>${unchecked.length} source-day(s) not checked yet</b> (${esc(unchecked.slice(0, 6).join(', '))}${unchecked.length > 6 ? ', …' : ''}): <code>${esc(x.heal[unchecked[0]!.split(' ').join('|')] ?? '')}</code> (one per day)</li>`);
  return items.length ? `<ul class="heals">${items.join('')}</ul>` : '<p class="ok">Every source-day is complete.</p>';
}

function quarantineTable(x: Diagnostics): string {
  if (!x.quarantine.length) return '<p class="ok">Nothing quarantined in this range.</p>';
  const rows = x.quarantine
    .map((q) => `<tr class="q" data-source="${esc(q.source)}" data-reason="${esc(q.reason)}"><td>${esc(q.source)}</td><td>${esc(q.reason)}</td><td class="num">${q.count}</td><td><code>${esc(`${q.example.file}:${q.example.line}`)}</code></td><td>${q.example.field ? `<code>${esc(q.example.field)}=${esc(JSON.stringify(q.example.rawValue))}</code> ` : ''}${esc(q.example.message)}</td></tr>`)
    .join('');
  return `<table class="quarantine"><thead><tr><th>source</th><th>reason</th><th>records</th><th>example (file:line)</th><th>what is wrong</th></tr></thead><tbody>${rows}</tbody></table><p class="sub">Each record is in <code>quarantine/</code> with its raw text; <code>billing-mart trace ID</code> finds one.</p>`;
}

function amountsTable(x: Diagnostics): string {
  if (!x.amounts.length) return '<p>No amounts in this range.</p>';
  const bad = x.amounts.filter((a) => !a.ok).length;
  const rows = x.amounts
    .map((a) => `<tr class="amt ${a.ok ? 'match' : 'mismatch'}" data-day="${esc(a.day)}" data-source="${esc(a.source)}" data-currency="${esc(a.currency)}"><td>${esc(a.day)}</td><td>${esc(a.source)}</td><td>${esc(a.currency)}</td><td class="num">${esc(a.table)}</td><td class="num">${a.control === null ? '<span class="no">no control file</span>' : esc(a.control)}</td><td>${a.ok ? '<span class="ok">=</span>' : '<span class="bad">≠</span>'}</td></tr>`)
    .join('');
  return `<p class="sub">${bad} of ${x.amounts.length} day × source × currency sums differ from the source's control totals.</p><table class="amounts"><thead><tr><th>day</th><th>source</th><th>currency</th><th>table sum(amount)</th><th>control total</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

function lagTable(x: Diagnostics): string {
  const rows = x.lag
    .map((l) => `<tr class="lag ${LEVEL_CLASS[l.level]}" data-source="${esc(l.source)}" data-level="${l.level}"><td>${esc(l.source)}</td><td class="num">${l.runs}</td><td class="num">${l.p50Ms === null ? '—' : esc(formatDuration(l.p50Ms))}</td><td class="num">${l.maxMs === null ? '—' : esc(formatDuration(l.maxMs))}</td><td><span class="pill ${LEVEL_CLASS[l.level]}">${l.level}</span> (warn ≥ ${l.warnHours}h, error ≥ ${l.errorHours}h)</td></tr>`)
    .join('');
  return `<table class="lagt"><thead><tr><th>source</th><th>loads</th><th>lag p50 (load − newest event)</th><th>lag max (load − oldest event)</th><th>freshness</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function dimsTable(x: Diagnostics): string {
  const rows = x.dims
    .map((m) => `<tr class="dim" data-source="${esc(m.source)}" data-ok-share="${m.okShare.toFixed(4)}"><td>${esc(m.source)}</td><td class="bar"><div class="stack"><div class="seg s2" style="width:${(m.okShare * 100).toFixed(1)}%"></div></div></td><td class="num">${(m.okShare * 100).toFixed(1)} %</td><td>${esc(Object.entries(m.byStatus).map(([k, v]) => `${k} ${v}`).join(', ') || 'no rows')}</td></tr>`)
    .join('');
  const bad = x.dims.some((m) => m.total && m.okShare < 1);
  return `<table class="dims"><thead><tr><th>source</th><th>dim_status OK</th><th>share</th><th>counts</th></tr></thead><tbody>${rows}</tbody></table>${bad ? '<p class="sub">Rows loaded before a dimension snapshot existed are repaired with <code>billing-mart ingest --source oltp</code>, then <code>billing-mart re-enrich --from D --to D</code>.</p>' : ''}`;
}

function runsTable(d: StatusData, x?: Diagnostics): string {
  const rows = [...d.recentRuns]
    .reverse()
    .map(
      (r) =>
        `<tr class="run ${esc(r.status)}" data-run="${esc(r.runId)}"><td>${fileLink(x?.runRecords[r.runId], r.startedAt)}</td><td>${esc(r.job)}</td><td>${esc(r.source ?? '')}</td><td>${esc(r.window ?? '')}</td><td>${esc(r.trigger)}</td><td class="st">${esc(r.status)}</td><td class="num">${r.rowsWritten}</td><td class="num">${Object.values(r.quarantined).reduce((a, b) => a + b, 0)}</td><td>${esc(r.error ?? r.note ?? '')}</td></tr>`,
    )
    .join('');
  return `<table class="runs"><thead><tr><th>started</th><th>job</th><th>source</th><th>window</th><th>trigger</th><th>status</th><th>rows written</th><th>quarantined</th><th>error / note</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderReport(d: StatusData, x?: Diagnostics): string {
  const complete = d.days.filter((x) => d.sources.every((s) => x.cells[s]!.status === 'COMPLETE')).length;
  const totalRows = d.days.reduce((n, x) => n + x.rows, 0);
  const fresh = d.freshness
    .map((f) => `<li><b>${esc(f.source)}</b>: ${f.lastWindow ? `last window ${esc(f.lastWindow)}, ${esc(formatDuration(f.ageMs!))} ago` : 'nothing loaded yet'}</li>`)
    .join('');
  const failed = d.failedRuns.length
    ? `<ul class="failed">${d.failedRuns
        .map((r) => `<li class="${r.resolved ? 'resolved' : 'unresolved'}" data-run="${esc(r.runId)}">${fileLink(x?.runRecords[r.runId], r.startedAt)} ${esc(r.job)} ${esc(r.source ?? '')} ${esc(r.window ?? '')}: ${esc(r.error ?? r.status)}${r.resolved ? ' <b class="ok">resolved</b> (a later run loaded its windows)' : ''}</li>`)
        .join('')}</ul>`
    : '<p class="ok">No failed runs.</p>';
  const legend = Object.keys(STATUS_EXIT)
    .map((k) => `<span class="lg" data-status="${k}"${needsAttention(k) ? ' data-attention="1"' : ''} title="${esc(`${k}: ${STATUS_EXIT[k]!.why}; status exit ${STATUS_EXIT[k]!.exit}`)}"><i style="background:${COLORS[k]}"></i>${esc(LABEL[k] ?? k)}${needsAttention(k) ? ' <b class="att">!</b>' : ''}</span>`)
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
.bad{color:#d64541;font-weight:700}tr.mismatch td{background:#fdecea}.heals li{margin:4px 0}.failed li.resolved{color:#5b6576}
.att{color:#d64541;font-weight:700}.pill{padding:1px 6px;border-radius:8px;color:#fff;font-size:12px}.pill.lv-fresh{background:#2e9e5b}.pill.lv-warn{background:#e08e0b}.pill.lv-error{background:#d64541}
</style></head><body>
<h1>billing-mart — data completeness</h1>
<div class="sub">Days ${esc(d.from)} to ${esc(d.to)} · generated ${esc(d.now)} · fact table <code>${esc(d.factPath)}</code></div>
<div class="kpis"><div class="kpi"><b id="kpi-complete">${complete}/${d.days.length}</b>days complete (all sources)</div><div class="kpi"><b id="kpi-rows">${totalRows.toLocaleString('en-US')}</b>rows in range</div><div class="kpi"><b id="kpi-failed">${d.failedRuns.length}</b>recent failed runs</div><div class="kpi"><b id="kpi-attention">…</b>source-days needing attention (<b class="att">!</b>: status exits 1)</div></div>
<h2>Completeness calendar</h2>
<div class="legend">${legend}</div>
<div class="grid">${d.sources.map((s) => `<div class="src"><h3>${esc(s)}</h3>${heatmap(d, s, x)}</div>`).join('')}</div>
${x ? `<h2 id="heal">What to do</h2>${healList(d, x)}` : ''}
<h2>Rows per day</h2>${rowsChart(d, x)}
${x ? `<h2 id="quarantine">Quarantine by source and reason</h2>${quarantineTable(x)}
<h2 id="amounts">Amounts per day and currency vs control totals</h2>${amountsTable(x)}
<h2 id="lag">Arrival lag per source</h2>${lagTable(x)}
<h2 id="dims">Dimension health (dim_status)</h2>${dimsTable(x)}` : ''}
<h2>Freshness</h2><ul>${fresh}</ul>
<h2>Failed runs</h2>${failed}
<h2>Run history (latest ${d.recentRuns.length})</h2>${runsTable(d, x)}
<script>
// Counts the source-days that need attention (the levels status exits 1 on), from the calendar itself (so the page checks what it shows).
(function(){var bad=document.querySelectorAll('.cell[data-attention]').length;document.getElementById('kpi-attention').textContent=String(bad);})();
</script>
</body></html>
`;
}
