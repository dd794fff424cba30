/**
 * The source mapping language: how a billing system's landed files become canonical events.
 * The built-in Zuora/Stripe/Chargebee mappings (config/builtin/) and every user-defined source (YAML) are
 * written in it and validated by the same schema. Reference: docs/connectors.md.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../events/model.js';
import { isValidZone } from '../events/time-zone.js';
import { ConfigError, QUARANTINE_REASONS } from '../events/errors.js';
import { completenessSchema, DEFAULT_COMPLETENESS } from './completeness.js';
import { mrrSchema } from './mrr.js';

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
    /** The source writes major-unit amounts in exponent notation (`1.5e3`) on purpose; refused otherwise (BAD_AMOUNT). */
    exponent: z.boolean().optional(),
  })
  .strict();
export type MoneySpec = z.infer<typeof MoneySpecSchema>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

// ---- Conditions (S1: skip rules, numeric and column-to-column comparisons) ----------------------------------

/** Another column of the same record, as the right-hand side of a comparison: `{gt: {column: paid}}`. */
export const ColumnRefSchema = z.object({ column: FieldPath }).strict();
export type ColumnRef = z.infer<typeof ColumnRefSchema>;
export const isColumnRef = (v: unknown): v is ColumnRef => typeof v === 'object' && v !== null && !Array.isArray(v) && 'column' in v;

/** Exact decimal text as written in the config: `0`, `-12.50`. YAML numbers are accepted when they are exact. */
const DECIMAL_TEXT = /^[+-]?\d+(\.\d+)?$/;
const DecimalLiteral = z.union([
  z.string().regex(DECIMAL_TEXT, 'a decimal number such as 0 or "12.50"'),
  z
    .number()
    .refine((n) => DECIMAL_TEXT.test(String(n)) && String(n).replace(/[^0-9]/g, '').replace(/^0+/, '').length <= 15, {
      message: 'a number YAML can hold exactly (at most 15 digits, no exponent): quote longer decimals, e.g. "0.000000001"',
    })
    .transform((n) => String(n)),
]);
const NumericOperand = z.union([DecimalLiteral, ColumnRefSchema], { error: 'a decimal number, or {column: <field>}' });
const TextOperand = z.union([Scalar, ColumnRefSchema], { error: 'a value, or {column: <field>}' });

/** Numeric operators compare exact decimals (decimal.js), never floats. */
export const NUMERIC_OPERATORS = ['gt', 'gte', 'lt', 'lte', 'eq', 'ne'] as const;
export type NumericOperator = (typeof NUMERIC_OPERATORS)[number];

/** A condition on one field: a scalar means "equals" (case-insensitive), a list means "in"; or an operator object. */
export const FieldConditionSchema = z.union(
  [
    Scalar,
    z.array(Scalar).min(1),
    z
      .object({
        equals: TextOperand.optional(),
        not: TextOperand.optional(),
        in: z.array(Scalar).optional(),
        notIn: z.array(Scalar).optional(),
        present: z.boolean().optional(),
        matches: z.string().optional(),
        gt: NumericOperand.optional(),
        gte: NumericOperand.optional(),
        lt: NumericOperand.optional(),
        lte: NumericOperand.optional(),
        eq: NumericOperand.optional(),
        ne: NumericOperand.optional(),
      })
      .strict()
      .refine((o) => Object.keys(o).length > 0, { message: 'an operator: equals, not, in, notIn, present, matches, gt, gte, lt, lte, eq or ne' }),
  ],
  { error: 'a value to compare with, a list of values, or {equals|not|in|notIn|present|matches|gt|gte|lt|lte|eq|ne}' },
);
export type FieldCondition = z.infer<typeof FieldConditionSchema>;
/** All fields must match (an object), or any of several such objects (a list). */
export const WhenSchema = z.union([z.record(z.string(), FieldConditionSchema), z.array(z.record(z.string(), FieldConditionSchema)).min(1)], {
  error: 'a mapping of field → condition (all must hold), or a list of such mappings (any may hold)',
});
export type When = z.infer<typeof WhenSchema>;

