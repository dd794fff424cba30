/**
 * Pull connectors for API-first billing systems (Stripe, Chargebee): each run's windows are listed from the
 * vendor's API and landed as raw pages in the landing zone, then loaded by the normal pick-up and mapping.
 * Reference: docs/connectors.md#pull-connectors.
 */
export { openPuller, readApiKey, auditDue, recountControl, type Puller, type PullReport, type PullRunOptions, type RecountTotals } from './pull.js';
export { parseRetryAfter, type ApiClock } from './http.js';
export { windowFolder } from './land.js';
