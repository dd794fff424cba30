/**
 * Timestamp profiling (`billing-mart profile`): for each column that holds dates or datetimes, the formats seen
 * and their shares, offsets, precision, the share of values at exactly local midnight (a nightly-truncation
 * suspect; per event type when a type column exists), values that fail to parse (with examples) and a
 * suggested column configuration for the source mapping language. Pure: records in, report out.
 */
import { RecordError } from '../../events/errors.js';
import { parseTimestamp, type TsPrecision } from '../../events/time.js';
import { shapeOf, suggestFormat } from './shapes.js';

export interface ProfileRecord {
  /** Flattened fields: dotted JSON paths or CSV columns → text. */
  fields: Record<string, string>;
  /** 1-based line (CSV/JSON lines) or 0-based position (JSON documents). */
  at: string;
}

export interface ProfileOptions {
  sourceTz: string;
  /** Column holding the event type / status; default: the first of TYPE_COLUMNS with few distinct values. */
  typeColumn?: string;
  /** Failure examples kept per column (default 5). */
  examples?: number;
}

export const TYPE_COLUMNS = ['event_type', 'type', 'status', 'state', 'object', 'stream', 'source_type', 'charge_type'];
const PRECISIONS: TsPrecision[] = ['day', 'minute', 'second', 'millisecond', 'microsecond'];
const MAX_TYPES = 30;

export interface ColumnProfile {
  column: string;
  values: number;
  empty: number;
  parsed: number;
  failed: number;
  formats: { format: string; count: number; share: number }[];
  offsets: { offset: string; count: number }[];
  precision: Record<TsPrecision, number>;
  midnight: { count: number; share: number; byType: { type: string; values: number; midnight: number; share: number }[] | null };
  failures: { value: string; at: string; reason: string }[];
  suggestion: { format: string; notes: string[] };
}

export interface FileProfile {
  file: string;
  records: number;
  sourceTz: string;
  typeColumn: string | null;
  columns: ColumnProfile[];
}

interface Acc {
  values: number;
  empty: number;
  shaped: number;
  parsed: number;
  failed: number;
  formats: Map<string, number>;
  offsets: Map<string, number>;
  precision: Record<TsPrecision, number>;
  midnight: number;
  byType: Map<string, Map<string, { values: number; midnight: number }>>;
  failures: { value: string; at: string; reason: string }[];
}

const share = (n: number, d: number) => (d === 0 ? 0 : Math.round((n / d) * 10_000) / 10_000);

export function profileRecords(file: string, records: Iterable<ProfileRecord>, o: ProfileOptions): FileProfile {
  const maxExamples = o.examples ?? 5;
  const accs = new Map<string, Acc>();
  const typeValues = new Map<string, Set<string>>();
  let n = 0;
  for (const rec of records) {
    n++;
    const typeCols = o.typeColumn ? [o.typeColumn] : TYPE_COLUMNS.filter((c) => rec.fields[c] !== undefined);
    for (const tc of typeCols) {
      let set = typeValues.get(tc);
      if (!set) typeValues.set(tc, (set = new Set()));
      if (set.size <= MAX_TYPES) set.add(rec.fields[tc] ?? '');
    }
    for (const [col, raw] of Object.entries(rec.fields)) {
      let a = accs.get(col);
      if (!a) accs.set(col, (a = { values: 0, empty: 0, shaped: 0, parsed: 0, failed: 0, formats: new Map(), offsets: new Map(), precision: { day: 0, minute: 0, second: 0, millisecond: 0, microsecond: 0 }, midnight: 0, byType: new Map(), failures: [] }));
      const v = raw.trim();
      if (v === '') {
        a.empty++;
        continue;
      }
      a.values++;
      const shape = shapeOf(v);
      const fail = (reason: string) => {
        a.failed++;
        if (a.failures.length < maxExamples) a.failures.push({ value: v, at: rec.at, reason });
      };
      if (!shape) {
        fail('not a date or datetime');
        continue;
      }
      a.shaped++;
      a.formats.set(shape.format, (a.formats.get(shape.format) ?? 0) + 1);
      const off = shape.offset ?? 'none (naive)';
      a.offsets.set(off, (a.offsets.get(off) ?? 0) + 1);
      let p;
      try {
        p = parseTimestamp(v, o.sourceTz, shape.epoch ? { epoch: shape.epoch } : undefined);
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        fail(e.message.replace(/ \(at .*\)$/, ''));
        continue;
      }
      a.parsed++;
      a.precision[p.precision]++;
      if (p.truncatedToMidnight) a.midnight++;
      for (const tc of typeCols) {
        let m = a.byType.get(tc);
        if (!m) a.byType.set(tc, (m = new Map()));
        const t = rec.fields[tc] ?? '';
        const c = m.get(t) ?? { values: 0, midnight: 0 };
        c.values++;
        if (p.truncatedToMidnight) c.midnight++;
        m.set(t, c);
      }
    }
  }
  const typeColumn = o.typeColumn ?? [...typeValues.entries()].find(([c, s]) => s.size <= MAX_TYPES && [...s].some((v) => v.trim() !== '') && !isTemporal(accs.get(c)))?.[0] ?? null;
  const columns: ColumnProfile[] = [];
  for (const [col, a] of accs) {
    if (!isTemporal(a, col) || col === typeColumn) continue;
    const formats = [...a.formats.entries()].sort((x, y) => y[1] - x[1]).map(([format, count]) => ({ format, count, share: share(count, a.values) }));
    const byTypeMap = typeColumn ? a.byType.get(typeColumn) : undefined;
    const byType = byTypeMap ? [...byTypeMap.entries()].sort((x, y) => x[0].localeCompare(y[0])).map(([type, c]) => ({ type, values: c.values, midnight: c.midnight, share: share(c.midnight, c.values) })) : null;
    columns.push({
      column: col,
      values: a.values,
      empty: a.empty,
      parsed: a.parsed,
      failed: a.failed,
      formats,
      offsets: [...a.offsets.entries()].sort((x, y) => y[1] - x[1]).map(([offset, count]) => ({ offset, count })),
      precision: a.precision,
      midnight: { count: a.midnight, share: share(a.midnight, a.parsed), byType },
      failures: a.failures,
      suggestion: suggest(col, a, o.sourceTz),
    });
  }
  return { file, records: n, sourceTz: o.sourceTz, typeColumn, columns };
}

