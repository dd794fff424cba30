/**
 * Embedded default sources: the four billing systems the demo and the generator use, each written in the source
 * mapping language (config/sources.ts, docs/connectors.md). Recurly is config-only: plain YAML data.
 */
import type { SourceConfigInput } from './sources.js';
import { CHARGEBEE } from './builtin/chargebee.js';
import { RECURLY } from './builtin/recurly.js';
import { STRIPE } from './builtin/stripe.js';
import { ZUORA } from './builtin/zuora.js';

export { CHARGEBEE, RECURLY, STRIPE, ZUORA };

/**
 * How the embedded defaults prove a day: the generator's control export (`<landing>/<source>/_control/<day>.json`,
 * billing-mart's own shape). The built-in mappings themselves declare no control: a real Zuora or Stripe landing
 * zone has no such file, so a deployment declares what its source really gives (docs/jobs.md#completeness).
 */
const GENERATOR_CONTROL = { control: { kind: 'export', format: 'billing-mart' } } as const;

/** zuora (America/Los_Angeles), stripe (UTC), chargebee (Europe/London), recurly (America/Los_Angeles). */
export const DEFAULT_SOURCES: SourceConfigInput[] = [ZUORA, STRIPE, CHARGEBEE, RECURLY].map((s) => ({ ...s, completeness: s.completeness ?? GENERATOR_CONTROL }));
