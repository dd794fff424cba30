/**
 * The benchmark's landing zone: generated once with the project's generator and cached under
 * bench-output/landing/<key>/ (the key names every parameter), so repeated runs measure, not generate.
 * A `_bench.json` written last marks a complete cache entry; a half-written one is regenerated.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { addDays } from '../partitions/index.js';
import { generate, type GenerateSummary } from '../tools/generator/index.js';

export interface LandingParams {
  events: number;
  days: number;
  seed: string;
  /** First UTC day of the range. */
  from: string;
}

export interface Landing extends LandingParams {
  dir: string;
  to: string;
  summary: GenerateSummary;
  /** Seconds the generator took (0 when cached). */
  generatedSeconds: number;
  cached: boolean;
}

export function landingKey(p: LandingParams): string {
  return `e${p.events}-d${p.days}-f${p.from}-s${p.seed.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function lastDay(p: Pick<LandingParams, 'from' | 'days'>): string {
  return addDays(p.from, p.days - 1);
}

/** The cached landing zone for these parameters, generating it first when missing or incomplete. */
export async function ensureLanding(root: string, p: LandingParams, log: (line: string) => void): Promise<Landing> {
  const dir = path.join(root, 'landing', landingKey(p));
  const marker = path.join(dir, '_bench.json');
  const to = lastDay(p);
  if (existsSync(marker)) {
    let summary: GenerateSummary;
    try {
      summary = JSON.parse(readFileSync(marker, 'utf8')).summary as GenerateSummary;
    } catch (e) {
      throw new Error(`the cached landing zone marker ${marker} is unreadable (${(e as Error).message}): delete ${dir} and run the benchmark again`, { cause: e });
    }
    log(`landing zone: cached ${dir}`);
    return { ...p, dir, to, summary, generatedSeconds: 0, cached: true };
  }
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  const eventsPerDay = Math.max(1, Math.round(p.events / p.days));
  log(`landing zone: generating ${p.events} events over ${p.days} day(s) (${eventsPerDay}/day) into ${dir} — once; later runs reuse it`);
  const t0 = performance.now();
  const summary = await generate({ out: dir, from: p.from, to, eventsPerDay, seed: p.seed, onDay: (day, n) => log(`  generated ${day}: ${n} events`) });
  const generatedSeconds = (performance.now() - t0) / 1000;
  writeFileSync(marker, JSON.stringify({ params: p, summary, generatedSeconds }, null, 1) + '\n');
  return { ...p, dir, to, summary, generatedSeconds, cached: false };
}
