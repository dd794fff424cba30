/**
 * In-memory stand-ins for the warehouse, a source's landing zone and the OLTP snapshot, so orchestration is
 * tested without Parquet. They follow docs/CONTRACTS.md: idempotency by committed input fingerprints and by
 * event_id (highest seqn kept), windows recorded as loaded, exact decimal totals per (source, type, currency).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { RetriableError } from '../../events/errors.js';
import { eventId } from '../../events/identity.js';
import { Decimal, Money } from '../../events/money.js';
import type { BillingEvent, EventType, QuarantineEntry } from '../../events/model.js';
import { assertDay, dayOf, landingDayOf, windowKey, windowsOfDay, type Window } from '../../partitions/index.js';
import { aggregateControl, type ControlCell, type ControlProvider } from '../../connectors/control/index.js';
import { ManualClock } from '../../jobs/clock.js';
import { dimsLoader, type JobDeps } from '../../jobs/deps.js';
import { LockManager } from '../../warehouse/lock.js';
import { MemoryStorage } from '../helpers/memory-storage.js';
import { memoryLogger } from '../../jobs/log.js';
import type { Cell, CommitRequest, CommitResult, ControlTotals, DayManifest, DimRow, InputFile, OltpPort, SourceBatch, SourceCompleteness, SourcePort, WarehousePort } from '../../jobs/ports.js';
import { RunStore } from '../../jobs/runstore.js';
import { StateArea } from '../../warehouse/state-area.js';
import { mrrPort } from '../../jobs/billing/mrr-store.js';
import { tableDef } from '../../warehouse/tables.js';

let seq = 0n;
export function ev(source: string, recordId: string, ts: string, amount: string, o: { type?: EventType; currency?: string; account?: string | null; product?: string | null; version?: string } = {}): BillingEvent {
  const ms = Date.parse(ts);
  const currency = o.currency ?? 'USD';
  return Object.freeze({
    eventId: eventId({ billingSource: source, sourceObjectType: 'invoice', sourceRecordId: recordId, sourceVersion: o.version ?? null }),
    seqn: ++seq,
    billingSource: source,
    eventType: o.type ?? 'INVOICE_POSTED',
    sourceObjectType: 'invoice',
    sourceRecordId: recordId,
    sourceVersion: o.version ?? null,
    eventTs: BigInt(ms) * 1000n,
    eventDate: dayOf(ms),
    tsPrecision: 'second',
    tsTruncated: false,
    tsAmbiguous: false,
    tsNonexistent: false,
    sourceTsRaw: ts,
    sourceTimezone: 'UTC',
    sourceLocalDate: dayOf(ms),
    amount: Money.major(amount, currency),
    accountId: o.account === undefined ? 'A1' : o.account,
    subscriptionId: null,
    invoiceId: recordId,
    productId: o.product === undefined ? null : o.product,
    mrrDelta: null,
    dims: null,
    lineage: { sourceFile: '', sourcePosition: 0, ingestRunId: '' },
  });
}

export interface LandingFile {
  path: string;
  events: BillingEvent[];
  bad?: { reason: string; position: number }[];
  /** Changes the fingerprint (a changed re-delivery). */
  revision?: number;
}

const HOUR = 3_600_000;

