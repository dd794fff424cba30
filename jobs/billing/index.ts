/**
 * Billing records and MRR deltas: the public API of jobs/billing (see docs/billing.md).
 *   runBilling()      the `bill` job: one immutable record set per run under <warehouse>/billing_records/
 *   checkBilling()    the `check billing` checks (violations with ids; ok=false on any)
 *   planMrrRun()      MRR absolute values per subscription version → MRR_CHANGED delta events + durable state
 * Pure pieces: events/mrr.ts (applyMrrObservations), ./cycles.ts (periods, logic timeline), ./assign.ts (planBilling).
 */
export { runBilling, type BillOptions, type BillResult } from './bill.js';
export { checkBilling, formatBillingCheck, VIOLATION_CODES, type BillingCheckReport, type Violation, type ViolationCode } from './check.js';
export { planMrrRun, MrrStateStore, MRR_STATE_DIR, type MrrRunPlan } from './mrr-store.js';
export { planBilling, type Assignment, type CycleRecord, type FactEventRow, type BillPlan } from './assign.js';
export { CYCLES, PARTIES, calendarPeriod, periodAt, changeTimeline, cycleId, recordId, type CycleKind, type PartyKind, type Policy, type PolicySegment, type Period } from './cycles.js';
export { listRuns, RECORDS_DIR, type RunManifest } from './store.js';
