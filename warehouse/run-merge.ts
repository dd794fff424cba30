/**
 * The merge of a spilled batch's sorted runs, in the stage (plain files, no DuckDB), in memory bounded by the
 * spill budget whatever the size of the day (issue 11 item 3):
 * 1. Each row a spilled batch staged leaves its event_id's 53-bit hash and its `_ord` in typed arrays (RunKeys,
 *    12 bytes a row). Inside a run ids are unique (LineBuffer), so only a row whose hash occurs more than once can
 *    lose to a row of another run: the candidates.
 * 2. The candidates are resolved in groups of at most `groupRows`, by hash, one pass over the runs each: the
 *    candidate lines of the group are parsed, grouped by their exact event_id, and each id keeps one winner by the
 *    rule of the in-memory batch (highest seqn, then source_file, source_position, ingest_run_id, the first staged
 *    on a tie); a loser with the winner's seqn and other values is a conflict (batch-rules.ts), else a duplicate.
 * 3. Each day's runs are merged into one file in the partition order (billing_source, event_type, event_ts, seqn,
 *    event_id: the order LineBuffer sorts a run in), without the losers, reading each run a chunk at a time.
 * The merged day is what an unspilled batch stages: one sorted, de-duplicated file, converted in order.
 */
import { writeAll } from '../events/io.js';
import { RetriableError } from '../events/errors.js';
import { inBatch, type ConflictInfo } from './batch-rules.js';
import { STAGED_FIELDS, VALUE_FIELDS, cmpStr, stagedValuesOf } from './lines.js';
import { createLocalFile, openLocalRead, removeLocal, type FileHandle } from './scratch.js';

/** The event_id hash and `_ord` of every row a spilled batch staged (off the V8 heap: 22 MB for 1.8 M rows). */
export class RunKeys {
  private hash = new Float64Array(1 << 16);
  private ord = new Uint32Array(1 << 16);
  private n = 0;

  get length(): number {
    return this.n;
  }

  add(h: number, ord: number): void {
    if (this.n === this.hash.length) {
      const hash = new Float64Array(this.n * 2);
      hash.set(this.hash);
      this.hash = hash;
      const o = new Uint32Array(this.n * 2);
      o.set(this.ord);
      this.ord = o;
    }
    if (!(ord >= 0 && ord <= 0xffffffff)) throw new Error(`internal: staged row ordinal ${ord} out of range`);
    this.hash[this.n] = h;
    this.ord[this.n++] = ord;
  }