/** Names that suggest time; bare integers (possible epochs) are only taken for time in such columns. */
const TIME_NAME_RE = /(date|time|_at$|^at$|_on$|created|updated|modified|period|start|end|due|since|until|expir|version|timestamp|(^|_)ts$|synced)/i;

/**
 * A column holds dates when at least half of its non-empty values look like dates or datetimes; a column of bare
 * integers (epoch-like) also needs a time-like name, so amounts and phone numbers are not taken for epochs.
 */
function isTemporal(a: Acc | undefined, col?: string): boolean {
  if (a === undefined || a.values === 0 || a.shaped / a.values < 0.5) return false;
  const epochOnly = [...a.formats.keys()].every((f) => f.startsWith('epoch'));
  return !epochOnly || col === undefined || TIME_NAME_RE.test(col.split('.').at(-1)!);
}

function suggest(col: string, a: Acc, zone: string): { format: string; notes: string[] } {
  const format = suggestFormat(a.formats);
  const notes: string[] = [];
  const naive = a.offsets.get('none (naive)') ?? 0;
  if (naive > 0 && format !== 'epoch_s' && format !== 'epoch_ms') notes.push(`${naive} naive value(s): they are read in the source zone (timezone: ${zone}); set the source's timezone to the zone the system writes in`);
  if (a.offsets.size > 1) notes.push(`mixed offsets (${[...a.offsets.keys()].join(', ')}): keep "auto" or normalise upstream`);
  if (a.formats.size > 1) notes.push(`${a.formats.size} formats in one column`);
  if (a.parsed > 0 && a.midnight / a.parsed >= 0.5) notes.push(`${Math.round((a.midnight / a.parsed) * 100)}% of values are exactly local midnight: a nightly-truncation suspect (ts_truncated will flag them)`);
  if (a.precision.day > 0 && a.precision.day < a.parsed) notes.push('some values are date-only: their precision is "day"');
  if (/(^|_)(id|code|name|number)$/i.test(col)) notes.push(`the column name "${col}" suggests an identifier, yet it holds dates: the columns of this export may be shifted`);
  if (a.failed > 0) notes.push(`${a.failed} value(s) fail to parse: they will be quarantined as BAD_TIMESTAMP`);
  return { format, notes: [`timestamps: { ${col}: ${format} }`, ...notes] };
}

export function formatProfile(p: FileProfile): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [`${p.file}: ${p.records} record(s), source zone ${p.sourceTz}${p.typeColumn ? `, type column "${p.typeColumn}"` : ''}`];
  if (p.columns.length === 0) lines.push('  no column holds dates or datetimes');
  for (const c of p.columns) {
    lines.push('', `column ${c.column}: ${c.values} value(s), ${c.empty} empty, ${c.parsed} parsed, ${c.failed} failed`);
    lines.push(`  formats:   ${c.formats.map((f) => `${f.format} ${pct(f.share)}`).join('; ') || '-'}`);
    lines.push(`  offsets:   ${c.offsets.map((x) => `${x.offset} ×${x.count}`).join('; ') || '-'}`);
    lines.push(`  precision: ${PRECISIONS.filter((k) => c.precision[k] > 0).map((k) => `${k} ${c.precision[k]}`).join('; ') || '-'}`);
    lines.push(`  at local midnight: ${c.midnight.count} (${pct(c.midnight.share)})`);
    for (const t of c.midnight.byType ?? []) lines.push(`    ${t.type || '(empty)'}: ${t.midnight}/${t.values} (${pct(t.share)})`);
    for (const f of c.failures) lines.push(`  fails: ${JSON.stringify(f.value)} at ${f.at}: ${f.reason}`);
    lines.push(`  suggested: ${c.suggestion.notes[0]}`);
    for (const note of c.suggestion.notes.slice(1)) lines.push(`    - ${note}`);
  }
  return lines.join('\n');
}
