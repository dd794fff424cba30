/**
 * A mapping session: one stream of raw records (one run, one source-check) through a mapper, with its quarantine
 * and its accounting. Every record read ends in exactly one bucket:
 *
 *   records = mapped (produced ≥ 1 event) + quarantined + skipped (per skip rule, and repeated history versions)
 *
 * History objects (`history: true`, rows are versions of one record) are held until the end of the stream: of
 * the events several versions imply with the same identity, only the one from the earliest version (lowest seqn)
 * is emitted; a version all of whose events were already implied by an earlier one is counted as skipped under
 * `<object>.(repeated version)`. What is held is bounded by the history rows of one stream (one run's window).
 */
import type { BillingEvent, QuarantineEntry } from '../../events/model.js';
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

  constructor(
    private readonly map: Mapper,
    private readonly billingSource: string,
    private readonly ingestRunId: string,
  ) {}

  /** Maps one record; returns the events to emit now (history events wait for finish()). */
  push(r: RawRecord): { events: BillingEvent[]; outcome: Outcome } {
    this.stats.records++;
    const res = this.map(r, { ingestRunId: this.ingestRunId });
    if (Array.isArray(res)) {
      if (this.map.historyObjects?.has(r.object)) {
        const key = `${r.location.file}#${r.location.line ?? r.location.position ?? 0}`;
        this.heldRecords.set(key, { object: r.object, file: r.location.file });
        for (const e of res) {
          const cur = this.held.get(e.eventId);
          if (!cur || e.seqn < cur.event.seqn) this.held.set(e.eventId, { event: e, record: key });
        }
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

  /** End of the stream: the held history events, and the history versions that implied nothing new. */
  finish(): { events: BillingEvent[]; repeated: { object: string; file: string }[] } {
    if (this.finished) return { events: [], repeated: [] };
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
