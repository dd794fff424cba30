/**
 * The billing-mart CLI. Each command lives in its own module under jobs/cli/ and registers itself here.
 */
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

const COMMANDS: Register[] = [tableCmds, jobsCmds, timestampsCmd, configCmd, billCmd, generateCmd, profileCmd, sourceCheckCmd];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('billing-mart')
    .description('Batch ETL: raw billing data → one UTC, exact-money, atomic-grain transaction fact table (day-partitioned Parquet).')
    .option('--config <file>', 'YAML configuration file (default: embedded defaults)')
    .option('--warehouse <dir>', 'warehouse directory (overrides config)')
    .option('--landing <dir>', 'landing-zone directory (overrides config)')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a check found a problem, 2 usage or configuration error, 3 the run failed.\nSee README.md for configuration and the data model.',
    );
  const ctx = makeContext(program);
  for (const register of COMMANDS) register(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (e instanceof CliExit) {
      if (e.message) process.stderr.write(redact(`billing-mart: ${e.message}\n`));
      return e.code;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(redact(`billing-mart: ${e.message}\n`));
      return EXIT.USAGE;
    }
    process.stderr.write(redact(`billing-mart: ${messageWithCauses(e)} (${kindHint(errorKind(e))})\n`));
    if (process.env.BILLING_MART_DEBUG && e instanceof Error && e.stack) process.stderr.write(redact(e.stack) + '\n');
    return EXIT.FAILED;
  }
}

const isEntry = process.argv[1] && /billing-mart(\.js)?$|jobs[\\/]cli[\\/]main\.(js|ts)$/.test(process.argv[1]);
if (isEntry) {
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
