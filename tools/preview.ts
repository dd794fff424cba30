/**
 * Dry-run of a mapping over arbitrary files (no landing zone, no warehouse): what `billing-mart source-check`
 * shows a data engineer onboarding a source. Counts events per type and currency (exact sums), quarantine
 * entries per reason with the first example of each, and records skipped per rule.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sumDecimalStrings } from '../events/money.js';
import type { BillingEvent, QuarantineEntry } from '../events/model.js';
import { referencedFields, type ObjectSpec, type SourceConfig } from '../config/sources.js';
import { objectForFile } from '../connectors/landing/pickup.js';
import { readRecords } from '../connectors/landing/readers.js';
import { compileMapper } from '../connectors/mapping/map.js';
import { MapSession, REPEATED_VERSION } from '../connectors/mapping/session.js';
import { getPath } from '../connectors/paths.js';

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
  /**
   * Fields the object's mapping names (ids, timestamps, money, keys, conditions…) that no record of this file has:
   * what a first load would quarantine or silently miss. A list of alternatives is missing only when all are.
   */
  missingColumns: { field: string; usedBy: string }[];
}

/** Referenced fields of the mapping that none of the records has (alternatives grouped by the key naming them). */
function missingColumns(spec: ObjectSpec, seen: Set<string>): FilePreview['missingColumns'] {
  const byKey = new Map<string, string[]>();
  for (const { key, field } of referencedFields(spec)) {
    // fields inside JSON-text fields are decoded by the mapper: not visible in the raw records
    if (spec.jsonFields.some((j) => field.startsWith(`${j}.`))) continue;
    // `timestamps:` declares formats (often shared across objects); the fields read are named by events[].ts etc.
    if (key[0] === 'timestamps') continue;
    const k = (typeof key.at(-1) === 'number' ? key.slice(0, -1) : key).join('.');
    byKey.set(k, [...(byKey.get(k) ?? []), field]);
  }
  const out: FilePreview['missingColumns'] = [];
  for (const [usedBy, fields] of byKey) if (!fields.some((f) => seen.has(f))) for (const field of new Set(fields)) out.push({ field, usedBy });
  return out;
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
      out.push({ file, object: null, skipped: which.reason, records: 0, mapped: 0, events: [], quarantine: [], skippedRecords: {}, missingColumns: [] });
      continue;
    }
    const p: FilePreview = { file, object: which.spec.object, skipped: null, records: 0, mapped: 0, events: [], quarantine: [], skippedRecords: {}, missingColumns: [] };
    const fields = [...new Set(referencedFields(which.spec).map((x) => x.field))];
    const seen = new Set<string>();
    let parsed = 0;
    const f = { p, sums: new Map<string, string[]>(), reasons: new Map<string, FilePreview['quarantine'][number]>() };
    byFile.set(file, f);
    out.push(p);
    for await (const r of readRecords(await readFile(file), which.name, which.spec, file)) {
      p.records++;
      if (!r.parseError) {
        parsed++;
        for (const fld of fields) if (!seen.has(fld) && getPath(r.data, fld) !== undefined) seen.add(fld);
      }
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
    if (parsed > 0) p.missingColumns = missingColumns(which.spec, seen);
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
