/**
 * Ground truth: what exactly-once loading must produce, per (billing_source, event_date, event_type, currency):
 * row count and exact amount sum; and quarantine counts per (billing_source, reason). Also the control totals
 * each source's export job drops per UTC day. Sums are exact integers of minor units, printed as DECIMAL(38,9).
 */
import { currencyExponent, unscaledToText } from '../../events/money.js';
import type { ControlTotals } from '../../connectors/types.js';
import { csvRow } from '../../events/csv.js';
import type { GenEvent } from './model.js';
import { dayOf } from '../../partitions/index.js';

interface Cell {
  rows: number;
  minor: bigint;
}

export function minorToDecimal9(minor: bigint, currency: string): string {
  const exp = currencyExponent(currency);
  return unscaledToText(minor * 10n ** BigInt(9 - exp));
}

export class Truth {
  /** date → key(source|type|currency) → cell */
  private byDay = new Map<string, Map<string, Cell>>();
  private quarantine = new Map<string, number>();
  /** source|subscription → the MRR the source stated at each version (minor units). */
  private mrr = new Map<string, { currency: string; versions: { ms: number; version: number; minor: bigint }[] }>();

  /** `date`: the event's UTC day when the caller knows it (saves a Date per event). */
  add(ev: GenEvent, date = dayOf(ev.ms)): void {
    let day = this.byDay.get(date);
    if (!day) this.byDay.set(date, (day = new Map()));
    const key = `${ev.source}|${ev.eventType}|${ev.currency}`;
    const c = day.get(key);
    if (c) {
      c.rows++;
      c.minor += ev.amountMinor;
    } else day.set(key, { rows: 1, minor: ev.amountMinor });
  }

  addQuarantine(source: string, reason: string, n = 1): void {
    const key = `${source}|${reason}`;
    this.quarantine.set(key, (this.quarantine.get(key) ?? 0) + n);
  }

  /** Control totals of one source for one UTC day. */
  control(source: string, date: string, generatedAt: string): ControlTotals {
    const totals = [...(this.byDay.get(date) ?? new Map<string, Cell>()).entries()]
      .filter(([k]) => k.startsWith(`${source}|`))
      .map(([k, c]) => {
        const [, eventType, currency] = k.split('|') as [string, string, string];
        return { event_type: eventType, currency, rows: c.rows, amount_sum: minorToDecimal9(c.minor, currency) };
      })
      .sort((a, b) => (a.event_type + a.currency).localeCompare(b.event_type + b.currency));
    return { source, date, generated_at: generatedAt, totals };
  }

  factCsv(): string {
    const lines = ['billing_source,event_date,event_type,currency,rows,amount_sum'];
    const rows: string[][] = [];
    for (const [date, day] of this.byDay) {
      for (const [k, c] of day) {
        const [source, eventType, currency] = k.split('|') as [string, string, string];
        rows.push([source, date, eventType, currency, String(c.rows), minorToDecimal9(c.minor, currency)]);
      }
    }
    rows.sort((a, b) => a.slice(0, 4).join('|').localeCompare(b.slice(0, 4).join('|')));
    for (const r of rows) lines.push(csvRow(r));
    return lines.join('\n') + '\n';
  }

  /** One subscription version's MRR as the source's records state it. */
  addMrr(source: string, subscriptionId: string, currency: string, ms: number, version: number, minor: bigint): void {
    const key = `${source}|${subscriptionId}`;
    let s = this.mrr.get(key);
    if (!s) this.mrr.set(key, (s = { currency, versions: [] }));
    s.versions.push({ ms, version, minor });
  }

  /**
   * MRR movements per (source, UTC month, currency): for each subscription and month with a change, its MRR at the
   * month's start (s) and end (e): new (s = 0 < e), churn (s > 0 = e), expansion (e > s > 0), contraction
   * (s > e > 0); each summed as the signed change e − s.
   */
  mrrCsv(): string {
    const cells = new Map<string, { new: bigint; expansion: bigint; contraction: bigint; churn: bigint }>();
    for (const [key, sub] of this.mrr) {
      const source = key.slice(0, key.indexOf('|'));
      const versions = [...sub.versions].sort((a, b) => a.ms - b.ms || a.version - b.version);
      let value = 0n;
      for (let i = 0; i < versions.length; ) {
        const month = new Date(versions[i]!.ms).toISOString().slice(0, 7);
        const start = value;
        while (i < versions.length && new Date(versions[i]!.ms).toISOString().slice(0, 7) === month) value = versions[i++]!.minor;
        const d = value - start;
        if (d === 0n) continue;
        const k = `${source}|${month}|${sub.currency}`;
        const c = cells.get(k) ?? { new: 0n, expansion: 0n, contraction: 0n, churn: 0n };
        if (start === 0n) c.new += d;
        else if (value === 0n) c.churn += d;
        else if (d > 0n) c.expansion += d;
        else c.contraction += d;
        cells.set(k, c);
      }
    }
    const rows = [...cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, c]) => {
      const [source, month, currency] = k.split('|') as [string, string, string];
      return [source, month, currency, ...[c.new, c.expansion, c.contraction, c.churn].map((v) => minorToDecimal9(v, currency))];
    });
    return ['billing_source,month,currency,new,expansion,contraction,churn', ...rows.map((r) => csvRow(r))].join('\n') + '\n';
  }

  quarantineCsv(): string {
    const rows = [...this.quarantine.entries()].map(([k, n]) => [...k.split('|'), String(n)]).sort((a, b) => a.join('|').localeCompare(b.join('|')));
    return ['billing_source,reason,rows', ...rows.map((r) => csvRow(r))].join('\n') + '\n';
  }

  get totalRows(): number {
    let n = 0;
    for (const d of this.byDay.values()) for (const c of d.values()) n += c.rows;
    return n;
  }

  get totalQuarantined(): number {
    let n = 0;
    for (const v of this.quarantine.values()) n += v;
    return n;
  }
}
