/**
 * The billing domain, pure (no files, no DuckDB, no clock: time is passed in): billing cycles and the logic
 * timeline (cycles.ts), the assignment of events to cycle records (assign.ts, planBilling), the checks'
 * vocabulary and decisions (check.ts) and the run manifest (run.ts). The job that reads and commits the tables
 * is jobs/billing/ (see docs/billing.md).
 */
export { planBilling, type Assignment, type CycleRecord, type FactEventRow, type BillPlan } from './assign.js';
export { CYCLES, PARTIES, calendarPeriod, periodAt, changeTimeline, cycleId, recordId, describePolicy, samePolicy, type CycleKind, type PartyKind, type Policy, type PolicySegment, type Period } from './cycles.js';
export { classifyUnassigned, formatBillingCheck, totalsDifferences, VIOLATION_CODES, type BillingCheckReport, type PendingEvent, type Violation, type ViolationCode } from './check.js';
export { runPartition, RUN_MANIFEST_FORMAT, type RunManifest } from './run.js';
