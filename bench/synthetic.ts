/**
 * A large synthetic landing day, written fast (the project's generator takes ~0.5 ms per event): Stripe
 * charge exports as JSON lines, one file per 4-hour window with a `_SUCCESS` marker, plus a known number of
 * in-file duplicate lines and one unparseable line per window — so the expected counts are exact.
 */
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dayStartMs } from '../partitions/index.js';

export interface SyntheticDay {
  /** Distinct charges (= fact rows expected). */
  events: number;
  /** Duplicate lines (same record again: dropped by dedupe). */
  duplicates: number;
  /** Unparseable lines (quarantined). */
  bad: number;
  /** Sum of the distinct charges' amounts per currency, in minor units (the truth for the table's totals). */
  minorSums?: Record<string, string>;
  /** Bytes of the largest landing file written. */
  largestFileBytes?: number;
}

export interface SyntheticOptions {
  /** Landing folders (4-hour windows from 00:00) the day is spread over: 6 (default), or fewer for bigger files. */
  windows?: number;
  /** Characters of filler in each charge's `description` (not mapped): makes files big without more events. */
  padChars?: number;
  /**
   * Each window's file delivered again as `charge-redelivered.jsonl` (the same bytes): every charge twice in one
   * (source, window) batch, in two files, so a batch that spills holds the duplicates in different runs.
   */
  redelivered?: boolean;
}

const CURRENCIES = ['usd', 'eur', 'gbp', 'jpy'];

/** Writes `events` charges of `day` under <landing>/stripe/<day>/<HH>/charge.jsonl; every 1000th is duplicated. */
export function writeSyntheticDay(landing: string, day: string, events: number, o: SyntheticOptions = {}): SyntheticDay {
  const dayS = dayStartMs(day) / 1000;
  const windows = o.windows ?? 6;
  const perWindow = Math.ceil(events / windows);
  const pad = o.padChars ? `,"description":"${'x'.repeat(o.padChars)}"` : '';
  const sums = new Map<string, bigint>();
  const out: SyntheticDay = { events: 0, duplicates: 0, bad: 0, largestFileBytes: 0 };
  for (let w = 0; w < windows; w++) {
    const hh = String(w * 4).padStart(2, '0');
    const dir = path.join(landing, 'stripe', day, hh);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'charge.jsonl');
    writeFileSync(file, '');
    let bytes = 0;
    let lines: string[] = [];
    const flush = () => {
      const text = lines.length ? lines.join('\n') + '\n' : '';
      appendFileSync(file, text);
      bytes += Buffer.byteLength(text);
      lines = [];
    };
    const n = Math.min(perWindow, events - out.events);
    for (let i = 0; i < n; i++) {
      const k = out.events + i;
      const created = dayS + w * 14_400 + Math.floor((i * 14_400) / n);
      const amount = 100 + (k % 99_900);
      const currency = CURRENCIES[k % 4]!;
      sums.set(currency, (sums.get(currency) ?? 0n) + BigInt(amount));
      const line = `{"id":"ch_bench${String(k).padStart(10, '0')}","object":"charge","amount":${amount},"currency":"${currency}","created":${created},"customer":"cus_${k % 5000}","invoice":"in_${k}","paid":true,"status":"succeeded","failure_code":null,"livemode":false${pad}}`;
      lines.push(line);
      if (k % 1000 === 999) {
        lines.push(line);
        out.duplicates++;
      }
      if (lines.length >= 10_000) flush(); // written in batches: the writer's memory does not grow with the file
    }
    lines.push('{"id":"ch_broken","amount":');
    out.bad++;
    flush();
    if (o.redelivered) {
      copyFileSync(file, path.join(dir, 'charge-redelivered.jsonl'));
      out.duplicates += n + Math.floor((out.events + n) / 1000) - Math.floor(out.events / 1000); // every line again, its in-file duplicates too
      out.bad++;
    }
    out.events += n;
    out.largestFileBytes = Math.max(out.largestFileBytes!, bytes);
    writeFileSync(path.join(dir, '_SUCCESS'), '');
  }
  out.minorSums = Object.fromEntries([...sums].map(([c, v]) => [c, v.toString()]));
  return out;
}

/** What writeSyntheticHistoryDay wrote: the exact outcome of loading it. */
export interface SyntheticHistoryDay {
  invoices: number;
  /** History rows (versions) written. */
  records: number;
  /** Fact rows expected: one INVOICE_POSTED and one INVOICE_PAID per invoice. */
  events: number;
  /** Versions that imply nothing new (skipped as `invoice_history.(repeated version)`). */
  repeated: number;
  /** Sum of the invoices' totals in cents (= the sum of INVOICE_POSTED, and of INVOICE_PAID). */
  totalCents: bigint;
}

const RECURLY_INVOICE_HEADER =
  '_fivetran_synced,id,created_at,updated_at,due_at,closed_at,account_id,previous_invoice_id,type,origin,state,number,collection_method,po_number,net_terms,currency,balance,paid,total,subtotal,refundable_amount,discount,tax,tax_type,tax_region,tax_rate';

/**
 * A day of Recurly invoice history (Fivetran's `invoice_history` table, the built-in recurly source): every
 * invoice in three versions, each in another 4-hour window's file — open (INVOICE_POSTED), paid (INVOICE_POSTED
 * again, and INVOICE_PAID), paid again (a repeated version: nothing new). A history object holds its versions
 * until the source-day's stream ends, so this is the day whose held events grow with its size.
 */
export function writeSyntheticHistoryDay(landing: string, day: string, invoices: number): SyntheticHistoryDay {
  const out: SyntheticHistoryDay = { invoices, records: 0, events: 2 * invoices, repeated: invoices, totalCents: 0n };
  const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const dayS = dayStartMs(day) / 1000;
  for (let version = 0; version < 3; version++) {
    const dir = path.join(landing, 'recurly', day, String(version * 4).padStart(2, '0'));
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'invoice_history.csv');
    writeFileSync(file, RECURLY_INVOICE_HEADER + '\n');
    let lines: string[] = [];
    for (let i = 0; i < invoices; i++) {
      const created = dayS + Math.floor((i * 3600) / invoices);
      const updated = created + version * 14_400;
      const cents = 1_000 + (i % 99_000);
      if (version === 0) out.totalCents += BigInt(cents);
      const total = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      const paid = version === 0 ? '0.0' : total;
      const state = version === 0 ? 'open' : 'paid';
      const closed = version === 0 ? '' : iso(created + 14_400);
      lines.push(`${iso(updated + 60)},inv_bench${String(i).padStart(9, '0')},${iso(created)},${iso(updated)},,${closed},acct_${i % 5000},,charge,purchase,${state},${i},automatic,,0,USD,${version === 0 ? total : '0.0'},${paid},${total},${total},,0.0,0.0,,,`);
      if (lines.length >= 10_000) {
        appendFileSync(file, lines.join('\n') + '\n');
        lines = [];
      }
    }
    if (lines.length) appendFileSync(file, lines.join('\n') + '\n');
    writeFileSync(path.join(dir, '_SUCCESS'), '');
    out.records += invoices;
  }
  return out;
}
