/**
 * A large synthetic landing day, written fast (the project's generator takes ~0.5 ms per event): Stripe
 * charge exports as JSON lines, one file per 4-hour window with a `_SUCCESS` marker, plus a known number of
 * in-file duplicate lines and one unparseable line per window — so the expected counts are exact.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface SyntheticDay {
  /** Distinct charges (= fact rows expected). */
  events: number;
  /** Duplicate lines (same record again: dropped by dedupe). */
  duplicates: number;
  /** Unparseable lines (quarantined). */
  bad: number;
}

const CURRENCIES = ['usd', 'eur', 'gbp', 'jpy'];

/** Writes `events` charges of `day` under <landing>/stripe/<day>/<HH>/charge.jsonl; every 1000th is duplicated. */
export function writeSyntheticDay(landing: string, day: string, events: number): SyntheticDay {
  const dayS = Date.parse(`${day}T00:00:00Z`) / 1000;
  const perWindow = Math.ceil(events / 6);
  const out: SyntheticDay = { events: 0, duplicates: 0, bad: 0 };
  for (let w = 0; w < 6; w++) {
    const hh = String(w * 4).padStart(2, '0');
    const dir = path.join(landing, 'stripe', day, hh);
    mkdirSync(dir, { recursive: true });
    const lines: string[] = [];
    const n = Math.min(perWindow, events - out.events);
    for (let i = 0; i < n; i++) {
      const k = out.events + i;
      const created = dayS + w * 14_400 + Math.floor((i * 14_400) / n);
      const line = `{"id":"ch_bench${String(k).padStart(10, '0')}","object":"charge","amount":${100 + (k % 99_900)},"currency":"${CURRENCIES[k % 4]}","created":${created},"customer":"cus_${k % 5000}","invoice":"in_${k}","paid":true,"status":"succeeded","failure_code":null,"livemode":false}`;
      lines.push(line);
      if (k % 1000 === 999) {
        lines.push(line);
        out.duplicates++;
      }
    }
    lines.push('{"id":"ch_broken","amount":');
    out.bad++;
    out.events += n;
    writeFileSync(path.join(dir, 'charge.jsonl'), lines.join('\n') + '\n');
    writeFileSync(path.join(dir, '_SUCCESS'), '');
  }
  return out;
}
