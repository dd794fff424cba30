/**
 * How a source proves that a UTC day arrived in full (`completeness:` of a source definition). Kept apart from
 * the mapping language (config/sources.ts) on purpose: one concept, one file. Reference: docs/jobs.md#completeness.
 *
 *   completeness:
 *     control: { kind: export, format: billing-mart }              # <landing>/<source>/_control/<day>.json
 *     control: { kind: export, file: balance_summary, ... }         # a control export mapped like an object
 *     control: { kind: query, sql: "SELECT day, event_type, currency, rows, amount FROM … WHERE day = $1" }
 *     control: { kind: recount }                                    # an API source recounts the day itself
 *     control: { kind: none }                                       # ARRIVED is the best a day can reach
 *     arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 }  # the volume rule of ARRIVED
 */
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { EVENT_TYPES } from '../events/model.js';
import type { When as WhenT } from './sources.js';

const Zone = z.string().refine((s) => IANAZone.isValidZone(s), { message: 'an IANA time zone such as "America/Los_Angeles" or "UTC"' });
const FieldPath = z.string().min(1, 'a field name or dotted JSON path');
const PathList = z.union([FieldPath, z.array(FieldPath).min(1)], { error: 'a field name, or a list of field names tried in order' });
const CurrencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'a 3-letter ISO 4217 currency code such as USD')
  .transform((s) => s.toUpperCase());
/**
 * The schema of `completeness:`, built with the mapping language's own condition schema (`when`/`unless` of event
 * rules) passed in by config/sources.ts, so the two never differ and the modules do not import each other.
 */
export function completenessSchema(When: z.ZodType<WhenT>) {
  /** The control export of the generator and of any export job that writes billing-mart's own JSON shape. */
  const BillingMartExport = z.object({ kind: z.literal('export'), format: z.literal('billing-mart') }).strict();

  /** One line of a control export → one (event type, currency) cell: its row count and exact amount. */
  const ControlTotalRuleSchema = z
    .object({
      when: When.optional(),
      unless: When.optional(),
      eventType: z.enum(EVENT_TYPES, { error: `one of the canonical event types (${EVENT_TYPES.join(', ')})` }),
      /** Column holding the number of events the line stands for; omitted: the line is one event (an itemised report). */
      rows: PathList.optional(),
      /** The amount of those events; omitted: they move no money (0). */
      amount: z
        .object({
          column: PathList,
          unit: z.enum(['major', 'minor'], { error: '"major" (70.36) or "minor" (integer cents: 7036)' }),
          sign: z.union([z.literal(1), z.literal(-1)], { error: '1 or -1' }).default(1),
        })
        .strict()
        .optional(),
    })
    .strict();

  /** A control export in the source's own shape (a Stripe balance report, a Zuora bill-run summary), mapped by config. */
  const MappedExport = z
    .object({
      kind: z.literal('export'),
      /** File-name prefix of the export: `_control/<day>/<file>[-x].<ext>` or `_control/<file>-<day>.<ext>`. */
      file: z.string().regex(/^[A-Za-z0-9_]+$/, 'letters, digits and underscores'),
      formats: z.array(z.enum(['csv', 'jsonl', 'json'])).min(1).default(['csv', 'jsonl', 'json']),
      csv: z.object({ delimiter: z.string().length(1).default(',') }).strict().optional(),
      recordsPath: PathList.default('$'),
      recordPath: PathList.default('$'),
      /** The day a line reports on (a date or a timestamp, read in `timezone`, then taken as a UTC day); omitted: the file's day. */
      day: z.object({ column: PathList, format: z.enum(['auto', 'iso', 'epoch_s', 'epoch_ms', 'us-date']).default('auto') }).strict().optional(),
      timezone: Zone.default('UTC'),
      currency: z.union([CurrencyCode, z.object({ column: PathList, default: CurrencyCode.optional() }).strict()]),
      /** Rules tried on every line; every rule that matches contributes a cell (a line may feed several event types). */
      totals: z.array(ControlTotalRuleSchema).min(1, 'at least one totals rule'),
    })
    .strict();

  const Query = z
    .object({
      kind: z.literal('query'),
      /** SQL with one parameter `$1` (the UTC day, text YYYY-MM-DD) returning columns day, event_type, currency, rows, amount. */
      sql: z.string().min(1).refine((s) => s.includes('$1'), { message: 'the SQL must use $1 for the day it is asked about' }),
      /** postgres:// URL; default: BILLING_MART_CONTROL_PG_URL, else BILLING_MART_PG_URL, else the PG* variables. */
      url: z.string().optional(),
    })
    .strict();

  const ControlSpecSchema = z.union(
    [
      BillingMartExport,
      MappedExport,
      Query,
      z.object({ kind: z.literal('recount') }).strict(),
      z.object({ kind: z.literal('none') }).strict(),
    ],
    { error: 'a control declaration: {kind: export, format: billing-mart}, {kind: export, file: …, totals: […]}, {kind: query, sql: …}, {kind: recount} or {kind: none}' },
  );

  const ArrivalSpecSchema = z
    .object({
      /** Days before the checked one whose row counts make the source's usual range. */
      trailingDays: z.number().int().min(1).max(366).default(28),
      /** Fewer fully loaded trailing days than this: the volume is not judged (said in the result). */
      minHistory: z.number().int().min(1).default(3),
      /** The usual range is [min × (1 − tolerance), max × (1 + tolerance)] of the trailing days' rows. */
      tolerance: z.number().min(0).max(10).default(0.5),
    })
    .strict();

  const CompletenessSpecSchema = z
    .object({
      control: ControlSpecSchema.default({ kind: 'none' }),
      arrival: ArrivalSpecSchema.default({ trailingDays: 28, minHistory: 3, tolerance: 0.5 }),
    })
    .strict();
  return { CompletenessSpecSchema, ControlSpecSchema, ControlTotalRuleSchema };
}

type Schemas = ReturnType<typeof completenessSchema>;
export type CompletenessSpec = z.infer<Schemas['CompletenessSpecSchema']>;
export type ControlSpec = z.infer<Schemas['ControlSpecSchema']>;
export type ControlTotalRule = z.infer<Schemas['ControlTotalRuleSchema']>;
export type MappedExportSpec = Extract<ControlSpec, { file: string }>;
export type QuerySpec = Extract<ControlSpec, { kind: 'query' }>;
export type ArrivalSpec = CompletenessSpec['arrival'];
export const DEFAULT_COMPLETENESS: CompletenessSpec = { control: { kind: 'none' }, arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 } };

/** The proof a control declaration gives: what `level` a day can reach with it. */
export type ProofKind = 'export' | 'query' | 'recount' | 'none';
export function proofKind(c: ControlSpec): ProofKind {
  return c.kind;
}
