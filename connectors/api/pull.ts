/**
 * The pull loop: for each 4-hour window a run loads, list the source's objects created in
 * [window.start − lookback, window.end), then the changes of that range (Stripe events, Chargebee updated_at),
 * and once a day the Chargebee audit pass; every page lands raw in the window's landing folder with its marker
 * (land.ts) before the run's normal pick-up reads it. Nothing here loads data: a pull only fills the landing zone,
 * so a reload needs no re-pull and idempotency, lookback and the scheduler are those of landing sources.
 *
 * `recount(day)` lists the day again by creation time without landing anything and maps it in memory: the
 * source-side control for API sources (counts and exact sums per event type and currency).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../events/errors.js';
import { Decimal } from '../../events/money.js';
import type { PullSourceConfig, SecretRef } from '../../config/pull.js';
import type { SourceConfig } from '../../config/sources.js';
import { assertDay, dayStartMs, WINDOW_HOURS, windowContaining, type Window } from '../../partitions/index.js';
import { readRecords } from '../landing/readers.js';
import { compileMapper } from '../mapping/map.js';
import { rememberSecret, scrub } from '../../events/redact.js';
import { chargebeeAdapter } from './chargebee.js';
import { recordingFetch, type ApiClock } from './http.js';
import { PageWriter, windowFolder, type LandedPage } from './land.js';
import { stripeAdapter } from './stripe.js';
import type { PullContext, TimeRange, VendorAdapter } from './types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface PullRunOptions {
  /** The run's lookback (0 for a backfill: each window's own range). */
  lookbackHours: number;
  nowMs: number;
  clock: ApiClock;
  signal?: AbortSignal;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface PullReport {
  source: string;
  windows: number;
  pages: number;
  records: number;
  requests: number;
  landed: LandedPage[];
  notes: string[];
}

export interface RecountTotals {
  source: string;
  date: string;
  generated_at: string;
  origin: string;
  /** How the numbers were produced (for reports): the day listed again by creation time through the API. */
  method: 'api-recount';
  /** Event types the recount can vouch for: those timed at the object's creation (the listing's filter). */
  eventTypes: string[];
  /** Objects listed, per object. */
  objects: Record<string, number>;
  totals: { event_type: string; currency: string; rows: number; amount_sum: string }[];
}

export interface Puller {
  readonly source: string;
  readonly vendor: 'stripe' | 'chargebee';
  /** Objects each window lists (mapping objects the API can list, plus derived ones). */
  readonly objects: readonly string[];
  /** Mapping objects no API list serves (they arrive only as dropped files). */
  readonly notPullable: readonly string[];
  pull(windows: readonly Window[], o: PullRunOptions): Promise<PullReport>;
  recount(day: string, o: Omit<PullRunOptions, 'lookbackHours'>): Promise<RecountTotals>;
}

export interface PullerOptions {
  landing: string;
  source: SourceConfig;
  pull: PullSourceConfig;
  env: NodeJS.ProcessEnv;
}

const DEFAULT_KEY_ENV = { stripe: 'STRIPE_API_KEY', chargebee: 'CHARGEBEE_API_KEY' } as const;

