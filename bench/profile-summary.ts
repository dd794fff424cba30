/**
 * `node dist/bench/profile-summary.js <file.cpuprofile> [top]`: the hottest functions of a V8 CPU profile
 * (node --cpu-prof) by self time, and self time per source file — what docs/bench.md's findings come from.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Hot {
  name: string;
  ms: number;
  share: number;
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/dist\//, '');
}

/** Self time per function and per file, in ms, largest first. */
export function summariseProfile(p: CpuProfile): { totalMs: number; functions: Hot[]; files: Hot[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const url = shortUrl(n.callFrame.url);
    const name = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    const f = url || n.callFrame.functionName || '(native)';
    file.set(f, (file.get(f) ?? 0) + us);
  }
  const list = (m: Map<string, number>) => [...m].map(([name, us]) => ({ name, ms: us / 1000, share: totalUs ? us / totalUs : 0 })).sort((a, b) => b.ms - a.ms);
  return { totalMs: totalUs / 1000, functions: list(fn), files: list(file) };
}

if (process.argv[1] && /profile-summary\.(js|ts)$/.test(process.argv[1])) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const top = Number(topArg ?? 25);
  const s = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const fmt = (h: Hot) => `${h.ms.toFixed(0).padStart(8)} ms ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`;
  process.stdout.write(`total sampled ${s.totalMs.toFixed(0)} ms\n\nby function (self time):\n${s.functions.slice(0, top).map(fmt).join('\n')}\n\nby file (self time):\n${s.files.slice(0, top).map(fmt).join('\n')}\n`);
}
