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

/** zuora (America/Los_Angeles), stripe (UTC), chargebee (Europe/London), recurly (America/Los_Angeles). */
export const DEFAULT_SOURCES: SourceConfigInput[] = [ZUORA, STRIPE, CHARGEBEE, RECURLY];
