/**
 * The source mapping language: how a billing system's landed files become canonical events.
 * The built-in Zuora/Stripe/Chargebee mappings (config/builtin/) and every user-defined source (YAML) are
 * written in it and validated by the same schema. Reference: docs/connectors.md.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../events/model.js';
import { isValidZone } from '../events/time-zone.js';
import { ConfigError, QUARANTINE_REASONS } from '../events/errors.js';

const IDENT = /^[a-z][a-z0-9_]*$/;
const Ident = (what: string) => z.string().regex(IDENT, `${what} must be a lower-case identifier such as "invoice_item"`);

/** A field path inside a record: a CSV column or a dotted JSON path (`status_transitions.paid_at`). */
const FieldPath = z.string().min(1, 'a field name or dotted JSON path such as "customer" or "status_transitions.paid_at"');
/** One path, or several tried in order (the first present, non-empty value wins). */
export const PathListSchema = z.union([FieldPath, z.array(FieldPath).min(1)], {
  error: 'a field name, or a list of field names tried in order',
});
export type PathList = z.infer<typeof PathListSchema>;

export const TIMESTAMP_FORMATS = ['auto', 'iso', 'epoch_s', 'epoch_ms', 'us-date'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];
const TimestampFormatSchema = z.enum(TIMESTAMP_FORMATS, { error: `a timestamp format: one of ${TIMESTAMP_FORMATS.join(', ')}` });

export const FILE_FORMATS = ['csv', 'jsonl', 'json'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** An IANA zone, checked by the one validator the timestamp parser uses (events/time-zone.ts). */
export const Zone = z.string().refine((s) => isValidZone(s), { message: 'an IANA time zone such as "America/Los_Angeles" or "UTC"' });

const CurrencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'a 3-letter ISO 4217 currency code such as USD (lower case accepted)')
  .transform((s) => s.toUpperCase());

/** Where a record's currency comes from: a constant code, or a column (with an optional default). */
export const CurrencySpecSchema = z.union(
  [
    CurrencyCode,
    z.object({ column: PathListSchema, default: CurrencyCode.optional() }).strict(),
  ],
  { error: 'a currency code such as "USD", or {column: <field>, default?: <code>}' },
);
export type CurrencySpec = z.infer<typeof CurrencySpecSchema>;

export const MoneySpecSchema = z
  .object({
    /** Column holding the amount; defaults to the money field's own name. */
    column: PathListSchema.optional(),
    unit: z.enum(['major', 'minor'], { error: '"major" (70.36) or "minor" (integer cents: 7036)' }),
    /** Currency for this amount; defaults to the object's `currency`. */
    currency: CurrencySpecSchema.optional(),
    /** Most decimal places a major-unit amount may carry; more is AMOUNT_OUT_OF_RANGE (never rounded). */
    scale: z.number().int().min(0).max(9).optional(),
  })
  .strict();
export type MoneySpec = z.infer<typeof MoneySpecSchema>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
/** A condition on one field: a scalar means "equals" (case-insensitive), a list means "in"; or an operator object. */
export const FieldConditionSchema = z.union(
  [
    Scalar,
    z.array(Scalar).min(1),
    z
      .object({
        equals: Scalar.optional(),
        not: Scalar.optional(),
        in: z.array(Scalar).optional(),
        notIn: z.array(Scalar).optional(),
        present: z.boolean().optional(),
        matches: z.string().optional(),
      })
      .strict()
      .refine((o) => Object.keys(o).length > 0, { message: 'an operator: equals, not, in, notIn, present or matches' }),
  ],
  { error: 'a value to compare with, a list of values, or {equals|not|in|notIn|present|matches}' },
);
export type FieldCondition = z.infer<typeof FieldConditionSchema>;
/** All fields must match (an object), or any of several such objects (a list). */
export const WhenSchema = z.union([z.record(z.string(), FieldConditionSchema), z.array(z.record(z.string(), FieldConditionSchema)).min(1)], {
  error: 'a mapping of field → condition (all must hold), or a list of such mappings (any may hold)',
});
export type When = z.infer<typeof WhenSchema>;

const EventTypeSchema = z.enum(EVENT_TYPES, { error: `one of the canonical event types (${EVENT_TYPES.join(', ')})` });