/** A skip rule: records it matches are not billing events (a card `verify`); counted per rule, never quarantined. */
export const SkipRuleSchema = z
  .object({
    name: Ident('name'),
    when: WhenSchema,
    unless: WhenSchema.optional(),
    /** Why these records are not billing events (shown by source-check and in the docs). */
    description: z.string().optional(),
  })
  .strict();
export type SkipRule = z.infer<typeof SkipRuleSchema>;

// ---- Event types (S1: canonical + declared per source) --------------------------------------------------------

/** An event type name: a canonical one (events/model.ts) or one declared under the source's `eventTypes`. */
const EVENT_TYPE_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Sign convention of a declared event type: which way its amounts point (README "Amount signs"). */
export const SIGN_CONVENTIONS = ['positive', 'negative', 'zero', 'any'] as const;
export type SignConvention = (typeof SIGN_CONVENTIONS)[number];
export const DeclaredEventTypeSchema = z
  .object({
    sign: z.enum(SIGN_CONVENTIONS, { error: `the sign convention: ${SIGN_CONVENTIONS.join(', ')} (positive = money in or owed, negative = money out or reversed, zero = lifecycle)` }),
    description: z.string().min(1, 'what the event means, for BI readers'),
  })
  .strict();
export type DeclaredEventType = z.infer<typeof DeclaredEventTypeSchema>;

