/**
 * The completeness history: every result the checker produced, one JSON line per (check, source, day), kept in
 * the jobs' state area (warehouse/state-area.ts) as one journal per checked day,
 * `<state>/completeness/days/<YYYY-MM-DD>.jsonl`. A reader of some days (`status`, `report`) reads those days'
 * journals and nothing else, so its cost follows the days it shows, never the age of the history. A day's lines
 * are appended under the day's check lock, so the last line of a source is its latest result.
 *
 * Before this layout the history was one file, `<state>/completeness/history.jsonl`, read whole by every
 * `status`. Such a file is split into the day journals once, by the first process that reads or writes the
 * history (a WARN line says so), and then never read again (it is left in place; delete it when you like).
 * The migration writes each day journal whole and atomically, and only where none exists yet, so an
 * interrupted migration resumes where it stopped and no line is doubled.
 */
import type { StateArea } from '../warehouse/state-area.js';
import type { HistoryLine } from './checker.js';
import type { Logger } from './log.js';

const DAYS_DIR = 'completeness/days';
/** The single history file of stores written before the day journals. */
export const LEGACY_HISTORY = 'completeness/history.jsonl';
const MIGRATED = `${DAYS_DIR}/_migrated`;
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

export class CheckHistory {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly area: StateArea,
    private readonly log?: Logger,
  ) {}

  /** Appends results (any days): each line to the journal of its day. */
  async append(lines: readonly HistoryLine[]): Promise<void> {
    await this.migrated();
    for (const l of lines) await this.area.appendLine(`${DAYS_DIR}/${l.day}.jsonl`, JSON.stringify(l));
  }

  /** The latest result per `source|day` of the given days, reading only those days' journals. */
  async latest(days: readonly string[]): Promise<Map<string, HistoryLine>> {
    await this.migrated();
    const m = new Map<string, HistoryLine>();
    for (const day of days) for (const h of await this.area.readJsonLines<HistoryLine>(`${DAYS_DIR}/${day}.jsonl`)) m.set(`${h.source}|${h.day}`, h);
    return m;
  }

  /** Every stored result, oldest check first (within a check: by day, then in the order written). */
  async all(): Promise<HistoryLine[]> {
    await this.migrated();
    const out: HistoryLine[] = [];
    for (const name of await this.area.list(DAYS_DIR)) if (DAY_FILE.test(name)) out.push(...(await this.area.readJsonLines<HistoryLine>(`${DAYS_DIR}/${name}`)));
    return out.sort((a, b) => a.checkedAt.localeCompare(b.checkedAt)); // stable: a day's journal order kept for equal instants
  }

  private migrated(): Promise<void> {
    this.ready ??= this.migrate().catch((e: unknown) => {
      this.ready = undefined; // try again on the next call
      throw e;
    });
    return this.ready;
  }

  /** Splits a single-file history into day journals, once (see the module comment). */
  private async migrate(): Promise<void> {
    if (await this.area.exists(MIGRATED)) return;
    const old = await this.area.readJsonLines<HistoryLine>(LEGACY_HISTORY);
    if (old.length === 0) return;
    const byDay = new Map<string, HistoryLine[]>();
    for (const h of old) byDay.set(h.day, [...(byDay.get(h.day) ?? []), h]);
    let written = 0;
    for (const [day, lines] of [...byDay].sort(([a], [b]) => a.localeCompare(b))) {
      const rel = `${DAYS_DIR}/${day}.jsonl`;
      if (await this.area.exists(rel)) continue; // written by an interrupted migration (whole: atomic writes)
      await this.area.writeDurable(rel, lines.map((l) => JSON.stringify(l) + '\n').join(''));
      written++;
    }
    const note = `${old.length} line(s) of ${LEGACY_HISTORY} split into ${byDay.size} day journal(s) under ${DAYS_DIR}/\n`;
    if (await this.area.createExclusive(MIGRATED, note)) {
      this.log?.warn('state.history_migrated', {
        from: this.area.where(LEGACY_HISTORY),
        to: this.area.where(DAYS_DIR),
        lines: old.length,
        days: byDay.size,
        written,
        note: 'the completeness history is now one journal per day (status reads only the days it shows); the old file is no longer read: delete it when you like',
      });
    }
  }
}

const histories = new WeakMap<StateArea, CheckHistory>();

/** The completeness history of a state area (one per area and process: it migrates an old history once). */
export function checkHistory(deps: { state: StateArea; log?: Logger }): CheckHistory {
  let h = histories.get(deps.state);
  if (!h) histories.set(deps.state, (h = new CheckHistory(deps.state, deps.log)));
  return h;
}
