/**
 * Control totals and delivery evidence: how a source proves a day (config `completeness:` of a source,
 * config/completeness.ts). `openControl()` turns the declaration into a ControlProvider, or null for `none`.
 */
import type { ControlSpec } from '../../config/completeness.js';
import { ConfigError } from '../../events/errors.js';
import { billingMartExport } from './billing-mart.js';
import { mappedExport } from './export.js';
import type { ControlProvider } from './provider.js';
import { sourceQuery } from './query.js';

export { aggregateControl, type ControlCell, type ControlKind, type ControlProvider } from './provider.js';
export { readControlTotals, controlPath, billingMartExport } from './billing-mart.js';
export { mappedExport } from './export.js';
export { sourceQuery } from './query.js';
export { windowDeliveries, type WindowDelivery } from './deliveries.js';

export interface ControlContext {
  landing: string;
  source: string;
  /** The source's own recount (API sources): required for `kind: recount`. */
  recount?: ControlProvider;
  env?: NodeJS.ProcessEnv;
}

export function openControl(spec: ControlSpec, ctx: ControlContext): ControlProvider | null {
  switch (spec.kind) {
    case 'none':
      return null;
    case 'recount':
      if (!ctx.recount) {
        throw new ConfigError(`source "${ctx.source}": completeness.control kind "recount" needs a source that can recount a day through its API`, [
          `sources[${ctx.source}].completeness.control: landing-zone sources declare {kind: export, …}, {kind: query, sql: …} or {kind: none}`,
        ]);
      }
      return ctx.recount;
    case 'query':
      return sourceQuery(ctx.source, spec, ctx.env);
    case 'export':
      return 'format' in spec ? billingMartExport(ctx.landing, ctx.source) : mappedExport(ctx.landing, ctx.source, spec);
  }
}
