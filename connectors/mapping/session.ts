/**
 * A mapping session: one stream of raw records (one run, one source-check) through a mapper, with its quarantine
 * and its accounting. Every record read ends in exactly one bucket:
 *
 *   records = mapped (produced ≥ 1 event) + quarantined + skipped (per skip rule, and repeated history versions)
 *
 * History objects (`history: true`, rows are versions of one record) are held until the end of the stream: of
 * the events several versions imply with the same identity, only the one from the earliest version (lowest seqn)
 * is emitted; a version all of whose events were already implied by an earlier one is counted as skipped under
 * `<object>.(repeated version)`. Held in memory up to the spill's `holdEvents`; past it (a session given a
 * HoldSpill: a prepare's scratch), the held events and records go to bucket files by a hash of the event id and
 * of the record, and the end of the stream resolves one bucket at a time (drain()): memory stays at one bucket,
 * whatever the size of the day.
 */
import type { BillingEvent, QuarantineEntry } from '../../events/model.js';
import { eventFromJson, eventToJson } from '../../events/wire.js';
import type { RawRecord } from '../types.js';
import { toQuarantine, type Mapper } from './map.js';

export interface MapStats {
  /** Records read. */
  records: number;
  /** Events emitted. */
  events: number;
  /** Records that produced at least one event. */
  mapped: number;
  quarantined: number;
  /** Records skipped, per `<object>.<skip rule>` (and `<object>.(repeated version)` for history objects). */
  skipped: Record<string, number>;
}

export const REPEATED_VERSION = '(repeated version)';

export type Outcome = { kind: 'mapped' | 'quarantined' | 'held' } | { kind: 'skipped'; rule: string };

interface Held {
  event: BillingEvent;
  record: string;
}

/** Text lines spilled to bucket files and read back a bucket at a time (warehouse/scratch.ts BucketSpill). */
export interface SpillBuckets {
  readonly buckets: number;
  readonly pendingBytes: number;
  add(bucket: number, line: string): void;
  flush(): Promise<void>;
  read(bucket: number): Promise<string[]>;
  remove(): Promise<void>;
}

/** Where a read may spill what it holds for the whole stream (history versions, MRR observations), and when. */
export interface HoldSpill {
  /** Held values (history events, MRR observations) past this many go to bucket files. */
  holdValues: number;
  /** Bytes added to the buckets before they are written out. */
  flushBytes: number;
  /** A new, empty set of bucket files named `name` (unique per read). */
  open(name: string): SpillBuckets;
}

/** Buckets of a prepare's spill: enough that one bucket of a very large source-day is small (the 5 M-event day: Recurly holds ~0.5 M history events, ~8 000 a bucket). */
export const SPILL_BUCKETS = 64;

/** Bucket of a hex event id (sha256-derived: uniform). */
const idBucket = (eventId: string, n: number): number => parseInt(eventId.slice(0, 6), 16) % n;

/**
 * A held event as a spill line: `<event id>\t<seqn>\t<record key as JSON>\t<event as JSON>` (JSON text escapes
 * tabs, so the first three tabs split it); only the winners of a bucket are parsed back.
 */
const heldLine = (e: BillingEvent, record: string): string => `${e.eventId}\t${e.seqn}\t${JSON.stringify(record)}\t${eventToJson(e)}`;

