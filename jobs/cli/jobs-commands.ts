/** Registers the jobs commands (ingest, schedule, backfill, check completeness, status, report, demo) at once. */
import type { Register } from './context.js';
import { register as ingest } from './ingest.js';
import { register as schedule } from './schedule.js';
import { register as backfill } from './backfill.js';
import { register as completeness } from './completeness.js';
import { register as status } from './status.js';
import { register as demo } from './demo.js';

export const register: Register = (program, ctx) => {
  for (const r of [ingest, schedule, backfill, completeness, status, demo]) r(program, ctx);
};