const EventTypeSchema = z.string().regex(EVENT_TYPE_NAME, 'an event type in upper case, such as PAYMENT_PROCESSED');
const CANONICAL: ReadonlySet<string> = new Set(EVENT_TYPES);

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
    /**
     * The rule's own change marker: field(s) whose values are part of the event identity, so the event recurs when
     * they change (a new billing period) and not when anything else does (S1). Excludes perVersion.
     */
    changeMarker: PathListSchema.optional(),
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
    /** Records that are not billing events, by rule (S1): evaluated before the event rules; counted, never quarantined. */
    skip: z.array(SkipRuleSchema).default([]),
    /**
     * Rows are versions of one record (Fivetran `*_history` tables), ordered by the object's `seqn` column (S1): an
     * event is emitted from the earliest version where it appears, never again for versions that repeat it.
     */
    history: z.boolean().default(false),
    /** The table's documented columns (S1): every field the mapping names must be one of them (checked at load). */
    columns: z.array(z.string().min(1)).min(1).optional(),
    events: z.array(EventRuleSchema).default([]),
    // --- MRR (S2): the subscription's recurring amount this record states; config/mrr.ts ---
    mrr: mrrSchema(WhenSchema, CurrencySpecSchema).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const seen = new Set<string>();
    if (o.events.length === 0 && o.skip.length === 0) ctx.addIssue({ code: 'custom', path: ['events'], message: 'at least one event rule (or only skip rules, for a table that holds no billing events)' });
    if (o.history && o.seqn === 'position') ctx.addIssue({ code: 'custom', path: ['seqn'], message: 'a history object needs seqn {column: <version column>, kind: timestamp|integer}: the order of its versions' });
    const skipNames = new Set<string>();
    o.skip.forEach((k, i) => {
      if (skipNames.has(k.name)) ctx.addIssue({ code: 'custom', path: ['skip', i, 'name'], message: `skip rule "${k.name}" is defined twice` });
      skipNames.add(k.name);
      for (const w of [k.when, k.unless]) for (const c of whenConditions(w)) if (typeof c.cond === 'object' && !Array.isArray(c.cond) && c.cond.matches !== undefined) checkRegex(ctx, c.cond.matches, ['skip', i, 'when', c.field]);
    });
    if (o.columns) checkColumns(o, ctx);
    o.events.forEach((r, i) => {
      if (r.perVersion && r.changeMarker !== undefined) ctx.addIssue({ code: 'custom', path: ['events', i, 'changeMarker'], message: 'either perVersion (the object version is the marker) or changeMarker, not both' });
      if (r.perVersion && o.version === undefined) ctx.addIssue({ code: 'custom', path: ['events', i, 'perVersion'], message: `object "${o.object}" declares no version field` });
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

/** Every field path an object mapping reads, with the key that names it (for load-time column checks). */
export function referencedFields(o: ObjectSpec): { key: (string | number)[]; field: string }[] {
  const out: { key: (string | number)[]; field: string }[] = [];
  const add = (key: (string | number)[], p: PathList | undefined) => {
    if (p === undefined) return;
    (Array.isArray(p) ? p : [p]).forEach((field, i) => out.push({ key: Array.isArray(p) ? [...key, i] : key, field }));
  };
  const addWhen = (key: (string | number)[], w: When | undefined) => {
    if (!w) return;
    (Array.isArray(w) ? w : [w]).forEach((m, mi) =>
      Object.entries(m).forEach(([field, cond]) => {
        const at = Array.isArray(w) ? [...key, mi, field] : [...key, field];
        out.push({ key: at, field });
        if (typeof cond === 'object' && !Array.isArray(cond)) for (const [op, v] of Object.entries(cond)) if (isColumnRef(v)) out.push({ key: [...at, op, 'column'], field: v.column });
      }),
    );
  };
  add(['id'], o.id);
  add(['version'], o.version);
  if (o.seqn !== 'position') add(['seqn', 'column'], o.seqn.column);
  for (const f of Object.keys(o.timestamps)) out.push({ key: ['timestamps', f], field: f });
  if (o.currency !== undefined && typeof o.currency !== 'string') add(['currency', 'column'], o.currency.column);
  for (const [name, m] of Object.entries(o.money)) {
    if (m.column !== undefined) add(['money', name, 'column'], m.column);
    else out.push({ key: ['money', name], field: name });
    if (m.currency !== undefined && typeof m.currency !== 'string') add(['money', name, 'currency', 'column'], m.currency.column);
  }
  for (const [k, p] of Object.entries(o.keys)) add(['keys', k], p);
  o.jsonFields.forEach((f, i) => out.push({ key: ['jsonFields', i], field: f }));
  o.checks.forEach((c, i) => out.push({ key: ['checks', i, 'field'], field: c.field }));
  o.skip.forEach((k, i) => {
    addWhen(['skip', i, 'when'], k.when);
    addWhen(['skip', i, 'unless'], k.unless);
  });
  o.events.forEach((r, i) => {
    add(['events', i, 'ts'], r.ts);
    addWhen(['events', i, 'when'], r.when);
    addWhen(['events', i, 'unless'], r.unless);
    add(['events', i, 'changeMarker'], r.changeMarker);
    add(['events', i, 'identity', 'id'], r.identity?.id);
  });
  return out;
}

/** With `columns` declared, a field the mapping names that is not a column (nor inside one, for JSON paths) fails at load. */
function checkColumns(o: ObjectSpec, ctx: z.RefinementCtx): void {
  const cols = new Set(o.columns);
  for (const { key, field } of referencedFields(o)) {
    if (cols.has(field) || cols.has(field.split('.')[0]!)) continue;
    ctx.addIssue({ code: 'custom', path: key, message: `"${field}" is not a column of ${o.object} (its declared columns: ${[...cols].join(', ')})` });
  }
}

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
    /** Event types beyond the canonical ones, with their sign convention (S1): `PAYMENT_VOIDED: {sign: negative, description}`. */
    eventTypes: z.record(z.string().regex(EVENT_TYPE_NAME, 'an event type name in upper case, such as PAYMENT_VOIDED'), DeclaredEventTypeSchema).default({}),
    objects: z.array(ObjectSpecSchema).min(1, 'at least one object mapping'),
    // --- completeness (S2): how the source proves a day arrived in full; config/completeness.ts ---
    completeness: completenessSchema(WhenSchema).CompletenessSpecSchema.default(DEFAULT_COMPLETENESS),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const name of Object.keys(s.eventTypes)) {
      if (CANONICAL.has(name)) ctx.addIssue({ code: 'custom', path: ['eventTypes', name], message: `${name} is a canonical event type: its sign convention is fixed (README "Amount signs"); declare only new types` });
    }
    s.objects.forEach((o, i) =>
      o.events.forEach((r, j) => {
        const declared = s.eventTypes[r.eventType];
        if (declared?.sign === 'zero' && r.amount !== undefined) ctx.addIssue({ code: 'custom', path: ['objects', i, 'events', j, 'amount'], message: `${r.eventType} is declared with sign zero: its rules carry no amount` });
      }),
    );
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
  return issues.flatMap(explainUnion).map((i) => `${formatPath([...prefix, ...i.path] as (string | number)[], raw, prefix.length)}: ${i.message}`);
}

