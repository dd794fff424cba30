/**
 * Staged lines: each event as one CSV line for DuckDB (money as an exact integer part and 9-digit fraction,
 * timestamps as UTC microseconds), and LineBuffer, which holds a batch of lines as UTF-8 bytes with only the
 * keys needed to de-duplicate and sort them (no row objects).
 */
import { RetriableError } from '../events/errors.js';
import { writeAll } from '../events/io.js';
import { createLocalFile } from './scratch.js';
import { csvField } from '../events/csv.js';
import type { BillingEvent, DimensionAttributes } from '../events/model.js';
import type { Money } from '../events/money.js';
import { FACT_COLUMNS, dayOfMicros, microsToIso } from './schema.js';
import { inBatch, type ConflictInfo } from './batch-rules.js';
import { dayStartMs } from '../partitions/index.js';

const MICROS_PER_DAY = 86_400_000_000n;
/** Bytes per chunk of the line store and per fh.write. */
export const FLUSH_CHARS = 1 << 22;

/** A CSV field as DuckDB reads it with allow_quoted_nulls=false: unquoted empty = NULL, `""` = '' (the one rule, events/csv.ts). */
const q = csvField;

/**
 * Money as two exact CSV integers (signed integer part, signed 9-digit fraction): DuckDB parses these far
 * faster than DECIMAL(38,9) text, and `int::DECIMAL(38,9) + frac * 0.000000001` is exact decimal arithmetic.
 */
function money(m: Money): string {
  const t = m.toFixed();
  const dot = t.length - 10;
  return `${t.slice(0, dot)},${t.charCodeAt(0) === 45 ? '-' : ''}${t.slice(dot + 1)}`;
}

/** One staged CSV line (FACT_COLUMNS order, then _ord), with the dimension attributes `d`. Throws when the warehouse cannot store the event. */
export function stageLine(e: BillingEvent, ord: number, checkDay: (e: BillingEvent, where: () => string) => void, d: DimensionAttributes | null | undefined = e.dims): string {
  const where = () => `event ${e.eventId} (${e.lineage.sourceFile}:${e.lineage.sourcePosition})`;
  if (e.mrrDelta && e.mrrDelta.currency !== e.amount.currency) throw new Error(`${where()}: mrr_delta currency ${e.mrrDelta.currency} differs from amount currency ${e.amount.currency}`);
  checkDay(e, where);
  if (!Number.isSafeInteger(e.lineage.sourcePosition)) throw new Error(`${where()}: source_position ${e.lineage.sourcePosition} is not an integer`);
  return (
    `${q(e.eventId)},${e.seqn},${q(e.billingSource)},${q(e.eventType)},${q(e.sourceObjectType)},${q(e.sourceRecordId)},${q(e.sourceVersion)},` +
    `${e.eventTs},${q(e.eventDate)},${q(e.tsPrecision)},${e.tsTruncated},${e.tsAmbiguous},${e.tsNonexistent},${q(e.sourceTsRaw)},${q(e.sourceTimezone)},${q(e.sourceLocalDate)},` +
    `${money(e.amount)},${q(e.amount.currency)},${q(e.accountId)},${q(e.subscriptionId)},${q(e.invoiceId)},${q(e.productId)},${e.mrrDelta ? money(e.mrrDelta) : ','},` +
    `${q(d?.accountName ?? null)},${q(d?.accountSegment ?? null)},${q(d?.accountCountry ?? null)},${q(d?.productName ?? null)},${q(d?.planName ?? null)},${q(d?.dimStatus ?? 'NOT_ENRICHED')},` +
    `${q(e.lineage.sourceFile)},${e.lineage.sourcePosition},${q(e.lineage.ingestRunId)},,,${ord}\n`
  );
}

/** The values two records of one event version must agree on (versions.ts): type, amount, currency, mrr, instant. */
export function versionValues(e: BillingEvent): string {
  return `${e.eventType} ${e.amount.toFixed()} ${e.amount.currency} at ${microsToIso(e.eventTs)}${e.mrrDelta ? ` (mrr_delta ${e.mrrDelta.toFixed()})` : ''}`;
}

/** Equal exactly when versionValues() is equal (the instant as µs, not as ISO text: no date formatting per row). */
function versionKey(e: BillingEvent): string {
  return `${e.eventType} ${e.amount.toFixed()} ${e.amount.currency} ${e.eventTs}${e.mrrDelta ? ` ${e.mrrDelta.toFixed()}` : ''}`;
}