/** A landing zone in memory: files per (source, window start). */
export class FakeLanding {
  readonly folders = new Map<string, LandingFile[]>();
  readonly controls = new Map<string, ControlTotals>();
  /** How each source proves a day (default: a control export). */
  readonly proofs = new Map<string, SourceCompleteness>();
  /** `${source}|${windowStartMs}` of folders delivered without a marker. */
  readonly unmarked = new Set<string>();
  reads = 0;
  private readWaiters: { n: number; resolve: () => void }[] = [];
  /** Resolves once `n` reads have started (an event, not a poll: a run may spend a while in fsyncs before it reads). */
  readsReached(n: number): Promise<void> {
    if (this.reads >= n) return Promise.resolve();
    return new Promise((resolve) => this.readWaiters.push({ n, resolve }));
  }
  deliver(source: string, windowStart: string, file: Omit<LandingFile, 'path'> & { name: string }): void {
    const ms = Date.parse(windowStart);
    const key = `${source}|${ms}`;
    const p = path.posix.join(source, dayOf(ms), new Date(ms).toISOString().slice(11, 13), file.name);
    const list = (this.folders.get(key) ?? []).filter((f) => f.path !== p);
    list.push({ path: p, events: file.events, bad: file.bad, revision: file.revision });
    this.folders.set(key, list);
  }
  /** Control totals that match exactly the given events (valid records only). */
  control(source: string, day: string, events: BillingEvent[]): void {
    this.controlCells(source, day, events.filter((x) => x.eventDate === day).map((e) => ({ event_type: e.eventType, currency: e.amount.currency, rows: 1, amount: e.amount.amount })));
  }
  /** Control totals as the source reports them (any split, any currency case). */
  controlCells(source: string, day: string, cells: ControlCell[]): void {
    this.controls.set(`${source}|${day}`, aggregateControl(source, day, cells, { origin: 'fake control' }));
  }
  /** The fake's ControlProvider (run through the same contract as the real ones). */
  provider(source: string): ControlProvider {
    return { kind: 'export', origin: 'fake control', totals: async (day) => this.controls.get(`${source}|${assertDay(day)}`) ?? null };
  }
  fingerprint(f: LandingFile): InputFile {
    const sha256 = createHash('sha256').update(`${f.path}#${f.revision ?? 0}#${f.events.map((e) => e.eventId).join(',')}`).digest('hex');
    return { path: f.path, sha256, bytes: 100 * f.events.length };
  }
  port(source: string, fail?: () => Error | undefined): SourcePort {
    const landing = this;
    return {
      name: source,
      read: async (w: Window, o): Promise<SourceBatch> => {
        this.reads++;
        for (const w of this.readWaiters.filter((x) => this.reads >= x.n)) w.resolve();
        this.readWaiters = this.readWaiters.filter((x) => this.reads < x.n);
        const err = fail?.();
        if (err) throw err;
        const inputs: InputFile[] = [];
        const skipped: InputFile[] = [];
        const events: BillingEvent[] = [];
        const quarantine: QuarantineEntry[] = [];
        const bad: QuarantineEntry[] = [];
        for (let t = w.startMs - Math.ceil(o.lookbackHours / 4) * 4 * HOUR; t < w.endMs; t += 4 * HOUR) {
          for (const f of this.folders.get(`${source}|${t}`) ?? []) {
            const fp = this.fingerprint(f);
            if (o.committed.has(`${fp.path}@${fp.sha256}`)) {
              skipped.push(fp);
              continue;
            }
            inputs.push(fp);
            events.push(...f.events.map((e) => Object.freeze({ ...e, lineage: { sourceFile: f.path, sourcePosition: 1, ingestRunId: o.runId } })));
            for (const b of f.bad ?? []) bad.push({ billingSource: source, sourceFile: f.path, sourcePosition: b.position, field: 'amount', rawValue: 'x', reason: b.reason, message: 'bad', rawRecord: '{}', ingestRunId: o.runId });
          }
        }
        async function* gen() {
          for (const e of events) yield e;
          quarantine.push(...bad); // filled while iterating, complete at the end (as the contract says)
        }
        return { inputs, skipped, events: gen(), quarantine };
      },
      get completeness() {
        return landing.proofs.get(source) ?? { proof: 'export' as const, origin: 'fake control', arrival: { trailingDays: 28, minHistory: 3, tolerance: 0.5 } };
      },
      controlTotals: async (day) => (landing.proofs.get(source)?.proof === 'none' ? null : this.provider(source).totals(day)),
      deliveries: async (day) =>
        windowsOfDay(day).map((w) => {
          const key = `${source}|${w.startMs}`;
          const files = this.folders.get(key) ?? [];
          const folder = `${source}/${day}/${new Date(w.startMs).toISOString().slice(11, 13)}`;
          if (!files.length) return { window: windowKey(w), delivered: false, folders: [], reason: 'no landing folder' };
          return this.unmarked.has(key) ? { window: windowKey(w), delivered: false, folders: [folder], reason: `no _SUCCESS / .done marker in ${folder}` } : { window: windowKey(w), delivered: true, folders: [folder] };
        }),
    };
  }
}

