/**
 * Reads a generated landing zone back through the connectors' mapping API (every file, including the _late/
 * tree delivered afterwards) and aggregates what an exactly-once load would hold.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import { parseSourceConfig } from '../../config/sources.js';
import { compileMapper, MapSession, readRecords, skippedTotal } from '../../connectors/index.js';
import { objectForFile } from '../../connectors/landing/pickup.js';
import type { BillingEvent } from '../../events/model.js';
import { Money } from '../../events/money.js';

export interface Loaded {
  records: number;
  eventRecords: number;
  quarantined: number;
  /** Records skipped by rule (not billing events) or as repeated history versions. */
  skipped: number;
  /** `<source>:<object>.<rule>` → records skipped. */
  skippedByRule: Record<string, number>;
  /** deduped by event_id keeping the highest seqn */
  events: Map<string, BillingEvent>;
  quarantine: Map<string, number>;
  unrecognised: string[];
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out; // a source without a _late tree
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== '_control') walk(p, out);
    } else out.push(p);
  }
  return out;
}

export async function loadAll(out: string, sources: string[]): Promise<Loaded> {
  const res: Loaded = { records: 0, eventRecords: 0, quarantined: 0, skipped: 0, skippedByRule: {}, events: new Map(), quarantine: new Map(), unrecognised: [] };
  for (const name of sources) {
    const cfg = parseSourceConfig(DEFAULT_SOURCES.find((s) => s.name === name), name);
    const session = new MapSession(compileMapper(cfg), name, 'e2e');
    const keep = (ev: BillingEvent) => {
      const prev = res.events.get(ev.eventId);
      if (!prev || prev.seqn <= ev.seqn) res.events.set(ev.eventId, ev);
    };
    const files = [...walk(path.join(out, name)), ...walk(path.join(out, '_late', name))].filter((f) => !/\.done$|_SUCCESS$/.test(f)).sort();
    for (const abs of files) {
      const rel = path.relative(out, abs).split(path.sep).join('/');
      const hit = objectForFile(cfg, path.basename(abs));
      if ('reason' in hit) {
        res.unrecognised.push(`${rel}: ${hit.reason}`);
        continue;
      }
      for await (const r of readRecords(readFileSync(abs), hit.name, hit.spec, rel)) session.push(r).events.forEach(keep);
    }
    session.finish().events.forEach(keep);
    res.records += session.stats.records;
    res.eventRecords += session.stats.mapped;
    res.quarantined += session.stats.quarantined;
    res.skipped += skippedTotal(session.stats);
    for (const [rule, n] of Object.entries(session.stats.skipped)) res.skippedByRule[`${name}:${rule}`] = n;
    for (const q of session.quarantine) {
      const k = `${name},${q.reason}`;
      res.quarantine.set(k, (res.quarantine.get(k) ?? 0) + 1);
    }
  }
  return res;
}

/** `billing_source,event_date,event_type,currency` → `rows,amount_sum` */
export function aggregate(events: Iterable<BillingEvent>): Map<string, string> {
  const acc = new Map<string, { rows: number; sum: Money }>();
  for (const e of events) {
    const k = `${e.billingSource},${e.eventDate},${e.eventType},${e.amount.currency}`;
    const c = acc.get(k);
    if (c) {
      c.rows++;
      c.sum = c.sum.plus(e.amount);
    } else acc.set(k, { rows: 1, sum: e.amount });
  }
  return new Map([...acc].map(([k, c]) => [k, `${c.rows},${c.sum.toFixed()}`]));
}

export function readTruth(file: string, keyCols: number): Map<string, string> {
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
  return new Map(
    lines.map((l) => {
      const parts = l.split(',');
      return [parts.slice(0, keyCols).join(','), parts.slice(keyCols).join(',')];
    }),
  );
}
