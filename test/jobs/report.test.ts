import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RetriableError } from '../../events/errors.js';
import { windowsOfDay } from '../../partitions/index.js';
import { checkCompleteness } from '../../jobs/checker.js';
import { runIngest } from '../../jobs/ingest.js';
import { renderReport } from '../../jobs/report.js';
import { collectStatus, formatStatusGrid, STATUS_EXIT, statusProblems, type StatusData } from '../../jobs/status.js';
import { ev, harness } from './fakes.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

let data: StatusData;
let dir: string;

/** zuora complete on both days; stripe's 2024-01-03 misses a file; one stripe run failed. */
beforeAll(async () => {
  const t = tempDir();
  dir = t.dir;
  const h = harness(t.dir, { sources: ['zuora', 'stripe'], now: '2024-01-06T00:00:00Z' });
  for (const day of ['2024-01-02', '2024-01-03']) {
    for (const source of ['zuora', 'stripe']) {
      const evs = ['00', '04', '08', '12', '16', '20'].map((hh) => ev(source, `${source}-${day}-${hh}`, `${day}T${hh}:30:00Z`, '10.00'));
      evs.forEach((e, i) => {
        if (!(source === 'stripe' && day === '2024-01-03' && i === 2)) h.landing.deliver(source, `${day}T${['00', '04', '08', '12', '16', '20'][i]}:00:00Z`, { name: 'invoice.csv', events: [e], bad: i === 0 ? [{ reason: 'BAD_AMOUNT', position: 3 }] : [] });
      });
      h.landing.control(source, day, evs);
      for (const w of windowsOfDay(day)) await runIngest(h.deps, { source, window: w, trigger: 'backfill', lookbackHours: 0 });
    }
  }
  h.wh.failNext = [new RetriableError('volume offline'), new RetriableError('volume offline'), new RetriableError('volume offline')];
  await runIngest(h.deps, { source: 'stripe', window: windowsOfDay('2024-01-04')[0]!, trigger: 'schedule' });
  await checkCompleteness(h.deps, { days: ['2024-01-02', '2024-01-03'], trigger: 'schedule' });
  data = await collectStatus(h.deps, { from: '2024-01-01', to: '2024-01-04' });
  return t.cleanup;
});

describe('status', () => {
  it('collects days × sources with completeness, windows, rows, files, quarantined, freshness and failures', () => {
    expect(data.days.map((d) => [d.day, d.cells.zuora!.status, d.cells.stripe!.status, d.success])).toEqual([
      ['2024-01-01', 'NOT_CHECKED', 'NOT_CHECKED', false],
      ['2024-01-02', 'COMPLETE', 'COMPLETE', true],
      ['2024-01-03', 'COMPLETE', 'INCOMPLETE', false],
      ['2024-01-04', 'NOT_CHECKED', 'NOT_CHECKED', false],
    ]);
    expect(data.days[2]!.cells.stripe).toMatchObject({ windowsLoaded: 6, rows: 5, files: 5, quarantined: 1 });
    // (the clock moved 3 s during the failed run's backoff)
    expect(data.freshness).toEqual([
      { source: 'zuora', lastWindow: '2024-01-03T20:00Z/2024-01-04T00:00Z', ageMs: 2 * 86_400_000 + 3000 },
      { source: 'stripe', lastWindow: '2024-01-03T20:00Z/2024-01-04T00:00Z', ageMs: 2 * 86_400_000 + 3000 },
    ]);
    expect(data.failedRuns.map((r) => [r.source, r.error])).toEqual([['stripe', 'failed after 3 attempts: volume offline']]);
    const grid = formatStatusGrid(data);
    expect(grid).toContain('2024-01-03  COMPLETE 6/6w 6r 6f 1q');
    expect(grid).toMatch(/2024-01-03 .*INCOMPLETE 6\/6w 5r 5f 1q .* no/);
    expect(grid).toMatch(/ {2}zuora +2024-01-03T20:00Z\/2024-01-04T00:00Z {2}2d00h ago/);
    expect(grid).toMatch(/recent failed runs \(1\):\n .* ingest stripe 2024-01-04T00:00Z\/2024-01-04T04:00Z failed: failed after 3 attempts: volume offline/);
  });
});

describe('status exit code per level (README "Exit codes")', () => {
  it('exits 1 for INCOMPLETE, NOT_ARRIVED, UNUSUAL_VOLUME and MISSING_CONTROL (and an unknown level), 0 for COMPLETE, ARRIVED, LATE and NOT_CHECKED', () => {
    const one = (status: string): StatusData => {
      const d: StatusData = structuredClone(data);
      for (const day of d.days) for (const s of d.sources) day.cells[s] = { ...day.cells[s]!, status: 'COMPLETE' };
      d.days[1]!.cells.stripe!.status = status;
      d.failedRuns = [];
      return d;
    };
    const exit = (status: string) => (statusProblems(one(status)).cells > 0 ? 1 : 0);
    expect(Object.fromEntries(['COMPLETE', 'ARRIVED', 'LATE', 'NOT_CHECKED', 'INCOMPLETE', 'NOT_ARRIVED', 'UNUSUAL_VOLUME', 'MISSING_CONTROL', 'SOMETHING_NEW'].map((s) => [s, exit(s)]))).toEqual({
      COMPLETE: 0, ARRIVED: 0, LATE: 0, NOT_CHECKED: 0, INCOMPLETE: 1, NOT_ARRIVED: 1, UNUSUAL_VOLUME: 1, MISSING_CONTROL: 1, SOMETHING_NEW: 1,
    });
    expect(statusProblems(one('NOT_ARRIVED')).byStatus).toEqual({ NOT_ARRIVED: 1 });
  });
});

