import type { Command } from 'commander';

/**
 * The shared `check` parent command. Every check registers as a subcommand (`check billing`,
 * `check completeness`, …) through this helper, so the module that registers first creates it and the others
 * reuse it — registration order in main.ts does not matter.
 */
export function checkCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'check');
  if (existing) return existing;
  return program.command('check').description('verify the warehouse; each check reports problems with ids and exits 1 when it finds any');
}
