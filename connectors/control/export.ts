/**
 * A control export in the source's own shape (a Stripe balance report, a Zuora bill-run summary, an itemised
 * report), mapped by config like a source object: each line → one or more (event type, currency, rows, amount)
 * cells, summed per day. Files for day D (bounded by the day asked about, never a scan of history):
 *   <landing>/<source>/_control/<D>/<file>[-<suffix>].<ext>[.gz]     a folder per reported day
 *   <landing>/<source>/_control/<file>-<D>[…].<ext>[.gz]              or the day in the file name
 * A line's day is its `day` column (a date or timestamp, read in `timezone`, taken as a UTC day) when mapped,
 * else the file's day; lines about other days are left out.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FatalError, RecordError, formatLocation } from '../../events/errors.js';
import { Decimal, Money } from '../../events/money.js';
import type { MappedExportSpec } from '../../config/completeness.js';
import type { ObjectSpec } from '../../config/sources.js';
import { assertDay } from '../../partitions/index.js';
import { listDir } from '../landing/pickup.js';
import { parseFileName, readRecords, type FileName } from '../landing/readers.js';
import { whenMatches } from '../mapping/conditions.js';
import { NO_CURRENCY, readCurrency, readMoney, readTimestamp } from '../mapping/values.js';
import { asList, firstPresent, textOf } from '../paths.js';
import { aggregateControl, type ControlCell, type ControlProvider } from './provider.js';

const INT_RE = /^\d+$/;

/** The reader needs only the parsing half of an object spec. */
function readerSpec(spec: MappedExportSpec): ObjectSpec {
  return { object: spec.file, csv: spec.csv, recordsPath: spec.recordsPath, recordPath: spec.recordPath } as unknown as ObjectSpec;
}

function wrap(e: unknown, source: string): never {
  if (e instanceof RecordError) {
    throw new FatalError(`control export of ${source}: ${e.message}; fix the export, or its mapping under sources[${source}].completeness.control`, { cause: e });
  }
  throw e;
}

/** The line's currency; `XXX` (ISO 4217 "no currency") stands for events that move no money, as in the fact table. */
function currencyOf(data: unknown, spec: MappedExportSpec['currency'], loc: { file: string; line?: number; position?: number }): string | null {
  if (typeof spec !== 'string') {
    const hit = firstPresent(data, spec.column);
    if (hit && textOf(hit.value)?.toUpperCase() === NO_CURRENCY) return NO_CURRENCY;
  }
  return readCurrency(data, spec, loc);
}

export function mappedExport(landing: string, source: string, spec: MappedExportSpec): ControlProvider {
  const root = path.join(landing, source, '_control');
  const rel = (abs: string) => path.relative(landing, abs).split(path.sep).join('/');

  async function filesFor(day: string): Promise<{ abs: string; name: FileName }[]> {
    const out: { abs: string; name: FileName }[] = [];
    const accept = (n: string) => {
      const name = parseFileName(n);
      return name && name.prefix === spec.file && spec.formats.includes(name.format) ? name : null;
    };
    for (const n of await listDir(path.join(root, day))) {
      const name = accept(n);
      if (name) out.push({ abs: path.join(root, day, n), name });
    }
    for (const n of await listDir(root)) {
      const name = accept(n);
      if (name && name.suffix !== null && name.suffix.startsWith(day)) out.push({ abs: path.join(root, n), name });
    }
    return out;
  }

  return {
    kind: 'export',
    origin: `${source}/_control/<day>/${spec.file}.* (${spec.formats.join('|')})`,
    async totals(day) {
      assertDay(day);
      const files = await filesFor(day);
      if (!files.length) return null;
      const cells: ControlCell[] = [];
      for (const f of files) {
        const file = rel(f.abs);
        const buf = await readFile(f.abs);
        for await (const r of readRecords(buf, f.name, readerSpec(spec), file)) {
          if (r.parseError) throw new FatalError(`control export ${formatLocation(r.parseError.location ?? r.location)} cannot be read: ${r.parseError.message}`, { cause: r.parseError });
          const loc = { file, ...(r.location.line !== undefined ? { line: r.location.line } : { position: r.location.position ?? 0 }) };
          try {
            if (spec.day) {
              const hit = firstPresent(r.data, spec.day.column);
              if (!hit) throw new RecordError('MISSING_FIELD', `day column ${asList(spec.day.column).join(' / ')} is empty`, null, { ...loc, field: asList(spec.day.column)[0]! });
              if (readTimestamp(hit.value, spec.day.format, spec.timezone, { ...loc, field: hit.path }).utcDate !== day) continue;
            }
            for (const rule of spec.totals) {
              if (rule.when !== undefined && !whenMatches(r.data, rule.when)) continue;
              if (rule.unless !== undefined && whenMatches(r.data, rule.unless)) continue;
              let rows = 1n;
              if (rule.rows !== undefined) {
                const hit = firstPresent(r.data, rule.rows);
                const text = hit ? textOf(hit.value) : null;
                if (text === null || !INT_RE.test(text)) throw new RecordError('BAD_VALUE', `row count ${JSON.stringify(text)} is not a non-negative integer`, text, { ...loc, field: hit?.path ?? asList(rule.rows)[0]! });
                rows = BigInt(text);
              }
              let currency = currencyOf(r.data, spec.currency, loc);
              let amount = new Decimal(0);
              if (rule.amount) {
                if (currency === null) throw new RecordError('UNKNOWN_CURRENCY', 'no currency for the amount (the currency column is empty and no default is configured)', null, loc);
                const m: Money = readMoney(r.data, 'amount', { column: rule.amount.column, unit: rule.amount.unit }, currency, loc);
                amount = rule.amount.sign === -1 ? m.amount.negated() : m.amount;
              }
              currency ??= NO_CURRENCY;
              cells.push({ event_type: rule.eventType, currency, rows, amount });
            }
          } catch (e) {
            wrap(e, source);
          }
        }
      }
      return aggregateControl(source, day, cells, { origin: files.map((f) => rel(f.abs)).join(', ') });
    },
  };
}
