/**
 * The MRR clause of an object mapping (`mrr:`): a record that states a subscription's recurring amount — a
 * Chargebee subscription's `mrr`, a Recurly subscription's unit_amount × quantity, a Stripe API subscription's
 * items × price — becomes an MRR observation (events/mrr.ts): the subscription's absolute MRR at one version.
 * Ingest turns observations into `mrr_delta` rows (MRR_CHANGED, amount 0) through the MRR delta component, so
 * out-of-order versions converge. Kept apart from the mapping language's rules (config/sources.ts) on purpose.
 *
 *   mrr:
 *     when: { status: [active, non_renewing, cancelled, paused] }   # records that state MRR (optional)
 *     subscription: id                      # default: the object's keys.subscription, else its id
 *     version: { column: resource_version, kind: integer }   # order of versions (higher is newer)
 *     ts: updated_at                        # when the version took effect (the delta rows are dated there)
 *     amount: { column: mrr, unit: minor }  # the recurring amount as the source states it, per month
 *     quantity: quantity                    # optional: amount × quantity
 *     items: subscription_items             # optional: sum over a list; amount/quantity are paths inside each item
 *     zeroWhen: { status: [cancelled] }     # states with no recurring revenue: MRR 0 whatever the amount says
 */
import { z } from 'zod';
import type { When as WhenT } from './sources.js';

const FieldPath = z.string().min(1, 'a field name or dotted JSON path');
const PathList = z.union([FieldPath, z.array(FieldPath).min(1)], { error: 'a field name, or a list of field names tried in order' });

/** Built with the mapping language's condition and currency schemas (passed in: no import cycle with sources.ts). */
export function mrrSchema(When: z.ZodType<WhenT>, Currency: z.ZodType<string | { column: string | string[]; default?: string }>) {
  return z
    .object({
      when: When.optional(),
      subscription: PathList.optional(),
      account: PathList.optional(),
      version: z.object({ column: PathList, kind: z.enum(['integer', 'timestamp'], { error: '"integer" or "timestamp"' }) }).strict(),
      ts: PathList,
      amount: z.object({ column: PathList, unit: z.enum(['major', 'minor'], { error: '"major" (70.36) or "minor" (integer cents: 7036)' }) }).strict(),
      quantity: PathList.optional(),
      items: FieldPath.optional(),
      currency: Currency.optional(),
      zeroWhen: When.optional(),
    })
    .strict();
}
export type MrrSpec = z.infer<ReturnType<typeof mrrSchema>>;
