/**
 * Preloaded into a billing-mart process (`node --import <this file>`, inherited by its worker threads) by the
 * guard test "nothing outside warehouse/ writes under the warehouse directory" (test/guards/warehouse-writers).
 * Wraps every node:fs call that creates, changes or removes a file or directory (promises, callback and sync
 * forms, and the named ESM exports through syncBuiltinESMExports) and appends one JSON line per call whose
 * path is under BM_RECORD_UNDER to BM_RECORD_WRITES: the call, the path(s), and the repository module that
 * made it (the innermost stack frame in the repository's dist/ that is not the shared write helper
 * events/io.js, which writes on behalf of its caller). Plain JavaScript: it runs before any TypeScript.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

const LOG = process.env.BM_RECORD_WRITES;
const UNDER = process.env.BM_RECORD_UNDER ? path.resolve(process.env.BM_RECORD_UNDER) : null;
const DIST = `${path.sep}dist${path.sep}`;
const HELPERS = new Set(['events/io.js']);

if (LOG && UNDER) {
  Error.stackTraceLimit = 80;
  const appendLine = fs.appendFileSync.bind(fs);

  /** The repository module (e.g. `jobs/runstore.js`) that made the call, from the stack. */
  const caller = () => {
    const frames = (new Error().stack ?? '').split('\n').slice(1);
    const mods = [];
    for (const f of frames) {
      const m = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(f);
      if (!m) continue;
      const file = m[1].replace(/^file:\/\//, '');
      const i = file.lastIndexOf(DIST);
      if (i < 0 || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
      mods.push(file.slice(i + DIST.length).split(path.sep).join('/'));
    }
    return { module: mods.find((m) => !HELPERS.has(m)) ?? null, stack: mods.slice(0, 8) };
  };

  const under = (p) => {
    if (typeof p !== 'string' && !(p instanceof URL) && !Buffer.isBuffer(p)) return null;
    const abs = path.resolve(p instanceof URL ? p.pathname : String(p));
    return abs === UNDER || abs.startsWith(UNDER + path.sep) ? path.relative(UNDER, abs).split(path.sep).join('/') : null;
  };

  const record = (call, paths) => {
    const rels = paths.map(under);
    if (rels.every((r) => r === null)) return;
    appendLine(LOG, JSON.stringify({ call, paths: rels, thread: threadId, pid: process.pid, ...caller() }) + '\n');
  };

  /** `open` and friends write only with a flag other than plain reading. */
  const writesFlag = (flags) => flags !== undefined && flags !== null && !(flags === 'r' || flags === 'rs' || flags === 'sr' || flags === fs.constants.O_RDONLY);

  // [name, which arguments are paths, optional predicate on the arguments]
  const CALLS = [
    ['writeFile', [0]], ['appendFile', [0]], ['truncate', [0]], ['mkdir', [0]], ['mkdtemp', [0]],
    ['rename', [0, 1]], ['link', [0, 1]], ['symlink', [1]], ['copyFile', [0, 1]], ['cp', [0, 1]],
    ['rm', [0]], ['rmdir', [0]], ['unlink', [0]], ['chmod', [0]], ['utimes', [0]],
    ['open', [0], (args) => writesFlag(args[1])],
    ['createWriteStream', [0]],
  ];

  const wrap = (obj, name, idx, pred) => {
    const orig = obj[name];
    if (typeof orig !== 'function') return;
    const wrapped = function (...args) {
      if (!pred || pred(args)) record(name, idx.map((i) => args[i]));
      return orig.apply(this, args);
    };
    Object.defineProperty(wrapped, 'name', { value: name });
    obj[name] = wrapped;
  };

  for (const [name, idx, pred] of CALLS) {
    wrap(fs, name, idx, pred);
    if (name !== 'createWriteStream') wrap(fs, `${name}Sync`, idx, pred);
    if (name !== 'createWriteStream') wrap(fs.promises, name, idx, pred);
  }
  syncBuiltinESMExports();
}