/** The warehouse contract in memory. `gate` lets a test hold a commit open; `failNext` makes commits throw. */
export class FakeWarehouse implements WarehousePort {
  readonly factPath = '/fake/fact_billing_event';
  readonly rows = new Map<string, Map<string, BillingEvent>>();
  readonly inputs = new Map<string, Set<string>>();
  readonly windows = new Map<string, Set<string>>();
  readonly success = new Map<string, unknown>();
  readonly dims = new Map<string, { snapshotDate: string; rows: DimRow[] }[]>();
  readonly commits: string[] = [];
  compacted: string[][] = [];
  failNext: Error[] = [];
  gate?: Promise<void>;
  version = 0;
  /** Tables beside the facts (the MRR state), `${table}/${partition}` → rows and the version that last changed them. */
  readonly tables = new Map<string, { rows: Record<string, Cell>[]; version: number }>();

  /** As warehouse/tables.ts: a keyed snapshot table (schema.ts latestBy) returns the newest commit_version per key. */
  async readTable(table: string, partition: string, keys?: { column: string; values: readonly string[] }): Promise<{ rows: Record<string, Cell>[]; basis: number | null }> {
    const t = this.tables.get(`${table}/${partition}`);
    if (!t) return { rows: [], basis: null };
    const by = tableDef(table).latestBy;
    let rows = keys ? t.rows.filter((r) => keys.values.includes(String(r[keys.column]))) : t.rows;
    if (by) {
      const newest = new Map<string, bigint>();
      const k = (r: Record<string, Cell>) => by.map((c) => String(r[c])).join('\u0000');
      for (const r of rows) if ((newest.get(k(r)) ?? -1n) < (r.commit_version as bigint)) newest.set(k(r), r.commit_version as bigint);
      rows = rows.filter((r) => newest.get(k(r)) === r.commit_version);
    }
    return { rows, basis: t.version };
  }

  async commitIngest(req: CommitRequest): Promise<CommitResult> {
    const batch = new Map<string, BillingEvent>();
    let rowsIn = 0;
    let dupBatch = 0;
    for await (const e of req.events) {
      rowsIn++;
      const prev = batch.get(e.eventId);
      if (prev) dupBatch++;
      if (!prev || prev.seqn < e.seqn) batch.set(e.eventId, e);
    }
    if (this.gate) await this.gate;
    const err = this.failNext.shift();
    if (err) throw err;
    const next = this.version + 1;
    for (const w of req.tables ?? []) {
      const key = `${w.table}/${w.partition}`;
      const t = this.tables.get(key);
      if ((t?.version ?? null) !== (w.basis ?? null)) throw new RetriableError(`${key} changed since it was read`);
      this.tables.set(key, { rows: [...(w.mode === 'append' ? (t?.rows ?? []) : []), ...w.rows.map((r) => ({ ...r, commit_version: BigInt(next) }))], version: next });
    }
    let written = 0;
    let dupExisting = 0;
    const days = new Set<string>();
    for (const e of batch.values()) {
      const day = this.rows.get(e.eventDate) ?? new Map<string, BillingEvent>();
      if (day.has(e.eventId)) {
        dupExisting++;
        continue;
      }
      day.set(e.eventId, e);
      this.rows.set(e.eventDate, day);
      days.add(e.eventDate);
      written++;
    }
    const ins = this.inputs.get(req.source) ?? new Set<string>();
    req.inputs.forEach((i) => ins.add(`${i.path}@${i.sha256}`));
    this.inputs.set(req.source, ins);
    const ws = this.windows.get(req.source) ?? new Set<string>();
    req.windows.forEach((w) => ws.add(windowKey(w)));
    this.windows.set(req.source, ws);
    this.version++;
    this.commits.push(req.runId);
    return { commitId: `c${this.version}`, version: this.version, skipped: written === 0, rowsIn, rowsWritten: written, duplicatesInBatch: dupBatch, duplicatesExisting: dupExisting, quarantined: req.quarantine.length, filesAdded: days.size, partitions: [...days].sort() };
  }
  async committedInputs(source: string, days?: { from: string; to: string }) {
    const all = [...(this.inputs.get(source) ?? [])];
    return new Set(days ? all.filter((k) => { const d = landingDayOf(k); return d === null || (d >= days.from && d <= days.to); }) : all);
  }
  async loadedWindows(source: string, days?: { from: string; to: string }) {
    const all = [...(this.windows.get(source) ?? [])];
    return new Set(days ? all.filter((k) => k.slice(0, 10) >= days.from && k.slice(0, 10) <= days.to) : all);
  }
  async manifests(days: readonly string[]): Promise<Map<string, DayManifest | null>> {
    const out = new Map<string, DayManifest | null>();
    for (const d of days) out.set(d, await this.manifest(d));
    return out;
  }

