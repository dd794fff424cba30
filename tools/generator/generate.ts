/**
 * `generate`: a realistic landing zone, day by day, streaming. Layout (the output directory IS the landing zone):
 *   <out>/<source>/<YYYY-MM-DD>/<HH>/<object>[-<suffix>].<ext>   files per 4-hour UTC extract window (+ _SUCCESS)
 *   <out>/<source>/_control/<YYYY-MM-DD>.json                     control totals per UTC day
 *   <out>/_late/<same relative paths>                            late files and changed re-deliveries, to deliver later
 *   <out>/_oltp/accounts.csv, products.csv, oltp.sql             OLTP metadata (file snapshot + SQL for PostgreSQL)
 *   <out>/_truth/expected_fact.csv, expected_quarantine.csv      ground truth after exactly-once loading
 *   <out>/_truth/expected_mrr.csv                                MRR movements per source, month, currency (sources stating MRR)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, QUARANTINE_REASONS } from '../../events/errors.js';
import { assertDay, DAY_MS, dayRange, dayStartMs } from '../../partitions/index.js';
import { controlPath } from '../../connectors/control/billing-mart.js';
import type { GenEvent, Renderer } from './model.js';
import { OltpOut } from './oltp-out.js';
import { chargebeeRenderer, chargebeeWrap } from './render-chargebee.js';
import { recurlyRenderer } from './render-recurly.js';
import { stripeRenderer } from './render-stripe.js';
import { zuoraRenderer } from './render-zuora.js';
import { Rng } from './rng.js';
import { SourceSim } from './simulate.js';
import { FileSink } from './sink.js';
import { Truth } from './truth.js';
import { GEN_SOURCES } from './world.js';

export const RENDERERS: Record<string, Renderer> = { zuora: zuoraRenderer, stripe: stripeRenderer, chargebee: chargebeeRenderer, recurly: recurlyRenderer };

export interface GenerateOptions {
  out: string;
  from: string;
  to: string;
  /** Canonical events per day over all sources (approximate: whole business activities are generated). */
  eventsPerDay: number;
  seed: string;
  /** Subset of sources (default all four). */
  sources?: string[];
  /** Share of files held back as late deliveries (default 0.05). */
  lateRate?: number;
  /** Share of files delivered twice: identical copies and changed re-deliveries (default 0.05). */
  redeliveryRate?: number;
  /** Share of records duplicated inside their file (default 0.01). */
  duplicateRate?: number;
  /** Bad records per quarantine reason per source per day (default 1; 0 = none; days under 50 events: first day only). */
  badPerReason?: number;
  /** Replace an existing generated landing zone in `out`. */
  force?: boolean;
  /** Progress callback, one call per day. */
  onDay?: (day: string, events: number) => void;
}

export interface GenerateSummary {
  days: number;
  /** Distinct canonical events (fact rows after exactly-once loading). */
  events: number;
  /** Records written to landing files (incl. duplicates, re-deliveries, late files and bad records). */
  records: number;
  quarantined: number;
  files: number;
  lateFiles: number;
  redeliveredFiles: number;
}

const HOUR_MS = 3_600_000;

/** A stable number in [0,1) for a label (decisions that must not depend on call order). */
function unit(seed: string, label: string): number {
  return createHash('sha256').update(`${seed}\x1f${label}`).digest().readUInt32LE(0) / 4294967296;
}

function prepareOut(out: string, force: boolean): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!force) throw new ConfigError(`output directory ${out} is not empty: choose an empty directory, or pass --force to replace a previously generated landing zone there`);
    for (const name of readdirSync(out)) {
      if (GEN_SOURCES.some((s) => s.name === name) || ['_late', '_truth', '_oltp'].includes(name)) rmSync(path.join(out, name), { recursive: true, force: true });
    }
  }
  mkdirSync(out, { recursive: true });
}

