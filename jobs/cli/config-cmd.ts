import type { Register } from './context.js';

/** `billing-mart config`: prints the effective configuration after defaults, file, environment and flags. */
export const register: Register = (program, ctx) => {
  program
    .command('config')
    .description('validate and print the effective configuration (defaults < --config file < environment < flags)')
    .action(() => {
      const c = ctx.config();
      ctx.emit(c, () => JSON.stringify(c, null, 2));
    });
};