  /** The candidates (rows whose hash occurs more than once) in `groups` groups by hash: each group's `_ord`s. */
  candidateGroups(groupRows: number): Set<number>[] {
    const sorted = this.hash.slice(0, this.n).sort();
    const repeated = new Set<number>();
    let count = 0;
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] !== sorted[i - 1]) continue;
      count += repeated.has(sorted[i]!) ? 1 : 2;
      repeated.add(sorted[i]!);
    }
    const groups = Array.from({ length: Math.max(1, Math.ceil(count / Math.max(1, groupRows))) }, () => new Set<number>());
    if (count === 0) return [];
    for (let i = 0; i < this.n; i++) {
      const h = this.hash[i]!;
      if (repeated.has(h)) groups[h % groups.length]!.add(this.ord[i]!);
    }
    return groups;
  }

  release(): void {
    this.hash = new Float64Array(0);
    this.ord = new Uint32Array(0);
    this.n = 0;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const NL = 0x0a;

/** End (exclusive) of the CSV field of `line` starting at `i` (RFC 4180 quotes: a doubled quote inside is text). */
function fieldEnd(line: Buffer, i: number): number {
  if (line[i] === QUOTE) {
    let j = i + 1;
    for (;;) {
      j = line.indexOf(QUOTE, j);
      if (j < 0) throw new Error('internal: staged line with an unclosed quote');
      if (line[j + 1] === QUOTE) j += 2;
      else return j + 1;
    }
  }
  const j = line.indexOf(COMMA, i);
  return j < 0 ? line.length : j;
}

/** The text of a field [a, b) (quotes removed, doubled quotes undone). */
function fieldText(line: Buffer, a: number, b: number): string {
  if (line[a] !== QUOTE) return line.toString('utf8', a, b);
  return line.toString('utf8', a + 1, b - 1).replace(/""/g, '"');
}

/** The first `n` fields of a staged line as [start, end) pairs. */
function fields(line: Buffer, n: number): number[] {
  const out: number[] = [];
  let i = 0;
  for (let k = 0; k < n; k++) {
    const e = fieldEnd(line, i);
    out.push(i, e);
    i = e + 1;
  }
  return out;
}

/** `_ord`: the last field of a staged line (without its newline). */
function ordOf(line: Buffer): number {
  let j = line.length - 1;
  while (line[j] !== COMMA) j--;
  return Number(line.toString('latin1', j + 1, line.length));
}

const F = (name: string) => {
  const i = STAGED_FIELDS.indexOf(name);
  if (i < 0) throw new Error(`internal: no staged field ${name}`);
  return i;
};
// staged field positions (lines.ts stageLine)
const F_ID = F('event_id');
const F_SEQN = F('seqn');
const F_SOURCE = F('billing_source');
const F_TYPE = F('event_type');
const F_TS = F('event_ts');
const F_FILE = F('source_file');
const F_POS = F('source_position');
const F_RUN = F('ingest_run_id');
const SORT_FIELDS = Math.max(F_ID, F_SEQN, F_SOURCE, F_TYPE, F_TS) + 1;
const LAST_FIELD = Math.max(F_FILE, F_POS, F_RUN, ...VALUE_FIELDS);

/** Reads a staged file line by line (each line without its newline), a chunk at a time. */
class LineReader {
  /** Lines returned so far. */
  lines = 0;
  private buf = Buffer.allocUnsafe(1 << 20);
  private start = 0;
  private end = 0;
  private eof = false;
  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<LineReader> {
    return new LineReader(await openLocalRead(path));
  }

  /** The next line (a view, valid until the next call), or null at the end. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const nl = this.buf.indexOf(NL, this.start);
      if (nl >= 0 && nl < this.end) {
        const line = this.buf.subarray(this.start, nl);
        this.start = nl + 1;
        this.lines++;
        return line;
      }
      if (this.eof) {
        if (this.start < this.end) throw new Error('internal: staged file does not end with a newline');
        return null;
      }
      // keep the partial line, read more (grow for a line longer than the buffer)
      const rest = this.end - this.start;
      if (rest === this.buf.length) {
        const b = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(b, 0, this.start, this.end);
        this.buf = b;
      } else if (this.start > 0) this.buf.copy(this.buf, 0, this.start, this.end);
      this.start = 0;
      this.end = rest;
      const { bytesRead } = await this.fh.read(this.buf, this.end, this.buf.length - this.end, null);
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Byte order of UTF-8 text (DuckDB's VARCHAR order, which the merge in DuckDB used). */
function cmpBytes(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Candidate {
  ord: number;
  seqn: bigint;
  file: string;
  pos: number;
  run: string;
  /** The texts of VALUE_FIELDS joined by NUL: equal exactly when the two records' version values are equal. */
  values: string;
}

/** The in-batch rule (highest seqn), then source_file, source_position, ingest_run_id (each descending), then the first staged. */
function beats(a: Candidate, b: Candidate): boolean {
  const v = inBatch(a, b).order;
  if (v !== 0) return v > 0;
  const f = cmpBytes(a.file, b.file);
  if (f !== 0) return f > 0;
  if (a.pos !== b.pos) return a.pos > b.pos;
  const r = cmpBytes(a.run, b.run);
  if (r !== 0) return r > 0;
  return a.ord < b.ord;
}

export interface ResolvedLosers {
  losers: Set<number>;
  conflicts: ConflictInfo[];
  duplicates: number;
}

/**
 * Step 2: the cross-run losers of a spilled batch. `files`: every run (all days); `groups`: the candidates'
 * `_ord`s by hash group (RunKeys.candidateGroups). One pass over the runs per group; only candidate lines parsed.
 */
export async function resolveCrossRun(files: readonly string[], groups: readonly Set<number>[]): Promise<ResolvedLosers> {
  const out: ResolvedLosers = { losers: new Set(), conflicts: [], duplicates: 0 };
  const found: { ord: number; info: ConflictInfo }[] = [];
  for (const group of groups) {
    const byId = new Map<string, Candidate[]>();
    const names = new Map<string, string>(); // one string per source file and run, not one per candidate
    const intern = (x: string) => names.get(x) ?? (names.set(x, x), x);
    for (const f of files) {
      const r = await LineReader.open(f);
      try {
        for (let line = await r.next(); line !== null; line = await r.next()) {
          const ord = ordOf(line);
          if (!group.has(ord)) continue;
          const at = fields(line, LAST_FIELD + 1);
          const num = (k: number) => line.toString('latin1', at[2 * k]!, at[2 * k + 1]!);
          const c: Candidate = {
            ord,
            seqn: BigInt(num(F_SEQN)),
            file: intern(fieldText(line, at[2 * F_FILE]!, at[2 * F_FILE + 1]!)),
            pos: Number(num(F_POS)),
            run: intern(fieldText(line, at[2 * F_RUN]!, at[2 * F_RUN + 1]!)),
            values: VALUE_FIELDS.map((k) => fieldText(line, at[2 * k]!, at[2 * k + 1]!)).join('\0'),
          };
          const id = fieldText(line, at[2 * F_ID]!, at[2 * F_ID + 1]!);
          const list = byId.get(id);
          if (list) list.push(c);
          else byId.set(id, [c]);
        }
      } finally {
        await r.close();
      }
    }
    for (const [id, list] of byId) {
      if (list.length < 2) continue; // a hash collision, or an id staged once
      let w = list[0]!;
      for (const c of list) if (beats(c, w)) w = c;
      for (const c of list) {
        if (c === w) continue;
        out.losers.add(c.ord);
        if (inBatch(c, w).conflict) {
          const text = (x: Candidate) => stagedValuesOf(x.values.split('\0'));
          found.push({ ord: c.ord, info: { eventId: id, seqn: c.seqn, sourceFile: c.file, sourcePosition: c.pos, values: text(c), keptValues: text(w), keptAt: `${w.file}:${w.pos}` } });
        } else out.duplicates++;
      }
    }
  }
  out.conflicts = found.sort((a, b) => a.ord - b.ord).map((x) => x.info);
  return out;
}

const NEWLINE = Buffer.from('\n');

interface Head {
  r: LineReader;
  line: Buffer;
  source: string;
  type: string;
  ts: bigint;
  seqn: bigint;
  id: string;
}

/** The partition order of two lines (LineBuffer.sortedByDay's comparison). */
function headCmp(a: Head, b: Head): number {
  return cmpStr(a.source, b.source) || cmpStr(a.type, b.type) || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0) || (a.seqn < b.seqn ? -1 : a.seqn > b.seqn ? 1 : 0) || cmpStr(a.id, b.id);
}

/** The next line of `r` that is not a loser, as a Head, or null at its end. */
async function nextHead(r: LineReader, losers: ReadonlySet<number>): Promise<Head | null> {
  for (let line = await r.next(); line !== null; line = await r.next()) {
    if (losers.size > 0 && losers.has(ordOf(line))) continue;
    const at = fields(line, SORT_FIELDS);
    const txt = (k: number) => fieldText(line, at[2 * k]!, at[2 * k + 1]!);
    return { r, line, source: txt(F_SOURCE), type: txt(F_TYPE), ts: BigInt(line.toString('latin1', at[2 * F_TS]!, at[2 * F_TS + 1]!)), seqn: BigInt(line.toString('latin1', at[2 * F_SEQN]!, at[2 * F_SEQN + 1]!)), id: txt(F_ID) };
  }
  return null;
}

/**
 * Step 3: merges a day's sorted runs into `path` in the partition order, without the `losers`; the runs are
 * removed afterwards. Returns the rows written. Memory: one chunk per run and one output buffer. Each run must
 * hold the rows the stage wrote to it (`runRows`), else the commit fails before anything is published.
 */
export async function mergeRuns(runs: readonly string[], runRows: ReadonlyMap<string, number>, losers: ReadonlySet<number>, path: string): Promise<number> {
  const heap: Head[] = [];
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (headCmp(heap[i]!, heap[p]!) >= 0) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && headCmp(heap[l]!, heap[m]!) < 0) m = l;
      if (r < heap.length && headCmp(heap[r]!, heap[m]!) < 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  const open = new Map<LineReader, string>();
  // a run read to its end is checked (every row the stage wrote to it read back) and removed at once: the scratch
  // holds the day's runs plus what is merged so far, never both whole
  const done = async (r: LineReader) => {
    const f = open.get(r)!;
    open.delete(r);
    await r.close();
    const want = runRows.get(f) ?? 0;
    if (r.lines !== want) throw new RetriableError(`staged file ${f} reads back ${r.lines} rows, the stage wrote ${want}; nothing was published, run again`);
    await removeLocal(f);
  };
  const fh = await createLocalFile(path);
  let rows = 0;
  try {
    for (const f of runs) {
      const r = await LineReader.open(f);
      open.set(r, f);
      const h = await nextHead(r, losers);
      if (h) {
        heap.push(h);
        up(heap.length - 1);
      } else await done(r);
    }
    const out = Buffer.allocUnsafe(1 << 22);
    let off = 0;
    while (heap.length > 0) {
      const h = heap[0]!;
      const need = h.line.length + 1;
      if (off + need > out.length) {
        if (off > 0) await writeAll(fh, out.subarray(0, off), path);
        off = 0;
      }
      if (need > out.length) {
        await writeAll(fh, Buffer.concat([h.line, NEWLINE]), path);
      } else {
        off += h.line.copy(out, off);
        out[off++] = NL;
      }
      rows++;
      const next = await nextHead(h.r, losers);
      if (next) {
        heap[0] = next;
        down(0);
      } else {
        await done(h.r);
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          down(0);
        }
      }
    }
    if (off > 0) await writeAll(fh, out.subarray(0, off), path);
  } finally {
    await fh.close();
    for (const r of open.keys()) await r.close();
  }
  return rows;
}
