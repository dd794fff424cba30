/** Shared by the jobs commands: opening the app, graceful shutdown on SIGTERM/SIGINT (option parsing: ./options.ts). */
import { ConfigError } from '../../events/errors.js';
import { addDays, dayOf } from '../../partitions/index.js';
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
