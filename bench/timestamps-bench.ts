/**
 * Micro-benchmark of the timestamp normaliser (not a test). Run: npx tsc -p tsconfig.build.json &&
 * node dist/bench/timestamps-bench.js [count]. Prints values/s per input shape on one core.
 */
import { parseTimestamp } from '../events/time.js';
import { timestampLine } from '../events/time-lines.js';

const count = Number(process.argv[2] ?? 300_000);

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Deterministic pseudo-random timestamps over ~10 years (LCG, no Math.random). */
function makeInputs(n: number, shape: (t: Date, i: number) => string | number): Array<string | number> {
  const out: Array<string | number> = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const t = new Date(Date.UTC(2015, 0, 1) + (x % (3650 * 24 * 3600)) * 1000 + (i % 1000));
    out.push(shape(t, i));
  }
  return out;
}

const iso = (t: Date) =>
  `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;

const shapes: Array<[string, string, (t: Date, i: number) => string | number]> = [
  ['zuora naive micros (America/Los_Angeles)', 'America/Los_Angeles', (t) => `${iso(t)}.${pad(t.getUTCMilliseconds(), 3)}000`],
  ['ISO with offset', 'America/New_York', (t) => `${iso(t).replace(' ', 'T')}-07:00`],
  ['stripe "... UTC"', 'UTC', (t) => `${iso(t)}.000000 UTC`],
  ['date only (Asia/Kolkata)', 'Asia/Kolkata', (t) => iso(t).slice(0, 10)],
  ['US 12h (America/New_York)', 'America/New_York', (t) => `${t.getUTCMonth() + 1}/${t.getUTCDate()}/${t.getUTCFullYear()} ${(t.getUTCHours() % 12) + 1}:${pad(t.getUTCMinutes())} PM`],
  ['epoch seconds number (Europe/London)', 'Europe/London', (t) => Math.floor(t.getTime() / 1000)],
  ['epoch millis string', 'UTC', (t) => String(t.getTime())],
];

for (const [name, zone, shape] of shapes) {
  const inputs = makeInputs(count, shape);
  for (let i = 0; i < Math.min(20_000, count); i++) parseTimestamp(inputs[i], zone); // warm up JIT and zone cache
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (const v of inputs) sink += parseTimestamp(v, zone).utc.length;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name.padEnd(42)} ${Math.round(count / secs).toLocaleString('en-US').padStart(12)} values/s  (${sink > 0 ? 'ok' : '?'})`);
}

const lines = makeInputs(count, (t) => JSON.stringify({ raw: `${iso(t)}.000000`, source_tz: 'America/Los_Angeles' })) as string[];
const t0 = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < lines.length; i++) bytes += timestampLine(lines[i]!, i + 1).length;
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`${'JSON line in → JSON line out'.padEnd(42)} ${Math.round(count / secs).toLocaleString('en-US').padStart(12)} lines/s   (${bytes} bytes)`);