/** Reads the API key named by the config; never echoes it. */
export function readApiKey(source: string, vendor: 'stripe' | 'chargebee', ref: SecretRef | undefined, env: NodeJS.ProcessEnv): string {
  const r = ref ?? { env: DEFAULT_KEY_ENV[vendor] };
  if ('env' in r) {
    const v = env[r.env]?.trim();
    if (!v) throw new ConfigError(`pull.${source}: no ${vendor} API key: environment variable ${r.env} is not set`, [`set ${r.env}, or point pull.${source}.apiKey at {env: NAME} or {file: /path/to/secret}`]);
    rememberSecret(v); // events/redact.ts: hidden from every log line, run record and error from now on
    return v;
  }
  let text: string;
  try {
    text = readFileSync(r.file, 'utf8');
  } catch (e) {
    throw new ConfigError(`pull.${source}: cannot read the API key file ${r.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [], { cause: e });
  }
  const v = text.trim();
  if (!v) throw new ConfigError(`pull.${source}: the API key file ${r.file} is empty`);
  rememberSecret(v);
  return v;
}

/** Fields that hold each vendor's creation time (what the creation listing filters on). */
const CREATION_FIELDS = { stripe: new Set(['created']), chargebee: new Set(['date', 'created_at', 'occurred_at']) } as const;

export function openPuller(o: PullerOptions): Puller {
  const { source, pull } = o;
  const vendor = pull.vendor;
  const mapped = source.objects.map((x) => x.object);
  // Listing is per mapping object; which the adapter can list is known without a key.
  const probe = makeAdapter('(none)');
  const listable = new Set(probe.listable);
  const derived = probe.derived;
  if (pull.objects) {
    const problems = pull.objects.flatMap((x) =>
      !mapped.includes(x)
        ? [`pull.${source.name}.objects: "${x}" is not an object of source "${source.name}" (objects: ${mapped.join(', ')})`]
        : !listable.has(x) && !derived[x]
          ? [`pull.${source.name}.objects: the ${vendor} API has no list for "${x}" (listable: ${[...listable, ...Object.keys(derived)].join(', ')})`]
          : [],
    );
    if (problems.length) throw new ConfigError(`invalid pull configuration for source "${source.name}"`, problems);
  }
  const objects = (pull.objects ?? mapped).filter((x) => mapped.includes(x) && (listable.has(x) || derived[x]));
  const notPullable = mapped.filter((x) => !listable.has(x) && !derived[x]);
  const wants = (x: string) => objects.includes(x);
  const primary = objects.filter((x) => listable.has(x));

  function makeAdapter(apiKey: string): VendorAdapter {
    const recorder = recordingFetch();
    const scrubber = (t: string) => scrub(t, [apiKey]);
    const common = { apiKey, pageSize: pull.pageSize, timeoutMs: pull.timeoutMs, recorder, scrub: scrubber, ...(pull.baseUrl ? { baseUrl: pull.baseUrl } : {}) };
    return pull.vendor === 'stripe' ? stripeAdapter({ ...common, eventRetentionDays: pull.eventRetentionDays }) : chargebeeAdapter({ ...common, site: pull.site });
  }

  function context(r: Omit<PullRunOptions, 'lookbackHours'>): PullContext {
    return {
      clock: r.clock,
      retry: { maxRetries: pull.maxRetries, backoffBaseMs: pull.backoffBaseMs, backoffMaxMs: pull.backoffMaxMs },
      ...(r.signal ? { signal: r.signal } : {}),
      log: r.log ?? (() => undefined),
      nowMs: r.nowMs,
      wants,
    };
  }

  return {
    source: source.name,
    vendor,
    objects,
    notPullable,
    async pull(windows, r) {
      const adapter = makeAdapter(readApiKey(source.name, vendor, pull.apiKey, o.env));
      const ctx = context(r);
      const report: PullReport = { source: source.name, windows: windows.length, pages: 0, records: 0, requests: 0, landed: [], notes: [] };
      if (notPullable.length) report.notes.push(`not pulled (no ${vendor} list endpoint; they arrive only as dropped files): ${notPullable.join(', ')}`);
      // Each aligned 4-hour window of [start − lookback, end) is listed on its own and lands in its own folder, so
      // re-pulling a window whose data did not change writes the same bytes (already committed: skipped), and the
      // run's pick-up, which reads the same lookback, loads every page the pull wrote.
      const subs = new Map<number, Window>();
      for (const w of windows) {
        for (let t = windowContaining(w.startMs - r.lookbackHours * HOUR_MS).startMs; t < w.endMs; t += WINDOW_HOURS * HOUR_MS) {
          if (!subs.has(t)) subs.set(t, { startMs: t, endMs: t + WINDOW_HOURS * HOUR_MS });
        }
      }
      const add = (x: { pages: number; records: number; note?: string }) => {
        report.pages += x.pages;
        report.records += x.records;
        if (x.note && !report.notes.includes(x.note)) report.notes.push(x.note);
      };
      const changes = pull.vendor === 'stripe' ? pull.events : pull.updates;
      for (const w of [...subs.values()].sort((a, b) => a.startMs - b.startMs)) {
        if (r.signal?.aborted) break;
        const writer = new PageWriter(o.landing, windowFolder(source.name, w));
        const range: TimeRange = { fromMs: w.startMs, toMs: w.endMs };
        for (const object of primary) add(await adapter.listCreated(object, range, 'created', writer, ctx));
        if (changes) add(await adapter.listChanges(primary, range, writer, ctx));
        ctx.log('pull.window', { window: `${iso(w.startMs)}/${iso(w.endMs)}`, pages: writer.landed.length, records: writer.landed.reduce((n, p) => n + p.records, 0) });
        report.landed.push(...writer.landed);
      }
      if (pull.vendor === 'chargebee') {
        for (const w of windows) {
          if (r.signal?.aborted || !auditDue(w, r.nowMs, pull.audit)) continue;
          const writer = new PageWriter(o.landing, windowFolder(source.name, w));
          const audit: TimeRange = { fromMs: w.endMs - pull.audit.days * DAY_MS, toMs: w.endMs };
          for (const object of primary) add(await adapter.listCreated(object, audit, 'audit', writer, ctx));
          report.notes.push(`audit pass: every object created ${iso(audit.fromMs)} … ${iso(audit.toMs)} listed again by creation date`);
          report.landed.push(...writer.landed);
        }
      }
      report.requests = adapter.requests;
      return report;
    },
    async recount(day, r) {
      assertDay(day);
      const adapter = makeAdapter(readApiKey(source.name, vendor, pull.apiKey, o.env));
      const ctx = context(r);
      const mapper = compileMapper(source);
      const creation = CREATION_FIELDS[vendor];
      const covered = new Set<string>();
      for (const spec of source.objects) {
        if (!primary.includes(spec.object)) continue;
        for (const rule of spec.events) {
          const first = Array.isArray(rule.ts) ? rule.ts[0] : rule.ts;
          if (first && creation.has(first) && !rule.identity) covered.add(rule.eventType);
        }
      }
      // An event type is vouched for only if every rule producing it (on any pulled object) is creation-timed.
      for (const spec of source.objects) {
        if (!primary.includes(spec.object)) continue;
        for (const rule of spec.events) {
          const first = Array.isArray(rule.ts) ? rule.ts[0] : rule.ts;
          if (!first || !creation.has(first) || rule.identity) covered.delete(rule.eventType);
        }
      }
      const range = { fromMs: dayStartMs(day), toMs: dayStartMs(day) + DAY_MS };
      const sums = new Map<string, { event_type: string; currency: string; rows: number; amount: Decimal }>();
      const counted: Record<string, number> = {};
      for (const object of primary) {
        const spec = source.objects.find((x) => x.object === object)!;
        let page = 0;
        for await (const p of adapter.pagesCreated(object, range, ctx)) {
          const file = `api:${source.name}/${object}?created=${day}#page${++page}`;
          for await (const rec of readRecords(Buffer.from(p.text), { prefix: object, suffix: null, format: 'json', gzip: false }, spec, file)) {
            counted[object] = (counted[object] ?? 0) + 1;
            const res = mapper(rec, { ingestRunId: 'recount' });
            if (!Array.isArray(res)) continue;
            for (const e of res) {
              if (!covered.has(e.eventType) || e.eventDate !== day) continue;
              const k = `${e.eventType}|${e.amount.currency}`;
              const cur = sums.get(k) ?? { event_type: e.eventType, currency: e.amount.currency, rows: 0, amount: new Decimal(0) };
              cur.rows++;
              cur.amount = cur.amount.plus(e.amount.amount);
              sums.set(k, cur);
            }
          }
        }
      }
      return {
        source: source.name,
        date: day,
        generated_at: new Date(r.nowMs).toISOString(),
        origin: `${vendor} API, ${day} listed again by creation time`,
        method: 'api-recount',
        eventTypes: [...covered].sort(),
        objects: counted,
        totals: [...sums.values()]
          .sort((a, b) => a.event_type.localeCompare(b.event_type) || a.currency.localeCompare(b.currency))
          .map((t) => ({ event_type: t.event_type, currency: t.currency, rows: t.rows, amount_sum: t.amount.toFixed(9) })),
      };
    },
  };
}

/** The Chargebee audit pass runs on the window starting at `hourUtc`, when that window is recent (a scheduled run). */
export function auditDue(w: Window, nowMs: number, audit: { days: number; hourUtc: number }): boolean {
  return audit.days > 0 && new Date(w.startMs).getUTCHours() === audit.hourUtc && w.endMs > nowMs - DAY_MS;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/:00\.000Z$/, 'Z');

/**
 * The recount as a completeness control provider (the `recount` kind of connectors/control): the day's totals for
 * the event types the recount vouches for (`eventTypes`); the checker compares only those.
 */
export function recountControl(puller: Puller, clock: ApiClock): { kind: 'recount'; origin: string; totals(day: string): Promise<RecountTotals> } {
  return {
    kind: 'recount',
    origin: `${puller.vendor} API: the day listed again by creation time (${puller.objects.filter((x) => !puller.notPullable.includes(x)).join(', ')})`,
    totals: (day) => puller.recount(day, { nowMs: clock.now(), clock }),
  };
}