export async function generate(o: GenerateOptions): Promise<GenerateSummary> {
  assertDay(o.from);
  assertDay(o.to);
  if (!Number.isInteger(o.eventsPerDay) || o.eventsPerDay < 1) throw new ConfigError(`--events-per-day must be a positive integer, got ${o.eventsPerDay}`);
  const sources = GEN_SOURCES.filter((s) => !o.sources || o.sources.includes(s.name));
  const unknown = (o.sources ?? []).filter((n) => !GEN_SOURCES.some((s) => s.name === n));
  if (unknown.length) throw new ConfigError(`unknown source(s) ${unknown.join(', ')}: the generator knows ${GEN_SOURCES.map((s) => s.name).join(', ')}`);
  const days = dayRange(o.from, o.to);
  const lateRate = o.lateRate ?? 0.05;
  const redeliveryRate = o.redeliveryRate ?? 0.05;
  const dupRate = o.duplicateRate ?? 0.01;
  const badPerReason = o.badPerReason ?? 1;
  prepareOut(o.out, Boolean(o.force));

  const truth = new Truth();
  const oltp = new OltpOut(o.out, dayStartMs(o.to) + DAY_MS - 1000);
  const totalWeight = sources.reduce((s, x) => s + x.weight, 0);
  const sims = sources.map((src) => {
    const quota = Math.max(1, Math.round((o.eventsPerDay * src.weight) / totalWeight));
    return { src, quota, renderer: RENDERERS[src.name]!, sim: new SourceSim({ seed: o.seed, source: src, initialAccounts: Math.max(10, Math.ceil(quota / 6)), onAccount: (a) => oltp.account(a) }, days[0]!) };
  });
  const summary: GenerateSummary = { days: days.length, events: 0, records: 0, quarantined: 0, files: 0, lateFiles: 0, redeliveredFiles: 0 };

  for (const day of days) {
    let dayEvents = 0;
    for (const { src, quota, renderer, sim } of sims) {
      const sink = new FileSink(o.out);
      const rng = new Rng(o.seed, `render/${src.name}/${day}`);
      const samples = new Map<string, GenEvent>(); // per object: the latest event with a non-zero amount, else any
      const badStems = new Set<string>(); // files holding bad records are never re-delivered (quarantine counts stay exact)
      const dayStart = dayStartMs(day);
      const stems = new Map<string, string>(); // `${hh}/${object}` → stem (late or not): decided once per file
      const headers = new Map<string, string>();
      const stemOf = (ev: GenEvent) => {
        const hh = String(Math.floor((ev.ms - dayStart) / HOUR_MS / 4) * 4).padStart(2, '0');
        const key = `${hh}/${ev.object}`;
        let stem = stems.get(key);
        if (stem === undefined) {
          const rel = `${src.name}/${day}/${key}`;
          stem = unit(o.seed, `late/${rel}`) < lateRate ? `_late/${rel}` : rel;
          stems.set(key, stem);
        }
        return stem;
      };
      const headerOf = (object: string) => {
        let h = headers.get(object);
        if (h === undefined) headers.set(object, (h = renderer.format === 'csv' ? renderer.header(object) : ''));
        return h;
      };
      const write = (ev: GenEvent, text: string) => {
        sink.append(stemOf(ev), renderer.extension, renderer.format, text, headerOf(ev.object), renderer.format === 'pages' ? (t) => chargebeeWrap(ev.object, t) : undefined);
        summary.records++;
      };
      dayEvents += sim.day(day, quota, (raw) => {
        const ev = renderer.normalise(raw);
        if (!ev) return false;
        truth.add(ev, day);
        if (renderer.statesMrr && ev.subscriptionId && ev.attrs.mrr !== undefined) truth.addMrr(src.name, ev.subscriptionId, ev.currency, ev.ms, Number(ev.attrs.sub_version), BigInt(ev.attrs.mrr));
        summary.events++;
        const { text } = renderer.render(ev, rng);
        write(ev, text);
        if (rng.chance(dupRate)) write(ev, text);
        for (const x of renderer.extras?.(ev, rng) ?? []) write(ev, x.text);
        const prev = samples.get(ev.object);
        if (!prev || ev.amountMinor !== 0n || prev.amountMinor === 0n) samples.set(ev.object, ev);
        return true;
      });
      // A few bad records of every quarantine reason the source can express.
      // (small days get them on the first day only, so bad records stay "a few")
      if (badPerReason > 0 && (quota >= 50 || day === days[0])) {
        for (const reason of QUARANTINE_REASONS) {
          const needsAmount = reason === 'BAD_AMOUNT' || reason === 'AMOUNT_OUT_OF_RANGE' || reason === 'UNKNOWN_CURRENCY';
          const candidates = [...samples.values()].filter((e) => !needsAmount || e.amountMinor !== 0n);
          for (let n = 0; n < badPerReason; n++) {
            for (const base of candidates) {
              const ev = { ...base, recordId: renderer === zuoraRenderer ? rng.hex(32) : `${base.recordId.slice(0, 3)}bad${rng.alnum(10)}` };
              const bad = renderer.bad(reason, ev, rng);
              if (!bad) continue;
              write(ev, bad.text);
              badStems.add(stemOf(ev));
              truth.addQuarantine(src.name, reason);
              summary.quarantined++;
              break;
            }
          }
        }
      }
      sink.close();
      finishDay(o, sink.written, badStems, redeliveryRate, summary);
      writeFileSync(controlFile(o.out, src.name, day), JSON.stringify(truth.control(src.name, day, new Date(dayStartMs(day) + 26 * HOUR_MS).toISOString().replace('.000Z', 'Z')), null, 1) + '\n');
    }
    o.onDay?.(day, dayEvents);
  }

  // OLTP metadata as of the end of the range (accounts were written as they came to exist), and the truth.
  oltp.finish(sims.flatMap(({ sim }) => sim.products), dayStartMs(o.from));
  const truthDir = path.join(o.out, '_truth');
  mkdirSync(truthDir, { recursive: true });
  writeFileSync(path.join(truthDir, 'expected_fact.csv'), truth.factCsv());
  writeFileSync(path.join(truthDir, 'expected_quarantine.csv'), truth.quarantineCsv());
  writeFileSync(path.join(truthDir, 'expected_mrr.csv'), truth.mrrCsv());
  writeFileSync(path.join(truthDir, 'generator.json'), JSON.stringify({ seed: o.seed, from: o.from, to: o.to, eventsPerDay: o.eventsPerDay, sources: sources.map((s) => s.name), ...summary }, null, 1) + '\n');
  return summary;
}

