/** Shared by the jobs commands: opening the app, day-range flags, graceful shutdown on SIGTERM/SIGINT. */
import { ConfigError } from '../../events/errors.js';
import { addDays, assertDay, dayOf, dayRange } from '../../partitions/index.js';
import { openApp, type App } from '../app.js';
import { systemClock, type Clock } from '../clock.js';
import { createLogger, type LogLevel } from '../log.js';
import { EXIT, type CliContext } from './context.js';

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

/** Refuses days that have not begun (a future day cannot be LATE, it is a typo). Today is allowed. */
export function notInFuture(days: string[], clock: Clock, flag: string): string[] {
  const today = dayOf(clock.now());
  const future = days.filter((d) => d > today);
  if (future.length) throw new ConfigError(`${flag} ${future.at(-1)} is in the future (today is ${today} UTC): only days that have begun can be checked; e.g. ${flag} ${addDays(today, -1)}`);
  return days;
}

export function yesterday(clock: Clock): string {
  return addDays(dayOf(clock.now()), -1);
}

/** A second signal this soon after the first is the same interrupt (a terminal signals the whole process group; npx forwards it again). */
export const SAME_INTERRUPT_MS = 1000;

export interface ShutdownHooks {
  now?: () => number;
  exit?: (code: number) => void;
  write?: (line: string) => void;
  proc?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

/**
 * First SIGTERM/SIGINT: stop taking new work (the signal aborts) and let the current commit finish; the command
 * then exits 130 (EXIT.INTERRUPTED). A second signal within SAME_INTERRUPT_MS is the same interrupt and ignored;
 * a later one exits 130 at once: commits are atomic, so an abandoned run leaves nothing partial (the rerun converges).
 */
export function gracefulShutdown(onFirst: (sig: string) => void, hooks: ShutdownHooks = {}): { signal: AbortSignal; dispose: () => void; received: () => string | null } {
  const now = hooks.now ?? Date.now;
  const exit = hooks.exit ?? ((code: number) => process.exit(code));
  const write = hooks.write ?? ((l: string) => process.stderr.write(l));
  const proc = hooks.proc ?? process;
  const ac = new AbortController();
  let first: { sig: string; at: number } | null = null;
  const handler = (sig: NodeJS.Signals) => {
    if (first) {
      if (now() - first.at < SAME_INTERRUPT_MS) return;
      write(`billing-mart: ${sig} again — exiting now (exit ${EXIT.INTERRUPTED}); the run in progress is abandoned (nothing partial is visible; re-run it)\n`);
      exit(EXIT.INTERRUPTED);
      return;
    }
    first = { sig, at: now() };
    onFirst(sig);
    ac.abort();
  };
  proc.on('SIGTERM', handler);
  proc.on('SIGINT', handler);
  return {
    signal: ac.signal,
    received: () => first?.sig ?? null,
    dispose: () => {
      proc.off('SIGTERM', handler);
      proc.off('SIGINT', handler);
    },
  };
}

export function parsePositiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new ConfigError(`${flag} "${v}" must be a whole number ≥ 1`);
  return n;
}
