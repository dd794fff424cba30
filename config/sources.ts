/**
 * The source configuration language: how a billing system's files map to canonical events.
 * Owned by connectors work (issue 4); the built-in Zuora/Stripe/Chargebee mappings are written in it.
 * PLACEHOLDER: the connectors work replaces this schema with the full mapping language.
 */
import { z } from 'zod';

export const SourceConfigSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lower-case identifier such as "zuora" or "recurly_eu"'),
    timezone: z.string(),
    kind: z.string(),
  })
  .passthrough();
export type SourceConfig = z.infer<typeof SourceConfigSchema>;
