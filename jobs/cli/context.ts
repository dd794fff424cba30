/**
 * What every command gets: the global options (--config, --warehouse, --landing, --json), a lazily loaded
 * frozen Config, output helpers that honour --json, and the exit-code convention.
 *
 * Exit codes: 0 ok; 1 a check found a problem (incomplete day, billing violation, failed windows);
 * 2 usage or configuration error; 3 the run itself failed (I/O, corrupt table, unexpected error);
 * 130 interrupted (SIGINT/SIGTERM): the work in progress finished, nothing partial is visible, re-run to resume.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config/index.js';
import { redact } from '../../events/redact.js';

export const EXIT = { OK: 0, PROBLEM: 1, USAGE: 2, FAILED: 3, INTERRUPTED: 130 } as const;

/** Throw to end a command with a specific exit code and message (and what to do, as hints). */
export class CliExit extends Error {
  constructor(readonly code: number, message: string, readonly hints: string[] = []) {
    super(message);
    this.name = 'CliExit';
  }
}

export interface GlobalOptions {
  config?: string;
  warehouse?: string;
  landing?: string;
  json?: boolean;
}

export interface CliContext {
  /** The validated, frozen configuration (loaded on first use; errors exit 2). */
  config(): Config;
  readonly json: boolean;
  /** Prints `data` as one JSON document with --json, else the human text. */
  emit(data: unknown, human: () => string): void;
  /** Progress and notes for people: stderr, suppressed with --json. */
  info(line: string): void;
  /** The global options as given (for messages that say where a value came from). */
  globals(): GlobalOptions;
  /** The arguments after the program name, exactly as typed (rerun hints are built from them). */
  args(): string[];
}

export function makeContext(program: Command): CliContext {
  let cached: Config | undefined;
  const opts = () => program.opts<GlobalOptions>();
  return {
    config() {
      if (!cached) cached = loadConfig({ configFile: opts().config, warehouse: opts().warehouse, landing: opts().landing });
      return cached;
    },
    get json() {
      return Boolean(opts().json);
    },
    emit(data, human) {
      // everything a command prints is redacted: no credential reaches a terminal or a pipe
      if (opts().json) process.stdout.write(redact(JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) + '\n');
      else process.stdout.write(redact(human()).replace(/\n?$/, '\n'));
    },
    info(line) {
      if (!opts().json) process.stderr.write(redact(line).replace(/\n?$/, '\n'));
    },
    globals: opts,
    // commander keeps the argv it parsed (node, script, args…) on the root command; its typings omit it.
    args: () => ((program as unknown as { rawArgs: string[] }).rawArgs ?? []).slice(2),
  };
}

export type Register = (program: Command, ctx: CliContext) => void;