/** The day's control file (the layout the connectors read), its folder created. */
function controlFile(out: string, source: string, day: string): string {
  const f = controlPath(out, source, day);
  mkdirSync(path.dirname(f), { recursive: true });
  return f;
}

/** Readiness markers, identical re-deliveries (same folder, `-redelivered` suffix) and changed re-deliveries (in _late/). */
function finishDay(o: GenerateOptions, written: string[], badStems: ReadonlySet<string>, rate: number, summary: GenerateSummary): void {
  const folders = new Set<string>();
  for (const rel of written) {
    summary.files++;
    const late = rel.startsWith('_late/');
    if (late) {
      summary.lateFiles++;
      writeFileSync(path.join(o.out, rel + '.done'), '');
      continue;
    }
    folders.add(path.posix.dirname(rel));
    const r = unit(o.seed, `redeliver/${rel}`);
    const ext = rel.slice(rel.indexOf('.', rel.lastIndexOf('/')));
    const stem = rel.slice(0, rel.length - ext.length);
    if (r >= rate || badStems.has(stem.replace(/-p\d+$/, ''))) continue;
    const text = readFileSync(path.join(o.out, rel), 'utf8');
    summary.redeliveredFiles++;
    summary.files++;
    if (r < rate / 2) {
      // identical copy under another name: same records, same event_ids
      writeFileSync(path.join(o.out, `${stem}-redelivered${ext}`), text);
      summary.records += countRecords(text, ext);
    } else {
      // changed re-delivery of the same path (records in another order): a new sha256, the same events
      const target = path.join(o.out, '_late', rel);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, reorder(text, ext));
      writeFileSync(target + '.done', '');
      summary.records += countRecords(text, ext);
    }
  }
  for (const f of folders) writeFileSync(path.join(o.out, f, '_SUCCESS'), '');
}

function countRecords(text: string, ext: string): number {
  const lines = text.split('\n').filter((l) => l !== '');
  if (ext.startsWith('.csv')) return lines.length - 1;
  if (ext.startsWith('.jsonl')) return lines.length;
  return lines.length - 2; // pages: one record per line between the opening and closing lines
}

function reorder(text: string, ext: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  if (ext.startsWith('.csv')) return [lines[0]!, ...lines.slice(1).reverse()].join('\n') + '\n';
  if (ext.startsWith('.jsonl')) return lines.reverse().join('\n') + '\n';
  const body = lines.slice(1, -1).map((l) => l.replace(/,$/, '')).reverse();
  return `${lines[0]}\n${body.join(',\n')}\n${lines[lines.length - 1]}\n`;
}
