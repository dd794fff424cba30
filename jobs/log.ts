/**
 * Structured logs: one JSON object per line (config.log.format = 'json') with the run id, or a human line.
 * The sink and the clock are injected; nothing here writes to a stream by itself.
 */
import { redact } from '../events/redact.js';
import type { Clock } from './clock.js';
import { isoUtc } from './clock.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. runId) to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  format: 'json' | 'human';
  clock: Clock;
  /** Receives one complete line (without newline). */
  sink: (line: string) => void;
  minLevel?: LogLevel;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) return v.message;
  return v;
}

function humanValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v, jsonSafe);
}

export function formatLine(format: 'json' | 'human', ts: number, level: LogLevel, event: string, fields: LogFields): string {
  if (format === 'json') return JSON.stringify({ ts: isoUtc(ts), level, event, ...fields }, jsonSafe);
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${humanValue(v)}`)
    .join(' ');
  return `${isoUtc(ts)} ${level.toUpperCase().padEnd(5)} ${event}${kv ? ' ' + kv : ''}`;
}

export function createLogger(o: LoggerOptions, base: LogFields = {}): Logger {
  const min = ORDER[o.minLevel ?? 'info'];
  const write = (level: LogLevel) => (event: string, fields: LogFields = {}) => {
    if (ORDER[level] < min) return;
    o.sink(redact(formatLine(o.format, o.clock.now(), level, event, { ...base, ...fields })));
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (fields) => createLogger(o, { ...base, ...fields }),
  };
}

/** A logger that keeps lines in memory (tests, and commands that print their own summary). */
export function memoryLogger(clock: Clock, format: 'json' | 'human' = 'json'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ format, clock, sink: (l) => lines.push(l), minLevel: 'debug' });
  return Object.assign(log, { lines });
}

export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};