export const EventRuleSchema = z
  .object({
    /** Distinguishes two rules of the same event type on one object (part of the event identity). */
    name: Ident('name').optional(),
    when: WhenSchema.optional(),
    unless: WhenSchema.optional(),
    eventType: EventTypeSchema,
    /** Timestamp field(s) giving the event time; the first present one is used. */
    ts: PathListSchema,
    /** Name of a money field of the object; omitted = amount 0. */
    amount: z.string().optional(),
    sign: z.union([z.literal(1), z.literal(-1)], { error: '1 or -1' }).default(1),
    /** true: each new version/change marker of the record is a new event; false (default): one event per record. */
    perVersion: z.boolean().default(false),
    /** Share identity with events derived from another object (e.g. a Chargebee event about a subscription). */
    identity: z.object({ object: Ident('identity.object').optional(), id: PathListSchema.optional() }).strict().optional(),
  })
  .strict();
export type EventRule = z.infer<typeof EventRuleSchema>;

export const CheckSchema = z
  .object({
    field: FieldPath,
    required: z.boolean().optional(),
    /** The value (when present) must match this regular expression. */
    pattern: z.string().optional(),
    /** The value (when present) must NOT match this regular expression (e.g. a timestamp in an id column). */
    notPattern: z.string().optional(),
    reason: z.enum(QUARANTINE_REASONS, { error: `a quarantine reason: ${QUARANTINE_REASONS.join(', ')}` }).default('MALFORMED_RECORD'),
    message: z.string().optional(),
  })
  .strict();
export type Check = z.infer<typeof CheckSchema>;

export const SeqnSpecSchema = z.union(
  [
    z.literal('position'),
    z.object({ column: PathListSchema, kind: z.enum(['integer', 'timestamp'], { error: '"integer" or "timestamp"' }) }).strict(),
  ],
  { error: '"position", or {column: <field>, kind: integer|timestamp}' },
);
export type SeqnSpec = z.infer<typeof SeqnSpecSchema>;

