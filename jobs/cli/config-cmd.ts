import { configOrigins } from '../../config/index.js';
import { redact } from '../../events/redact.js';
import type { Register } from './context.js';

/** A value on one line, redacted before it is aligned: text as it is, anything else as JSON. */
const shown = (v: unknown) => redact(typeof v === 'string' ? v : JSON.stringify(v));

/**
 * `billing-mart config`: prints the effective configuration after defaults, file, environment and flags;
 * `--show-origin` prints each effective key with the layer it came from. Output goes through ctx.emit, which
 * redacts every line (events/redact.ts): a password in a URL or PGPASSWORD never reaches the terminal.
 */
export const register: Register = (program, ctx) => {
  program
    .command('config')
    .description('validate and print the effective configuration (defaults < --config file < environment < flags)')
    .option('--show-origin', 'print each effective key with where its value came from: embedded defaults, <file>:<line>, an environment variable or a flag (secrets redacted)')
    .action((o: { showOrigin?: boolean }) => {
      const c = ctx.config();
      if (!o.showOrigin) return ctx.emit(c, () => JSON.stringify(c, null, 2));
      const keys = configOrigins(c).map((k) => ({ ...k, value: typeof k.value === 'string' ? redact(k.value) : k.value }));
      ctx.emit({ keys }, () => {
        const w = Math.max(...keys.map((k) => k.key.length));
        const v = Math.min(60, Math.max(...keys.map((k) => shown(k.value).length)));
        return keys.map((k) => `${k.key.padEnd(w)}  ${shown(k.value).padEnd(v)}  ${k.origin}`).join('\n');
      });
    });
};
