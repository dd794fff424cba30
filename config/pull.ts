/**
 * Pull connectors (connectors/api/): which configured sources are read from a vendor API before each run.
 * `pull.<source>` names a source of `sources`; its pages land in that source's landing folder and are loaded by
 * the same pick-up and mapping as dropped files. Credentials are never in this file: they come from an
 * environment variable or a secret file, read when a pull starts (docs/connectors.md#pull-connectors).
 */
import { z } from 'zod';

const Secret = z
  .union([
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as STRIPE_API_KEY') }).strict(),
    z.object({ file: z.string().min(1, 'a path to a file holding only the key') }).strict(),
  ], { error: '{env: VARIABLE} or {file: /path/to/secret}' });
export type SecretRef = z.infer<typeof Secret>;

const Common = {
  /** Where the API key is: an environment variable (default STRIPE_API_KEY / CHARGEBEE_API_KEY) or a file. */
  apiKey: Secret.optional(),
  /** Base URL of the API (default the vendor's); http://127.0.0.1:PORT for a local stand-in. */
  baseUrl: z.url({ error: 'an http(s) URL such as https://api.stripe.com' }).optional(),
  /** Objects listed per window (default: every object the source's mapping reads that the API can list). */
  objects: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)).min(1).optional(),
  /** Records per page (Stripe and Chargebee both allow at most 100). */
  pageSize: z.number().int().min(1).max(100).default(100),
  /** Retries of one request after 429 / 5xx / timeouts, with backoff (429: the server's Retry-After). */
  maxRetries: z.number().int().min(0).max(20).default(5),
  backoffBaseMs: z.number().int().min(0).default(1000),
  backoffMaxMs: z.number().int().min(0).default(60_000),
  /** Per-request timeout. */
  timeoutMs: z.number().int().min(1).default(80_000),
};

export const StripePullSchema = z
  .object({
    vendor: z.literal('stripe'),
    ...Common,
    /** Read /v1/events of the pulled range for changes to objects created earlier (Stripe keeps events 30 days). */
    events: z.boolean().default(true),
    /** Days Stripe keeps events; ranges older than this fall back to listing objects again. */
    eventRetentionDays: z.number().int().min(1).default(30),
  })
  .strict();

export const ChargebeePullSchema = z
  .object({
    vendor: z.literal('chargebee'),
    ...Common,
    /** The Chargebee site: https://<site>.chargebee.com. */
    site: z.string().regex(/^[A-Za-z0-9-]+$/, 'the site name, e.g. "acme" for acme.chargebee.com'),
    /** List by updated_at too (changes to records created before the range). */
    updates: z.boolean().default(true),
    /**
     * Audit pass: once a day (the window starting at hourUtc) list every object created in the last `days` days by
     * creation date, because records never updated carry no updated_at and an updated_at filter misses them.
     */
    audit: z
      .object({ days: z.number().int().min(0).max(3660).default(31), hourUtc: z.number().int().min(0).max(20).multipleOf(4).default(0) })
      .strict()
      .default({ days: 31, hourUtc: 0 }),
  })
  .strict();

export const PullSourceSchema = z.discriminatedUnion('vendor', [StripePullSchema, ChargebeePullSchema], {
  error: 'vendor: "stripe" or "chargebee"',
});
export type PullSourceConfig = z.infer<typeof PullSourceSchema>;
export type StripePullConfig = z.infer<typeof StripePullSchema>;
export type ChargebeePullConfig = z.infer<typeof ChargebeePullSchema>;

/** `pull: { <source name>: {...} }`; empty by default (every source is a landing zone something else fills). */
export const PullSchema = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a source name'), PullSourceSchema);
export type PullConfig = z.infer<typeof PullSchema>;