export const ObjectSpecSchema = z
  .object({
    /** The source's table/object name; landing files are named `<file>[-<suffix>].<ext>[.gz]`. */
    object: Ident('object'),
    /** File-name prefix when it differs from the object name. */
    file: z.string().regex(/^[A-Za-z0-9_]+$/, 'letters, digits and underscores').optional(),
    formats: z.array(z.enum(FILE_FORMATS, { error: `one of ${FILE_FORMATS.join(', ')}` })).min(1).default(['csv', 'jsonl', 'json']),
    csv: z.object({ delimiter: z.string().length(1).default(',') }).strict().optional(),
    /** JSON pages: where the records are, e.g. `list[].invoice`, `data[]`, or `$` (the document is one record). */
    recordsPath: PathListSchema.default('$'),
    /** JSON lines: where the record is inside each line, e.g. `data` for Airbyte record messages; `$` = the line. */
    recordPath: PathListSchema.default('$'),
    timezone: Zone.optional(),
    id: PathListSchema,
    version: PathListSchema.optional(),
    seqn: SeqnSpecSchema.default('position'),
    timestamps: z.record(z.string(), TimestampFormatSchema).default({}),
    currency: CurrencySpecSchema.optional(),
    money: z.record(z.string(), MoneySpecSchema).default({}),
    keys: z
      .object({ account: PathListSchema.optional(), subscription: PathListSchema.optional(), invoice: PathListSchema.optional(), product: PathListSchema.optional() })
      .strict()
      .default({}),
    /** Fields holding JSON text (JSON inside a JSON string or a CSV cell); decoded before paths are read. */
    jsonFields: z.array(FieldPath).default([]),
    checks: z.array(CheckSchema).default([]),
    events: z.array(EventRuleSchema).min(1, 'at least one event rule'),
  })
  .strict()
  .superRefine((o, ctx) => {
    const seen = new Set<string>();
    o.events.forEach((r, i) => {
      if (r.amount !== undefined && !(r.amount in o.money)) {
        ctx.addIssue({ code: 'custom', path: ['events', i, 'amount'], message: `"${r.amount}" is not a money field of object "${o.object}" (declared: ${Object.keys(o.money).join(', ') || 'none'})` });
      }
      const key = `${r.identity?.object ?? ''}/${r.name ?? r.eventType}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['events', i, 'name'], message: `two rules produce ${r.eventType}: give each a distinct name` });
      seen.add(key);
      for (const w of [r.when, r.unless]) for (const c of whenConditions(w)) if (typeof c.cond === 'object' && !Array.isArray(c.cond) && c.cond.matches !== undefined) checkRegex(ctx, c.cond.matches, ['events', i, 'when', c.field]);
    });
    for (const [name, m] of Object.entries(o.money)) {
      if (m.currency === undefined && o.currency === undefined) ctx.addIssue({ code: 'custom', path: ['money', name, 'currency'], message: 'a currency (here or on the object)' });
      if (m.scale !== undefined && m.unit === 'minor') ctx.addIssue({ code: 'custom', path: ['money', name, 'scale'], message: 'scale applies to major-unit amounts only' });
    }
    o.checks.forEach((c, i) => {
      if (c.pattern) checkRegex(ctx, c.pattern, ['checks', i, 'pattern']);
      if (c.notPattern) checkRegex(ctx, c.notPattern, ['checks', i, 'notPattern']);
    });
  });
export type ObjectSpec = z.infer<typeof ObjectSpecSchema>;

function whenConditions(w: When | undefined): { field: string; cond: FieldCondition }[] {
  if (!w) return [];
  const list = Array.isArray(w) ? w : [w];
  return list.flatMap((m) => Object.entries(m).map(([field, cond]) => ({ field, cond })));
}

function checkRegex(ctx: z.RefinementCtx, re: string, path: (string | number)[]): void {
  try {
    new RegExp(re);
  } catch (e) {
    ctx.addIssue({ code: 'custom', path, message: `a valid regular expression (${(e as Error).message})` });
  }
}

export const SourceConfigSchema = z
  .object({
    name: z.string().regex(IDENT, 'a lower-case identifier such as "zuora" or "recurly_eu"'),
    /** Files in the landing zone (the only kind billing sources have today). */
    kind: z.literal('landing', { error: '"landing" (files dropped in <landing>/<name>/)' }).default('landing'),
    description: z.string().optional(),
    /** The zone naive timestamps are written in (the tenant/site zone). */
    timezone: Zone,
    objects: z.array(ObjectSpecSchema).min(1, 'at least one object mapping'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const prefixes = new Map<string, number>();
    s.objects.forEach((o, i) => {
      const p = o.file ?? o.object;
      if (prefixes.has(p)) ctx.addIssue({ code: 'custom', path: ['objects', i, 'object'], message: `file prefix "${p}" is already used by objects[${prefixes.get(p)}]` });
      prefixes.set(p, i);
    });
  });
export type SourceConfig = z.infer<typeof SourceConfigSchema>;
/** What a user writes (defaults not yet applied): the shape of YAML and of the built-in definitions. */
export type SourceConfigInput = z.input<typeof SourceConfigSchema>;

/** Formats zod issues as `<origin>: sources[<name>].objects[<object>].events[1].eventType: <expected>`. */
export function describeSourceIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, prefix: (string | number)[] = []): string[] {
  return issues.map((i) => `${formatPath([...prefix, ...i.path] as (string | number)[], raw, prefix.length)}: ${i.message}`);
}

function formatPath(p: (string | number)[], raw: unknown, skip: number): string {
  let out = '';
  let cur: unknown = raw;
  p.forEach((k, idx) => {
    if (idx < skip) {
      out += typeof k === 'number' ? `[${k}]` : (out ? '.' : '') + k;
      return;
    }
    const node = cur as Record<string, unknown> | unknown[] | undefined;
    const next = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[k] : undefined;
    if (typeof k === 'number') {
      const label = next && typeof next === 'object' ? ((next as Record<string, unknown>).name ?? (next as Record<string, unknown>).object) : undefined;
      out += typeof label === 'string' ? `[${k} "${label}"]` : `[${k}]`;
    } else out += (out ? '.' : '') + k;
    cur = next;
  });
  return out || '(top level)';
}

/** Validates one source definition; throws ConfigError listing every problem with its file and key. */
export function parseSourceConfig(raw: unknown, origin: string): SourceConfig {
  const r = SourceConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  throw new ConfigError(`invalid source definition in ${origin}`, describeSourceIssues(r.error.issues, raw).map((p) => `${origin}: ${p}`));
}
