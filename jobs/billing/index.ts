/**
 * The billing job's side (see docs/billing.md): reads and commits the billing tables through the warehouse.
 *   runBilling()      one bill: one immutable record set, one warehouse commit (jobs/bill.ts runs it as a job)
 *   checkBilling()    the `check billing` checks (violations with ids; ok=false on any)
 *   mrrPort()         MRR absolute values per subscription version → MRR_CHANGED delta events + the MRR state write
 * The pure planner (cycles, assignment, check decisions) is the domain folder billing/.
 */
export { runBilling, type BillOptions, type BillResult } from './bill.js';
export { checkBilling, formatBillingCheck, VIOLATION_CODES, type BillingCheckReport, type Violation, type ViolationCode } from './check.js';
export { mrrPort, planMrr, MRR_STATE_TABLE } from './mrr-store.js';
export { listRuns, writeRun, BILLING_RECORDS_TABLE, BILLING_ASSIGNMENTS_TABLE, type StoredRun } from './store.js';
