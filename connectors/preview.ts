/**
 * Dry-run of a mapping over arbitrary files (no landing zone, no warehouse): what `billing-mart source-check`
 * shows a data engineer onboarding a source. Counts events per type and currency (exact sums), quarantine
 * entries per reason with the first example of each, and records skipped per rule.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sumDecimalStrings } from '../events/money.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import type { SourceConfig } from '../config/sources.js';
import { objectForFile } from './landing/pickup.js';
import { readRecords } from './landing/readers.js';
import { compileMapper } from './mapping/map.js';
import { MapSession, REPEATED_VERSION } from './mapping/session.js';

export interface FilePreview {
  file: string;
  object: string | null;
  /** Why the file was not read (name matches no object, format not accepted). */
  skipped: string | null;
  records: number;
  /** Records that produced at least one event. */
  mapped: number;
  events: { event_type: string; currency: string; rows: number; amount_sum: string }[];
  quarantine: { reason: string; rows: number; example: Pick<QuarantineEntry, 'sourcePosition' | 'field' | 'rawValue' | 'message'> }[];
  /** Records skipped, per `<object>.<skip rule>` or `<object>.(repeated version)`: not billing events, never quarantined. */
  skippedRecords: Record<string, number>;
}

/** One mapping session over all files (history versions may be spread over several), reported per file. */
export async function previewFiles(source: SourceConfig, files: readonly string[]): Promise<FilePreview[]> {
  const session = new MapSession(compileMapper(source), source.name, 'source-check');
  const out: FilePreview[] = [];
  const byFile = new Map<string, { p: FilePreview; sums: Map<string, string[]>; reasons: Map<string, FilePreview['quarantine'][number]> }>();
  const add = (e: BillingEvent) => {
    const f = byFile.get(e.lineage.sourceFile)!;
    const k = `${e.eventType}\u0000${e.amount.currency}`;
    let list = f.sums.get(k);
    if (!list) f.sums.set(k, (list = []));
    list.push(e.amount.toFixed());
  };
  for (const file of files) {
    const which = objectForFile(source, path.basename(file));
    if ('reason' in which) {
      out.push({ file, object: null, skipped: which.reason, records: 0, mapped: 0, events: [], quarantine: [], skippedRecords: {} });
      continue;
    }
    const p: FilePreview = { file, object: which.spec.object, skipped: null, records: 0, mapped: 0, events: [], quarantine: [], skippedRecords: {} };
    const f = { p, sums: new Map<string, string[]>(), reasons: new Map<string, FilePreview['quarantine'][number]>() };
    byFile.set(file, f);
    out.push(p);
    for await (const r of readRecords(await readFile(file), which.name, which.spec, file)) {
      p.records++;
      const { events, outcome } = session.push(r);
      events.forEach(add);
      if (outcome.kind === 'mapped') p.mapped++;
      else if (outcome.kind === 'skipped') p.skippedRecords[outcome.rule] = (p.skippedRecords[outcome.rule] ?? 0) + 1;
      else if (outcome.kind === 'quarantined') {
        const q = session.quarantine[session.quarantine.length - 1]!;
        const cur = f.reasons.get(q.reason);
        if (cur) cur.rows++;
        else f.reasons.set(q.reason, { reason: q.reason, rows: 1, example: { sourcePosition: q.sourcePosition, field: q.field, rawValue: q.rawValue, message: q.message } });
      }
    }
  }
  const end = session.finish();
  end.events.forEach(add);
  for (const f of byFile.values()) {
    const held = new Set(end.events.filter((e) => e.lineage.sourceFile === f.p.file).map((e) => `${e.lineage.sourcePosition}`));
    f.p.mapped += held.size;
  }
  for (const r of end.repeated) {
    const p = byFile.get(r.file)!.p;
    const rule = `${r.object}.${REPEATED_VERSION}`;
    p.skippedRecords[rule] = (p.skippedRecords[rule] ?? 0) + 1;
  }
  for (const f of byFile.values()) {
    f.p.events = [...f.sums.entries()]
      .map(([k, v]) => {
        const [event_type, currency] = k.split('\u0000') as [string, string];
        return { event_type, currency, rows: v.length, amount_sum: sumDecimalStrings(v) };
      })
      .sort((a, b) => a.event_type.localeCompare(b.event_type) || a.currency.localeCompare(b.currency));
    f.p.quarantine = [...f.reasons.values()].sort((a, b) => a.reason.localeCompare(b.reason));
  }
  return out;
}
