import type { Register } from './context.js';

/** `billing-mart timestamps`: JSON lines in, one normalised JSON line out per input. (Being implemented.) */
export const register: Register = (program) => {
  program
    .command('timestamps')
    .description('read {"raw":..., "source_tz":...} JSON lines on stdin and write the UTC normalisation of each, in order')
    .action(() => {
      throw new Error('not implemented yet');
    });
};
