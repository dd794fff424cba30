/**
 * billing-mart's own control-export shape, as the generator (and any export job that adopts it) drops it per UTC
 * event day: `<landing>/<source>/_control/<day>.json` = {source, date, generated_at?, totals: [{event_type,
 * currency, rows, amount_sum: "exact text"}]}. Declared as `completeness.control: {kind: export, format: billing-mart}`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FatalError } from '../../events/errors.js';
import { assertDay } from '../../partitions/index.js';
import type { ControlTotals } from '../types.js';
import { aggregateControl, type ControlProvider } from './provider.js';

const ControlSchema = z
  .object({
    source: z.string().min(1),
    date: z.string(),
    generated_at: z.string().optional(),
    totals: z.array(
      z
        .object({
          event_type: z.string().min(1),
          currency: z.string().regex(/^[A-Za-z]{3}$/, 'a 3-letter currency code'),
          rows: z.number().int().min(0),
          amount_sum: z.string().regex(/^-?\d+(\.\d+)?$/, 'exact decimal text such as "4567.890000000" (not a JSON number)'),
        })
        .passthrough(),
    ),
  })
  .passthrough();

export function controlPath(landing: string, source: string, day: string): string {
  return path.join(landing, source, '_control', `${assertDay(day)}.json`);
}

/** The control totals for a day, or null when the source has not dropped them (yet). */
export async function readControlTotals(landing: string, source: string, day: string): Promise<ControlTotals | null> {
  const file = controlPath(landing, source, day);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FatalError(`control file ${file} is not valid JSON (${(e as Error).message}); ask the ${source} export job to rewrite it`, { cause: e });
  }
  const r = ControlSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new FatalError(`control file ${file} is malformed: ${problems}`);
  }
  if (r.data.source !== source || r.data.date !== day) {
    throw new FatalError(`control file ${file} says source "${r.data.source}", date "${r.data.date}": expected "${source}", "${day}"`);
  }
  const meta = { origin: path.relative(landing, file).split(path.sep).join('/'), ...(r.data.generated_at !== undefined ? { generated_at: r.data.generated_at } : {}) };
  return aggregateControl(source, day, r.data.totals.map((t) => ({ event_type: t.event_type, currency: t.currency, rows: t.rows, amount: t.amount_sum })), meta);
}

export function billingMartExport(landing: string, source: string): ControlProvider {
  return { kind: 'export', origin: `${source}/_control/<day>.json`, totals: (day) => readControlTotals(landing, source, day) };
}