/** Bucket of any text (FNV-1a). */
export function textBucket(s: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

export function emptyStats(): MapStats {
  return { records: 0, events: 0, mapped: 0, quarantined: 0, skipped: {} };
}

export function skippedTotal(s: MapStats): number {
  return Object.values(s.skipped).reduce((a, b) => a + b, 0);
}

export class MapSession {
  readonly quarantine: QuarantineEntry[] = [];
  readonly stats: MapStats = emptyStats();
  private readonly held = new Map<string, Held>();
  /** History records still undecided: record key → its object and file. */
  private readonly heldRecords = new Map<string, { object: string; file: string }>();
  private finished = false;
  /** Past the spill's budget: held events by event id, held records (and, at the end, producing ones) by record. */
  private spilled: { events: SpillBuckets; records: SpillBuckets } | null = null;

  constructor(
    private readonly map: Mapper,
    private readonly billingSource: string,
    private readonly ingestRunId: string,
    private readonly spill?: HoldSpill,
  ) {}

  /** True when held values wait to be written out: the caller awaits flush() before the next push. */
  get needsFlush(): boolean {
    return this.spilled !== null && this.spilled.events.pendingBytes + this.spilled.records.pendingBytes >= this.spill!.flushBytes;
  }

  /** True once held values went to the spill's bucket files: the stream ends with drain(), not finish(). */
  get spilling(): boolean {
    return this.spilled !== null;
  }

  async flush(): Promise<void> {
    if (!this.spilled) return;
    await this.spilled.events.flush();
    await this.spilled.records.flush();
  }

  /** Maps one record; returns the events to emit now (history events wait for finish()). */
  push(r: RawRecord): { events: BillingEvent[]; outcome: Outcome } {
    this.stats.records++;
    const res = this.map(r, { ingestRunId: this.ingestRunId });
    if (Array.isArray(res)) {
      if (this.map.historyObjects?.has(r.object)) {
        const key = `${r.location.file}#${r.location.line ?? r.location.position ?? 0}`;
        if (this.spilled) {
          this.spilled.records.add(textBucket(key, this.spilled.records.buckets), JSON.stringify([key, r.object]));
          for (const e of res) this.spilled.events.add(idBucket(e.eventId, this.spilled.events.buckets), heldLine(e, key));
          return { events: [], outcome: { kind: 'held' } };
        }
        this.heldRecords.set(key, { object: r.object, file: r.location.file });
        for (const e of res) {
          const cur = this.held.get(e.eventId);
          if (!cur || e.seqn < cur.event.seqn) this.held.set(e.eventId, { event: e, record: key });
        }
        if (this.spill && this.held.size > this.spill.holdValues) this.startSpill();
        return { events: [], outcome: { kind: 'held' } };
      }
      this.stats.mapped++;
      this.stats.events += res.length;
      return { events: res, outcome: { kind: 'mapped' } };
    }
    if (res.kind === 'skipped') {
      this.stats.skipped[res.rule] = (this.stats.skipped[res.rule] ?? 0) + 1;
      return { events: [], outcome: { kind: 'skipped', rule: res.rule } };
    }
    this.stats.quarantined++;
    this.quarantine.push(toQuarantine(res, r, this.billingSource, this.ingestRunId));
    return { events: [], outcome: { kind: 'quarantined' } };
  }

  /** Moves what is held to bucket files (the earliest version of each event so far; every record held). */
  private startSpill(): void {
    const spill = this.spill!;
    this.spilled = { events: spill.open('history-events'), records: spill.open('history-records') };
    const { events, records } = this.spilled;
    for (const [key, rec] of this.heldRecords) records.add(textBucket(key, records.buckets), JSON.stringify([key, rec.object]));
    for (const h of this.held.values()) events.add(idBucket(h.event.eventId, events.buckets), heldLine(h.event, h.record));
    this.held.clear();
    this.heldRecords.clear();
  }

  /**
   * End of the stream, for a session that may have spilled: the held history events, one bucket at a time; the
   * accounting of the held records (mapped, or skipped as a repeated version) is complete once it ends.
   */
  async *drain(): AsyncGenerator<BillingEvent> {
    if (!this.spilled) {
      for (const e of this.finish().events) yield e;
      return;
    }
    if (this.finished) return;
    this.finished = true;
    const { events, records } = this.spilled;
    let emitted = 0;
    for (let b = 0; b < events.buckets; b++) {
      // the earliest version of each event wins (the first read on a tie), as in memory
      const win = new Map<string, { seqn: bigint; line: string; at: number }>();
      for (const line of await events.read(b)) {
        const t1 = line.indexOf('\t');
        const t2 = line.indexOf('\t', t1 + 1);
        const id = line.slice(0, t1);
        const seqn = BigInt(line.slice(t1 + 1, t2));
        const cur = win.get(id);
        if (!cur || seqn < cur.seqn) win.set(id, { seqn, line, at: t2 + 1 });
      }
      for (const w of win.values()) {
        const t3 = w.line.indexOf('\t', w.at);
        const record = JSON.parse(w.line.slice(w.at, t3)) as string;
        records.add(textBucket(record, records.buckets), JSON.stringify(record)); // a producing record: its key alone
        emitted++;
        yield eventFromJson(w.line.slice(t3 + 1));
      }
      if (records.pendingBytes >= this.spill!.flushBytes) await records.flush();
    }
    await events.remove();
    for (let b = 0; b < records.buckets; b++) {
      const vals = (await records.read(b)).map((l) => JSON.parse(l) as string | [string, string]);
      const producing = new Set(vals.filter((v): v is string => typeof v === 'string'));
      for (const v of vals) {
        if (typeof v === 'string') continue;
        const [key, object] = v;
        if (producing.has(key)) this.stats.mapped++;
        else {
          const rule = `${object}.${REPEATED_VERSION}`;
          this.stats.skipped[rule] = (this.stats.skipped[rule] ?? 0) + 1;
        }
      }
    }
    await records.remove();
    this.stats.events += emitted;
  }

  /** End of the stream: the held history events, and the history versions that implied nothing new (in memory only: see drain()). */
  finish(): { events: BillingEvent[]; repeated: { object: string; file: string }[] } {
    if (this.finished) return { events: [], repeated: [] };
    if (this.spilled) throw new Error('internal: a session that spilled its history ends with drain()');
    this.finished = true;
    const producing = new Set<string>();
    const events: BillingEvent[] = [];
    for (const h of this.held.values()) {
      producing.add(h.record);
      events.push(h.event);
    }
    const repeated: { object: string; file: string }[] = [];
    for (const [key, rec] of this.heldRecords) {
      if (producing.has(key)) this.stats.mapped++;
      else {
        const rule = `${rec.object}.${REPEATED_VERSION}`;
        this.stats.skipped[rule] = (this.stats.skipped[rule] ?? 0) + 1;
        repeated.push(rec);
      }
    }
    this.stats.events += events.length;
    this.held.clear();
    this.heldRecords.clear();
    return { events, repeated };
  }
}