  async manifest(day: string): Promise<DayManifest | null> {
    const rows = this.rows.get(day);
    if (!rows) return null;
    const by = new Map<string, { billing_source: string; event_type: string; currency: string; rows: number; amount_sum: string }>();
    for (const e of rows.values()) {
      const k = `${e.billingSource}|${e.eventType}|${e.amount.currency}`;
      const cur = by.get(k) ?? { billing_source: e.billingSource, event_type: e.eventType, currency: e.amount.currency, rows: 0, amount_sum: '0' };
      cur.rows++;
      cur.amount_sum = new Decimal(cur.amount_sum).plus(e.amount.amount).toFixed(9);
      by.set(k, cur);
    }
    return { files: [`part-${day}.parquet`], totals: [...by.values()] };
  }
  async compact(days: string[]) {
    this.compacted.push(days);
  }
  async writeSuccess(day: string, payload: unknown) {
    this.success.set(day, payload);
  }
  async clearSuccess(day: string) {
    this.success.delete(day);
  }
  async markedDays() {
    return new Set(this.success.keys());
  }
  async readSuccess(day: string) {
    return this.success.get(day) ?? null;
  }
  async writeDimensionSnapshot(name: 'dim_account' | 'dim_product', snapshotDate: string, rows: DimRow[]) {
    const list = (this.dims.get(name) ?? []).filter((s) => s.snapshotDate !== snapshotDate);
    list.push({ snapshotDate, rows });
    this.dims.set(name, list);
  }
  async dimensionSnapshots(name: 'dim_account' | 'dim_product') {
    return this.dims.get(name) ?? [];
  }
  count(source?: string): number {
    let n = 0;
    for (const d of this.rows.values()) for (const e of d.values()) if (!source || e.billingSource === source) n++;
    return n;
  }
}

export function fakeOltp(accounts: DimRow[], products: DimRow[]): OltpPort {
  return { read: async () => ({ accounts, products, origin: 'fake' }) };
}

export interface Harness {
  deps: JobDeps;
  clock: ManualClock;
  wh: FakeWarehouse;
  landing: FakeLanding;
  log: ReturnType<typeof memoryLogger>;
}

export function harness(dir: string, o: { sources?: string[]; now?: string; autoAdvance?: boolean; failRead?: () => Error | undefined } = {}): Harness {
  const clock = new ManualClock(o.now ?? '2024-01-10T00:00:00Z', o.autoAdvance ?? true);
  const log = memoryLogger(clock);
  const wh = new FakeWarehouse();
  const landing = new FakeLanding();
  const sources = o.sources ?? ['zuora', 'stripe'];
  const deps: JobDeps = {
    clock,
    log,
    runs: new RunStore({ dir: path.join(dir, 'runs'), clock }),
    state: StateArea.open(path.join(dir, 'state')),
    // the jobs' locks over the in-memory store (the lock passes the same tests on it and on the disk: test/warehouse/lock.test.ts)
    locks: new LockManager({ storage: new MemoryStorage(), clock, heartbeat: false }),
    warehouse: wh,
    sourceNames: sources,
    source: (n) => landing.port(n, o.failRead),
    oltp: fakeOltp([], []),
    mrr: mrrPort(wh), // the real planner over the fake's tables (the state is committed with the events)
    dims: dimsLoader(wh),
    settings: { lookbackHours: 24, retry: { maxAttempts: 3, baseMs: 1000, maxMs: 4000 }, graceHours: 6 },
  };
  return { deps, clock, wh, landing, log };
}