function chromium(): string {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (existsSync(path.join(d, c))) return path.join(d, c);
  }
  throw new Error('headless Chromium is needed to test the HTML report: `apt-get install -y chromium` (.ci/run does this)');
}

describe('HTML report rendered in headless Chromium', () => {
  it('shows the calendar heatmap per source, rows per day, and run history', async () => {
    const html = renderReport(data);
    expect(html).not.toMatch(/<(link|img)[^>]+(href|src)=["']?https?:/); // self-contained
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html);
    const profile = tempDir('bm-chromium-');
    cleanups.push(profile.cleanup);
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', `--user-data-dir=${profile.dir}`];
    const { stdout: dom } = await run(chromium(), [...flags, '--dump-dom', `file://${file}`], { maxBuffer: 20 * 1024 * 1024, timeout: 60_000 });
    // the inline script ran in the browser and counted the cells that need attention (status's exit-1 levels): the one INCOMPLETE
    expect(dom).toMatch(/<b id="kpi-attention">1<\/b>/);
    expect(dom).toMatch(/<b id="kpi-complete">1\/4<\/b>/);
    const cells = [...dom.matchAll(/data-source="(\w+)" data-day="([\d-]+)" data-status="(\w+)"/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    expect(cells).toContain('stripe 2024-01-03 INCOMPLETE');
    expect(cells).toContain('zuora 2024-01-02 COMPLETE');
    expect(cells).toHaveLength(8);
    expect(dom).toMatch(/<td class="num" data-rows="11">11<\/td>/);
    expect(dom).toContain('volume offline');

    const png = path.join(dir, 'report.png');
    await run(chromium(), [...flags, `--screenshot=${png}`, '--window-size=1200,900', `file://${file}`], { timeout: 60_000 });
    expect(statSync(png).size).toBeGreaterThan(10_000);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('every completeness level in the report: its own colour in the calendar and the legend, and the attention count status exits on', () => {
  it('COMPLETE, ARRIVED, LATE, NOT_CHECKED, INCOMPLETE, NOT_ARRIVED, UNUSUAL_VOLUME and MISSING_CONTROL each appear once, rendered in Chromium', async () => {
    const levels = Object.keys(STATUS_EXIT);
    expect(levels.sort()).toEqual(['ARRIVED', 'COMPLETE', 'INCOMPLETE', 'LATE', 'MISSING_CONTROL', 'NOT_ARRIVED', 'NOT_CHECKED', 'UNUSUAL_VOLUME']);
    // the 8 cells of the fixture (4 days × 2 sources), one level each
    const all: StatusData = structuredClone(data);
    let i = 0;
    for (const d of all.days) for (const s of all.sources) d.cells[s] = { ...d.cells[s]!, status: levels[i++]! };
    all.failedRuns = [];
    const file = path.join(dir, 'levels.html');
    writeFileSync(file, renderReport(all));
    const profile = tempDir('bm-chromium-');
    cleanups.push(profile.cleanup);
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', `--user-data-dir=${profile.dir}`];
    const { stdout: dom } = await run(chromium(), [...flags, '--dump-dom', `file://${file}`], { maxBuffer: 20 * 1024 * 1024, timeout: 60_000 });
    const cellColour = new Map([...dom.matchAll(/class="cell" data-source="\w+" data-day="[\d-]+" data-status="(\w+)"(?: data-attention="1")? style="background:(#[0-9a-f]{6})"/g)].map((m) => [m[1]!, m[2]!]));
    const legend = [...dom.matchAll(/<span class="lg" data-status="(\w+)"( data-attention="1")?[^>]*><i style="background:(#[0-9a-f]{6})"><\/i>([^<]+)/g)].map((m) => ({ status: m[1]!, attention: !!m[2], colour: m[3]!, label: m[4]!.trim() }));
    expect(legend.map((l) => l.status).sort()).toEqual(levels);
    for (const l of legend) {
      expect(cellColour.get(l.status), l.status).toBe(l.colour); // the calendar uses the legend's colour
      expect(l.attention, l.status).toBe(STATUS_EXIT[l.status]!.exit === 1);
    }
    expect(new Set(legend.map((l) => l.colour)).size).toBe(levels.length); // no two levels share a colour
    expect(legend.find((l) => l.status === 'NOT_ARRIVED')!.label).toMatch(/^not arrived/);
    expect(legend.find((l) => l.status === 'UNUSUAL_VOLUME')!.label).toMatch(/^unusual volume/);
    expect(legend.find((l) => l.status === 'ARRIVED')!.label).toMatch(/^arrived .*not reconciled/);
    // the page's count (computed by its script in the browser) is status's: INCOMPLETE, NOT_ARRIVED, UNUSUAL_VOLUME, MISSING_CONTROL
    expect(statusProblems(all)).toMatchObject({ cells: 4, byStatus: { INCOMPLETE: 1, NOT_ARRIVED: 1, UNUSUAL_VOLUME: 1, MISSING_CONTROL: 1 } });
    expect(dom).toMatch(/<b id="kpi-attention">4<\/b>/);
  });
});