/**
 * A union that failed as a whole (`when` is a mapping or a list; an operand a value or {column}) says only what
 * it accepts. When one alternative got further into the input (a deeper path) or the input had its type but
 * failed a check, that alternative's own problems are the useful ones: report those instead.
 */
function explainUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || !Array.isArray(issue.errors) || issue.errors.length === 0) return [issue];
  const branches = (issue.errors as z.core.$ZodIssue[][])
    .filter((b) => b.length > 0)
    .map((b) => b.flatMap((i) => explainUnion({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue)));
  if (branches.length === 0) return [issue];
  const typed = (branch: z.core.$ZodIssue[]) => branch.every((i) => i.code !== 'invalid_type' && i.code !== 'invalid_union');
  const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((i) => i.path.length));
  const score = (branch: z.core.$ZodIssue[]) => depth(branch) * 2 + (typed(branch) ? 1 : 0);
  const best = branches.reduce((x, y) => (score(y) > score(x) ? y : x));
  return depth(best) > issue.path.length || typed(best) ? best : [issue];
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

/**
 * Event types a rule names that are neither canonical nor declared under `eventTypes`. Checked on the raw input,
 * so they are reported together with every other problem (zod refinements only run on otherwise valid input).
 */
function eventTypeIssues(raw: unknown): z.core.$ZodIssue[] {
  const src = raw as { eventTypes?: unknown; objects?: unknown } | null;
  if (!src || typeof src !== 'object' || !Array.isArray(src.objects)) return [];
  const declared = src.eventTypes && typeof src.eventTypes === 'object' ? Object.keys(src.eventTypes) : [];
  const issues: z.core.$ZodIssue[] = [];
  src.objects.forEach((o: unknown, i) => {
    const events = (o as { events?: unknown } | null)?.events;
    if (!Array.isArray(events)) return;
    events.forEach((r: unknown, j) => {
      const t = (r as { eventType?: unknown } | null)?.eventType;
      if (typeof t !== 'string' || !EVENT_TYPE_NAME.test(t) || CANONICAL.has(t) || declared.includes(t)) return;
      issues.push({
        code: 'custom',
        path: ['objects', i, 'events', j, 'eventType'],
        message: `one of the canonical event types (${EVENT_TYPES.join(', ')}) or a type declared under eventTypes${declared.length ? ` (${declared.join(', ')})` : ''}; "${t}" is neither`,
        input: t,
      } as z.core.$ZodIssue);
    });
  });
  return issues;
}

/** Validates one source definition: the parsed source, or every problem (zod issues with their paths). */
export function validateSource(raw: unknown): { ok: true; data: SourceConfig } | { ok: false; issues: z.core.$ZodIssue[] } {
  const r = SourceConfigSchema.safeParse(raw);
  const extra = eventTypeIssues(raw);
  if (r.success && extra.length === 0) return { ok: true, data: r.data };
  const issues = r.success ? [] : [...r.error.issues];
  const at = new Set(issues.map((i) => i.path.join('.')));
  return { ok: false, issues: [...issues, ...extra.filter((e) => !at.has(e.path.join('.')))] };
}

/** Validates one source definition; throws ConfigError listing every problem with its file and key. */
export function parseSourceConfig(raw: unknown, origin: string, prefix: (string | number)[] = []): SourceConfig {
  const r = validateSource(raw);
  if (r.ok) return r.data;
  throw new ConfigError(`invalid source definition in ${origin}`, describeSourceIssues(r.issues, raw, prefix).map((p) => `${origin}: ${p}`));
}
