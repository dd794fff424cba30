/**
 * Cron expressions, checked by croner itself with the options the scheduler runs them with: an expression that
 * passes `billing-mart config` is one the scheduler can run.
 */
import { Cron } from 'croner';

/** The one way a cron expression is compiled (config validation and the scheduler). */
export function newCron(expr: string, timezone = 'UTC'): Cron {
  return new Cron(expr, { timezone, paused: true, mode: '5-or-6-parts' });
}

/** Why croner refuses `expr` in `timezone`, or null when it accepts it. */
export function cronProblem(expr: string, timezone = 'UTC'): string | null {
  try {
    newCron(expr, timezone);
    return null;
  } catch (e) {
    return `invalid cron expression ${JSON.stringify(expr)} (${(e as Error).message}); expected 5 fields such as "0 */4 * * *"`;
  }
}
