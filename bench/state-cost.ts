/**
 * What the table state costs against the table's age (issue 11 item 1), counted, not only timed: what a new process
 * reads to open a table (files, bytes, parse time), what a commit writes for its checkpoint, what one applyCommit
 * copies, and how many committed inputs a prepare of one day receives. It COMMITS to the warehouse (`success`
 * commits on its newest day): run it on a copy (`cp -a`), never on a table you keep.
 *
 *   npm run build && node dist/bench/state-cost.js --warehouse <copy> [--dist <another build's dist/>] [--commits 3]
 *
 * `--dist` measures another build (e.g. main's, for before/after side by side) with this same script.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- another build's modules, loaded by path */
async function main(): Promise<void> {
  const wh = path.resolve(arg('warehouse', ''));
  if (!arg('warehouse', '')) throw new Error('--warehouse <a copy of a warehouse> is required (the script commits to it)');
  const dist = path.resolve(arg('dist', path.join(import.meta.dirname, '..')));
  const commits = Number(arg('commits', '3'));
  const load = (rel: string) => import(pathToFileURL(path.join(dist, rel)).href) as Promise<any>;
  const { FactTable, LocalStorage }: { FactTable: any; LocalStorage: any } = await load('warehouse/index.js');
  const state = await load('warehouse/state.js');
  const buckets = await load('warehouse/buckets.js').catch(() => null);

  class Counting extends (LocalStorage as new (root: string) => any) {
    read_ = { files: 0, bytes: 0 };
    written = { files: 0, bytes: 0, checkpointBytes: 0 };
    async read(rel: string) {
      const b = await super.read(rel);
      if (b) {
        this.read_.files++;
        this.read_.bytes += b.byteLength;
      }
      return b;
    }
    async writeDurable(rel: string, data: string | Uint8Array) {
      const n = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      this.written.files++;
      this.written.bytes += n;
      if (rel.startsWith('_store/checkpoints/') || rel === '_store/_last_checkpoint') this.written.checkpointBytes += n;
      return super.writeDurable(rel, data);
    }
  }
  const out: Record<string, unknown> = { warehouse: wh, dist, load: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)) };

  // (1) a new process opens the table (the state of the last version)
  const s1 = new Counting(wh);
  const t0 = performance.now();
  const opened = await FactTable.open(wh, { checkpointInterval: 1 }, s1);
  const info = await opened.info();
  out.open = { version: info.version, ms: +(performance.now() - t0).toFixed(1), filesRead: s1.read_.files, bytesRead: s1.read_.bytes, reads: { ...opened.core.reads } };

  // (2) the committed inputs a prepare of the newest day receives (old builds ignore the range: all of them)
  const cur = await opened.core.current();
  const days: string[] = await opened.days();
  const last = days[days.length - 1]!;
  const dayBefore = new Date(Date.parse(`${last}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const inputs: Record<string, { all: number; sent: number }> = {};
  for (const source of [...cur.loads.keys()].sort()) {
    inputs[source] = { all: (await opened.committedInputs(source)).size, sent: (await opened.committedInputs(source, { from: dayBefore, to: last })).size };
  }
  out.committedInputs = inputs;

  // (3) one applyCommit of the newest ingest entry again (pure, nothing written): what it copies, and its time
  let entry: any = null;
  for (let v = cur.version; v > Math.max(0, cur.version - 50) && !entry; v--) {
    const e = await opened.core.readEntry(v);
    if (e?.operation === 'ingest') entry = e;
  }
  if (entry) {
    const again = { ...entry, version: cur.version + 1 };
    const before = buckets ? { ...buckets.bucketCopies } : null;
    const reps = 20;
    const ta = performance.now();
    for (let i = 0; i < reps; i++) state.applyCommit(cur, again);
    const ms = (performance.now() - ta) / reps;
    out.applyCommit = { source: entry.source, ms: +ms.toFixed(3), ...(before ? { entriesCopied: (buckets.bucketCopies.entries - before.entries) / reps, pointersCopied: (buckets.bucketCopies.pointers - before.pointers) / reps } : {}) };
  }

  // (4) commits, each followed by a checkpoint (checkpointInterval 1): the first migrates an older checkpoint
  const runs: unknown[] = [];
  for (let i = 0; i < commits; i++) {
    const w0 = { ...s1.written };
    const r0 = { ...s1.read_ };
    const tc = performance.now();
    await opened.writeSuccess(last, { bench: 'state-cost', i });
    runs.push({ ms: +(performance.now() - tc).toFixed(1), filesWritten: s1.written.files - w0.files, bytesWritten: s1.written.bytes - w0.bytes, checkpointBytes: s1.written.checkpointBytes - w0.checkpointBytes, bytesRead: s1.read_.bytes - r0.bytes });
  }
  out.commits = runs;

  // (5) a second new process opens the table now (after the checkpoint this build writes)
  const s2 = new Counting(wh);
  const t2 = performance.now();
  const reopened = await FactTable.open(wh, {}, s2);
  await reopened.info();
  out.reopen = { ms: +(performance.now() - t2).toFixed(1), filesRead: s2.read_.files, bytesRead: s2.read_.bytes, reads: { ...reopened.core.reads } };
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch((e) => {
  process.stderr.write(`state-cost: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
