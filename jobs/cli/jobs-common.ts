/** Shared by the jobs commands: opening the app, day-range flags, graceful shutdown on SIGTERM/SIGINT. */
import { ConfigError } from '../../events/errors.js';
import { addDays, assertDay, dayOf, dayRange } from '../../partitions/index.js';
import { openApp, type App } from '../app.js';
import { systemClock, type Clock } from '../clock.js';
import { createLogger, type LogLevel } from '../log.js';
import type { CliContext } from './context.js';

export async function appFor(ctx: CliContext, o: { clock?: Clock; minLevel?: LogLevel } = {}): Promise<App> {
  const config = ctx.config();
  const clock = o.clock ?? systemClock;
  // With --json, stdout carries the result; logs stay on stderr as JSON lines.
  const format = ctx.json ? 'json' : config.log.format;
  const log = createLogger({ format, clock, sink: (l) => process.stderr.write(l + '\n'), minLevel: o.minLevel ?? 'info' });
  return openApp(config, { clock, log });
}

export function day(flag: string, v: string): string {
  try {
    return assertDay(v);
  } catch {
    throw new ConfigError(`${flag} "${v}" is not a calendar day: expected YYYY-MM-DD, e.g. 2024-01-03`);
  }
}

/** `--date D` or `--from D --to D`; when neither is given, `fallback`. */
export function daysFrom(o: { date?: string; from?: string; to?: string }, fallback: () => string[]): string[] {
  if (o.date && (o.from || o.to)) throw new ConfigError('give either --date D or --from D --to D, not both');
  if (o.date) return [day('--date', o.date)];
  if (o.from || o.to) {
    if (!o.from || !o.to) throw new ConfigError('--from and --to go together (both YYYY-MM-DD, inclusive)');
    const from = day('--from', o.from);
    const to = day('--to', o.to);
    if (to < from) throw new ConfigError(`--to ${to} is before --from ${from}`);
    return dayRange(from, to);
  }
  return fallback();
}

export function yesterday(clock: Clock): string {
  return addDays(dayOf(clock.now()), -1);
}

/**
 * First SIGTERM/SIGINT: stop taking new work (the signal aborts) and let the current commit finish. A second
 * one exits at once: commits are atomic, so an abandoned run leaves nothing partial (the rerun converges).
 */
export function gracefulShutdown(onFirst: (sig: string) => void): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`billing-mart: ${sig} again — exiting now; the run in progress is abandoned (nothing partial is visible; re-run it)\n`);
      process.exit(130);
    }
    onFirst(sig);
    ac.abort();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

export function parsePositiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new ConfigError(`${flag} "${v}" must be a whole number ≥ 1`);
  return n;
}
