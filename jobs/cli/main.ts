/**
 * The billing-mart CLI. Each command lives in its own module under jobs/cli/ and registers itself here.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, errorKind, kindHint, messageWithCauses } from '../../events/errors.js';
import { redact } from '../../events/redact.js';
import { CliExit, EXIT, makeContext, type Register } from './context.js';
import { register as configCmd } from './config-cmd.js';
import { register as timestampsCmd } from './timestamps.js';
import { register as tableCmds } from './table.js';
import { register as billCmd } from './bill.js';
import { register as jobsCmds } from './jobs-commands.js';
import { register as generateCmd } from './generate.js';
import { register as profileCmd } from './profile.js';
import { register as sourceCheckCmd } from './source-check.js';
import { register as reenrichCmd } from './reenrich.js';
import { register as inspectCmds } from './inspect.js';
import { register as doctorCmd } from './doctor.js';

const COMMANDS: Register[] = [tableCmds, jobsCmds, timestampsCmd, configCmd, billCmd, generateCmd, profileCmd, sourceCheckCmd, reenrichCmd, inspectCmds, doctorCmd];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('billing-mart')
    .description('Batch ETL: raw billing data → one UTC, exact-money, atomic-grain transaction fact table (day-partitioned Parquet).')
    .option('--config <file>', 'YAML configuration file (default: embedded defaults)')
    .option('--warehouse <dir>', 'warehouse directory (overrides config)')
    .option('--landing <dir>', 'landing-zone directory (overrides config)')
    .option('--json', 'machine-readable JSON output (errors too: {"error": {...}} on stdout)')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    // Usage errors are printed by main() (short, the suggestion first), not by commander under the full help.
    .configureOutput({ outputError: () => undefined })
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a check found a problem, 2 usage or configuration error, 3 the run failed, 130 interrupted.\nSee README.md for configuration and the data model.',
    );
  const ctx = makeContext(program);
  for (const register of COMMANDS) register(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** The version in the package's package.json (dist/jobs/cli → ../../..; jobs/cli under vitest → ../..). */
function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'billing-mart' && pkg.version) return pkg.version;
    } catch {
      // not at this level: try the next
    }
  }
  return 'unknown';
}

/** The command path the user typed (e.g. "check completeness"), for the "--help" pointer of a usage error. */
function commandPath(program: Command, argv: string[]): string {
  const names: string[] = [];
  let cmd = program;
  for (const a of argv.slice(2)) {
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) continue;
    names.push(sub.name());
    cmd = sub;
  }
  return ['billing-mart', ...names].join(' ');
}

/** A commander message, suggestion first: "did you mean status? unknown command 'stauts'". */
export function usageMessage(raw: string): string {
  const text = raw.replace(/^error: /, '').trim();
  const m = /^([\s\S]*?)\n\(Did you mean (?:one of )?([^?]+)\?\)$/.exec(text);
  return m ? `did you mean ${m[2]}? ${m[1]}` : text;
}

export interface ErrorReport {
  code: number;
  kind: 'usage' | 'config' | 'problem' | 'failed' | 'retriable' | 'fatal' | 'unexpected' | 'interrupted';
  message: string;
  hints: string[];
}

function report(argv: string[], r: ErrorReport): number {
  const json = argv.slice(2).includes('--json');
  // Error text can quote configuration (a URL with a password): redacted on both streams.
  if (json) process.stdout.write(redact(JSON.stringify({ error: r })) + '\n');
  if (r.message) process.stderr.write(redact(`billing-mart: ${r.message}${r.hints.length ? `\n  - ${r.hints.join('\n  - ')}` : ''}\n`));
  return r.code;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return EXIT.OK;
      return report(argv, { code: EXIT.USAGE, kind: 'usage', message: usageMessage(e.message), hints: [`${commandPath(program, argv)} --help shows the usage`] });
    }
    if (e instanceof CliExit) {
      const kind = e.code === EXIT.USAGE ? 'usage' : e.code === EXIT.PROBLEM ? 'problem' : e.code === EXIT.INTERRUPTED ? 'interrupted' : 'failed';
      // An empty message means the command already printed its result (e.g. a check that found problems).
      if (!e.message) return e.code;
      return report(argv, { code: e.code, kind, message: e.message, hints: e.hints });
    }
    if (e instanceof ConfigError) {
      const [message, ...problems] = e.message.split('\n  - ');
      return report(argv, { code: EXIT.USAGE, kind: 'config', message: message!, hints: problems });
    }
    const kind = errorKind(e);
    const code = report(argv, { code: EXIT.FAILED, kind, message: `${messageWithCauses(e)} (${kindHint(kind)})`, hints: [] });
    if (process.env.BILLING_MART_DEBUG && e instanceof Error && e.stack) process.stderr.write(redact(e.stack) + '\n');
    return code;
  }
}

const isEntry = process.argv[1] && /billing-mart(\.js)?$|jobs[\\/]cli[\\/]main\.(js|ts)$/.test(process.argv[1]);
if (isEntry) {
  // `billing-mart … | head`: a closed pipe ends the output, not the process with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(redact(`billing-mart: ${String(e)}\n`));
      process.exitCode = EXIT.FAILED;
    },
  );
}
