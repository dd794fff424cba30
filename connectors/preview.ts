/**
 * Dry-run of a mapping over arbitrary files (no landing zone, no warehouse): what `billing-mart source-check`
 * shows a data engineer onboarding a source. Counts events per type and currency (exact sums) and quarantine
 * entries per reason, with the first example of each.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sumDecimalStrings } from '../events/money.js';
import type { QuarantineEntry } from '../events/model.js';
import type { SourceConfig } from '../config/sources.js';
import { objectForFile } from './landing/pickup.js';
import { readRecords } from './landing/readers.js';
import { compileMapper, toQuarantine } from './mapping/map.js';

export interface FilePreview {
  file: string;
  object: string | null;
  /** Why the file was not read (name matches no object, format not accepted). */
  skipped: string | null;
  records: number;
  events: { event_type: string; currency: string; rows: number; amount_sum: string }[];
  quarantine: { reason: string; rows: number; example: Pick<QuarantineEntry, 'sourcePosition' | 'field' | 'rawValue' | 'message'> }[];
}

export async function previewFiles(source: SourceConfig, files: readonly string[]): Promise<FilePreview[]> {
  const map = compileMapper(source);
  const out: FilePreview[] = [];
  for (const file of files) {
    const which = objectForFile(source, path.basename(file));
    if ('reason' in which) {
      out.push({ file, object: null, skipped: which.reason, records: 0, events: [], quarantine: [] });
      continue;
    }
    const sums = new Map<string, string[]>();
    const reasons = new Map<string, { rows: number; example: FilePreview['quarantine'][number]['example'] }>();
    let records = 0;
    for await (const r of readRecords(await readFile(file), which.name, which.spec, file)) {
      records++;
      const res = map(r, { ingestRunId: 'source-check' });
      if (Array.isArray(res)) {
        for (const e of res) {
          const k = `${e.eventType}\u0000${e.amount.currency}`;
          let list = sums.get(k);
          if (!list) sums.set(k, (list = []));
          list.push(e.amount.toFixed());
        }
      } else {
        const q = toQuarantine(res, r, source.name, 'source-check');
        const cur = reasons.get(q.reason);
        if (cur) cur.rows++;
        else reasons.set(q.reason, { rows: 1, example: { sourcePosition: q.sourcePosition, field: q.field, rawValue: q.rawValue, message: q.message } });
      }
    }
    out.push({
      file,
      object: which.spec.object,
      skipped: null,
      records,
      events: [...sums.entries()]
        .map(([k, v]) => {
          const [event_type, currency] = k.split('\u0000') as [string, string];
          return { event_type, currency, rows: v.length, amount_sum: sumDecimalStrings(v) };
        })
        .sort((a, b) => a.event_type.localeCompare(b.event_type) || a.currency.localeCompare(b.currency)),
      quarantine: [...reasons.entries()].map(([reason, v]) => ({ reason, ...v })).sort((a, b) => a.reason.localeCompare(b.reason)),
    });
  }
  return out;
}