/** FNV-1a, two seeds, folded to 53 bits (a number: 8 bytes a row, no string kept). */
export function hash53(s: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Field positions of a staged line (money columns are two fields: integer part and signed fraction). */
export const STAGED_FIELDS: readonly string[] = FACT_COLUMNS.flatMap((c) => (c.kind === 'decimal38_9' ? [`${c.name}__i`, `${c.name}__f`] : [c.name]));
const F = (name: string) => STAGED_FIELDS.indexOf(name);
const F_TYPE = F('event_type');
const F_TS = F('event_ts');
const F_AMOUNT = F('amount__i');
const F_CURRENCY = F('currency');
const F_MRR = F('mrr_delta__i');

/** Splits one staged CSV line into its fields (RFC 4180 quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const j = line.indexOf('"', i);
        if (line[j + 1] === '"') {
          v += line.slice(i, j + 1);
          i = j + 2;
        } else {
          v += line.slice(i, j);
          i = j + 1;
          break;
        }
      }
      out.push(v);
      i++;
    } else {
      let j = line.indexOf(',', i);
      if (j < 0) j = line.length;
      out.push(line.slice(i, j).replace(/\n$/, ''));
      i = j + 1;
    }
  }
  return out;
}

/** versionValues() of an event, recovered from its staged line (for conflict messages). */
export function stagedValues(bytes: Buffer): string {
  const f = csvFields(bytes.toString('utf8').replace(/\n$/, ''));
  return stagedValuesOf(VALUE_FIELDS.map((k) => f[k]!));
}

/** The staged fields versionValues() is made of (event_type, event_ts, amount, currency, mrr_delta), in this order. */
export const VALUE_FIELDS: readonly number[] = [F_TYPE, F_TS, F_AMOUNT, F_AMOUNT + 1, F_CURRENCY, F_MRR, F_MRR + 1];

/** versionValues() from the texts of VALUE_FIELDS of a staged line (equal texts, equal values: the staged encoding is canonical). */
export function stagedValuesOf(v: readonly string[]): string {
  const [type, ts, ai, af, currency, mi, mf] = v;
  const dec = (i: string, f: string) => (i === '' ? null : `${i}.${f.replace('-', '')}`);
  const mrr = dec(mi!, mf!);
  return `${type} ${dec(ai!, af!)} ${currency} at ${microsToIso(BigInt(ts!))}${mrr ? ` (mrr_delta ${mrr})` : ''}`;
}

/** Checks event_date is the UTC day of event_ts, caching the current day's bounds. */
export function dayChecker(): (e: BillingEvent, where: () => string) => void {
  let day = '';
  let start = 0n;
  let end = 0n;
  return (e, where) => {
    if (e.eventDate === day && e.eventTs >= start && e.eventTs < end) return;
    const actual = dayOfMicros(e.eventTs);
    if (actual !== e.eventDate) throw new Error(`${where()}: event_date ${e.eventDate} is not the UTC day of event_ts (${microsToIso(e.eventTs)})`);
    day = actual;
    start = BigInt(dayStartMs(day)) * 1000n;
    end = start + MICROS_PER_DAY;
  };
}

/** JavaScript string order: the order LineBuffer sorts a run in (run-merge.ts merges runs in it). */
export function cmpStr(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}
function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A batch of staged lines with the keys needed to de-duplicate and sort them (no row objects): one row per
 * event_id survives as it arrives; `sortedByDay` orders each day by (billing_source, event_type, event_ts,
 * seqn, event_id) with an index array.
 */
export class LineBuffer {
  /** Lines as UTF-8 bytes in 4 MiB chunks (no string kept per row): row i is chunks[chunk[i]] at [start[i], end[i]). */
  private readonly chunks: Buffer[] = [];
  private cur: Buffer = Buffer.allocUnsafe(0);
  private curOff = 0;
  private readonly chunk: number[] = [];
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  readonly day: string[] = [];
  private lastDay = '';
  private readonly id: string[] = [];
  private readonly pair: number[] = [];
  private readonly ts: bigint[] = [];
  private readonly seqn: bigint[] = [];
  private readonly file: string[] = [];
  private readonly pos: number[] = [];
  private readonly run: string[] = [];
  /** A 53-bit hash of what must agree between two records of the same event_id and seqn (versions.ts inBatch). */
  private readonly val: number[] = [];
  readonly dropped = new Set<number>();
  /** Same event_id and seqn with different values: the losers (dropped, to be quarantined). */
  readonly conflicts: ConflictInfo[] = [];
  private readonly byId = new Map<string, number>();
  private readonly pairs = new Map<string, Map<string, number>>();
  private readonly pairNames: [string, string][] = [];
  duplicates = 0;

  get length(): number {
    return this.day.length;
  }

  /** Bytes of line text held (the chunks allocated hold at most one chunk more): the stage spills past `spillBytes`. */
  get textBytes(): number {
    return this.heldBytes;
  }
  private heldBytes = 0;

  /** event_id of row i. */
  eventIdAt(i: number): string {
    return this.id[i]!;
  }

  /** `_ord` of row i: the last field of its staged line (stageLine's `ord`). */
  ordAt(i: number): number {
    const c = this.chunks[this.chunk[i]!]!;
    const end = this.end[i]! - 1; // the newline
    let j = end - 1;
    while (c[j] !== 0x2c) j--;
    return Number(c.toString('latin1', j + 1, end));
  }

  /** Bytes of row i (a view, valid while the buffer lives). */
  bytes(i: number): Buffer {
    return this.chunks[this.chunk[i]!]!.subarray(this.start[i]!, this.end[i]!);
  }

  add(e: BillingEvent, line: string): void {
    const i = this.day.length;
    const max = line.length * 3;
    if (this.curOff + max > this.cur.length) {
      this.cur = Buffer.allocUnsafe(Math.max(FLUSH_CHARS, max));
      this.chunks.push(this.cur);
      this.curOff = 0;
    }
    this.chunk.push(this.chunks.length - 1);
    this.start.push(this.curOff);
    const n = this.cur.write(line, this.curOff, 'utf8');
    this.curOff += n;
    this.heldBytes += n;
    this.end.push(this.curOff);
    // one string per day, not one per row (rows of a batch share a few days; each kept string is heap the GC copies)
    if (e.eventDate !== this.lastDay) this.lastDay = e.eventDate;
    this.day.push(this.lastDay);
    this.id.push(e.eventId);
    this.ts.push(e.eventTs);
    this.seqn.push(e.seqn);
    this.file.push(e.lineage.sourceFile);
    this.pos.push(e.lineage.sourcePosition);
    this.run.push(e.lineage.ingestRunId);
    this.val.push(hash53(versionKey(e)));
    let types = this.pairs.get(e.billingSource);
    if (!types) this.pairs.set(e.billingSource, (types = new Map()));
    let p = types.get(e.eventType);
    if (p === undefined) {
      types.set(e.eventType, (p = this.pairNames.length));
      this.pairNames.push([e.billingSource, e.eventType]);
    }
    this.pair.push(p);
    const prev = this.byId.get(e.eventId);
    if (prev === undefined) {
      this.byId.set(e.eventId, i);
      return;
    }
    const v = inBatch({ seqn: this.seqn[i]!, values: String(this.val[i]) }, { seqn: this.seqn[prev]!, values: String(this.val[prev]) });
    const wins = (v.order || cmpStr(this.file[i]!, this.file[prev]!) || this.pos[i]! - this.pos[prev]! || cmpStr(this.run[i]!, this.run[prev]!)) > 0;
    const [winner, loser] = wins ? [i, prev] : [prev, i];
    this.dropped.add(loser);
    if (wins) this.byId.set(e.eventId, i);
    if (v.conflict) this.conflicts.push({ eventId: e.eventId, seqn: this.seqn[loser]!, sourceFile: this.file[loser]!, sourcePosition: this.pos[loser]!, values: stagedValues(this.bytes(loser)), keptValues: stagedValues(this.bytes(winner)), keptAt: `${this.file[winner]}:${this.pos[winner]}` });
    else this.duplicates++;
  }

  /** Live row indices per day (days ascending), each in the partition order. */
  sortedByDay(): Map<string, number[]> {
    const rank = new Int32Array(this.pairNames.length);
    this.pairNames
      .map((n, id) => ({ n, id }))
      .sort((a, b) => cmpStr(a.n[0], b.n[0]) || cmpStr(a.n[1], b.n[1]))
      .forEach((x, r) => (rank[x.id] = r));
    const out = new Map<string, number[]>();
    for (let i = 0; i < this.length; i++) {
      if (this.dropped.has(i)) continue;
      let list = out.get(this.day[i]!);
      if (!list) out.set(this.day[i]!, (list = []));
      list.push(i);
    }
    const { pair, ts, seqn, id } = this;
    const cmp = (a: number, b: number) => rank[pair[a]!]! - rank[pair[b]!]! || cmpBig(ts[a]!, ts[b]!) || cmpBig(seqn[a]!, seqn[b]!) || cmpStr(id[a]!, id[b]!);
    for (const list of out.values()) list.sort(cmp);
    return new Map([...out.entries()].sort(([a], [b]) => cmpStr(a, b)));
  }
}

/**
 * Writes lines `idx` of a buffer to a new file, in order, through one reused byte buffer. Every byte is written
 * or the call fails (writeAll), and the file's size on disk is checked against the bytes written: a full disk is
 * a DiskFullError naming the file, never a silently shorter file. Returns the rows and bytes written.
 */
export async function writeLines(path: string, buf: LineBuffer, idx: readonly number[]): Promise<{ rows: number; bytes: number }> {
  let bytes = 0;
  const fh = await createLocalFile(path);
  try {
    const out = Buffer.allocUnsafe(FLUSH_CHARS);
    let off = 0;
    for (const i of idx) {
      const b = buf.bytes(i);
      if (off + b.length > out.length) {
        if (off > 0) bytes += await writeAll(fh, out.subarray(0, off), path);
        off = 0;
        if (b.length > out.length) {
          bytes += await writeAll(fh, b, path);
          continue;
        }
      }
      off += b.copy(out, off);
    }
    if (off > 0) bytes += await writeAll(fh, out.subarray(0, off), path);
    const size = (await fh.stat()).size;
    if (size !== bytes) throw new RetriableError(`staged file ${path} holds ${size} bytes, ${bytes} were written; nothing was published, run again`);
  } finally {
    await fh.close();
  }
  return { rows: idx.length, bytes };
}
