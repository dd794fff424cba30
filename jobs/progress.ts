/**
 * Progress for long runs: a redrawn bar on a terminal, plain lines otherwise (logs, CI). Formatting is pure;
 * the reporter only decides when to write. Rates and ETA come from the injected clock.
 */
import type { Clock } from './clock.js';

export interface ProgressState {
  done: number;
  total: number;
  rows: number;
  failed: number;
  startedMs: number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h >= 24) return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function rates(p: ProgressState, nowMs: number): { rowsPerSec: number; etaMs: number } {
  const elapsed = Math.max(1, nowMs - p.startedMs);
  const rowsPerSec = (p.rows * 1000) / elapsed;
  const etaMs = p.done === 0 ? NaN : (elapsed / p.done) * (p.total - p.done);
  return { rowsPerSec, etaMs };
}

/** `[##########··········] 12/48 25%  3,120 rows/s  ETA 1m05s  1 failed` */
export function formatBar(p: ProgressState, nowMs: number, width = 24): string {
  const frac = p.total ? p.done / p.total : 1;
  const filled = Math.round(frac * width);
  const { rowsPerSec, etaMs } = rates(p, nowMs);
  return `[${'#'.repeat(filled)}${'·'.repeat(width - filled)}] ${p.done}/${p.total} ${Math.floor(frac * 100)}%  ${Math.round(rowsPerSec).toLocaleString('en-US')} rows/s  ETA ${p.done === p.total ? '0s' : formatDuration(etaMs)}${p.failed ? `  ${p.failed} failed` : ''}`;
}

/** `progress done=12 total=48 pct=25 rows=1200 rows_per_s=3120 eta_s=65 failed=1` */
export function formatLinePlain(p: ProgressState, nowMs: number): string {
  const { rowsPerSec, etaMs } = rates(p, nowMs);
  const eta = p.done === p.total ? 0 : Number.isFinite(etaMs) ? Math.round(etaMs / 1000) : '?';
  return `progress done=${p.done} total=${p.total} pct=${p.total ? Math.floor((p.done / p.total) * 100) : 100} rows=${p.rows} rows_per_s=${Math.round(rowsPerSec)} eta_s=${eta} failed=${p.failed}`;
}

export interface ProgressReporter {
  update(p: ProgressState): void;
  finish(p: ProgressState): void;
}

export function progressReporter(o: { tty: boolean; write: (s: string) => void; clock: Clock; everyMs?: number }): ProgressReporter {
  let lastPlain = -Infinity;
  return {
    update(p) {
      const now = o.clock.now();
      if (o.tty) o.write(`\r${formatBar(p, now)}\x1b[K`);
      else if (now - lastPlain >= (o.everyMs ?? 0) || p.done === p.total) {
        lastPlain = now;
        o.write(formatLinePlain(p, now) + '\n');
      }
    },
    finish(p) {
      if (o.tty) o.write(`\r${formatBar(p, o.clock.now())}\x1b[K\n`);
    },
  };
}

export const silentProgress: ProgressReporter = { update() {}, finish() {} };
