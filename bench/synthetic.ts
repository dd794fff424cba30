/**
 * A large synthetic landing day, written fast (the project's generator takes ~0.5 ms per event): Stripe
 * charge exports as JSON lines, one file per 4-hour window with a `_SUCCESS` marker, plus a known number of
 * in-file duplicate lines and one unparseable line per window — so the expected counts are exact.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
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
    out.events += n;
    flush();
    out.largestFileBytes = Math.max(out.largestFileBytes!, bytes);
    writeFileSync(path.join(dir, '_SUCCESS'), '');
  }
  out.minorSums = Object.fromEntries([...sums].map(([c, v]) => [c, v.toString()]));
  return out;
}
