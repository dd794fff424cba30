/**
 * Ground truth: what exactly-once loading must produce, per (billing_source, event_date, event_type, currency):
 * row count and exact amount sum; and quarantine counts per (billing_source, reason). Also the control totals
 * each source's export job drops per UTC day. Sums are exact integers of minor units, printed as DECIMAL(38,9).
 */
import { currencyExponent, unscaledToText } from '../../events/money.js';
import type { ControlTotals } from '../types.js';
import { csvRow } from './format.js';
import type { GenEvent } from './model.js';

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

  /** `date`: the event's UTC day when the caller knows it (saves a Date per event). */
  add(ev: GenEvent, date = new Date(ev.ms).toISOString().slice(0, 10)): void {
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
