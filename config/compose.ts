/**
 * Which billing sources a configuration has: the built-ins it keeps, plus the sources it defines (inline, or kept
 * in files of their own), by name.
 *
 *   builtins: all            # default; or none, or a list: [zuora, stripe]
 *   sources:
 *     - include: sources/acme.yaml     # one file (one source, a list of sources, or a file with `sources:`)
 *     - include: sources/              # a folder: every *.yaml / *.yml in it, in name order
 *     - name: recurly_eu               # inline, exactly as in a file of its own
 *       ...
 *
 * A defined source whose name is a built-in's replaces that built-in (listed in `overridden`); two defined sources
 * with one name are an error. Every problem names its file and key.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describeSourceIssues, validateSource, type SourceConfig, type SourceConfigInput } from './sources.js';

export interface ComposedSources {
  sources: SourceConfig[];
  /** Built-in names replaced by a defined source of the same name. */
  overridden: string[];
  /** Where each source's definition came from: `built-in <name>`, or the file (config file or include) and key. */
  origins: Record<string, string>;
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const keyText = (key: (string | number)[]) => key.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');

interface Located {
  raw: unknown;
  origin: string;
  prefix: (string | number)[];
}

/** Reads one YAML file of source definitions: one source, a list of them, or a config-shaped `{sources: [...]}`. */
export function readSourceDefinitions(file: string, problems: string[]): Located[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    problems.push(`${file}: cannot read source definition: ${(e as Error).message}`);
    return [];
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length) {
    problems.push(...doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: is not valid YAML: ${e.message}`));
    return [];
  }
  const js: unknown = doc.toJS();
  if (isObject(js) && 'sources' in js) {
    if (!Array.isArray(js.sources)) {
      problems.push(`${file}: sources: a list of source definitions`);
      return [];
    }
    return expandEntries(js.sources, path.dirname(file), file, ['sources'], problems);
  }
  if (Array.isArray(js)) return js.map((raw, i) => ({ raw, origin: file, prefix: [i] }));
  if (!isObject(js)) {
    problems.push(`${file}: expected a source definition (a mapping with name, timezone, objects)`);
    return [];
  }
  return [{ raw: js, origin: file, prefix: [] }];
}

/** Resolves `{include: path}` entries (files or folders, relative to `baseDir`); other entries stay inline. */
function expandEntries(list: unknown[], baseDir: string, origin: string, key: (string | number)[], problems: string[], depth = 0): Located[] {
  const out: Located[] = [];
  list.forEach((entry, i) => {
    if (!(isObject(entry) && 'include' in entry)) {
      out.push({ raw: entry, origin, prefix: [...key, i] });
      return;
    }
    const at = `${origin}: ${keyText([...key, i])}.include`;
    if (Object.keys(entry).length !== 1 || typeof entry.include !== 'string' || entry.include.trim() === '') {
      problems.push(`${at}: {include: <file or folder>} and nothing else`);
      return;
    }
    if (depth > 4) {
      problems.push(`${at}: includes nested too deep (a file including itself?)`);
      return;
    }
    const target = path.resolve(baseDir, entry.include);
    let files: string[];
    try {
      files = statSync(target).isDirectory()
        ? readdirSync(target)
            .filter((f) => /\.ya?ml$/i.test(f))
            .sort()
            .map((f) => path.join(target, f))
        : [target];
    } catch (e) {
      problems.push(`${at}: ${entry.include} (${target}) does not exist: ${(e as Error).message}`);
      return;
    }
    if (files.length === 0) problems.push(`${at}: folder ${target} holds no *.yaml source definitions`);
    for (const f of files) out.push(...readSourceDefinitions(f, problems));
  });
  return out;
}

/** Validates located definitions; every problem names its file and key. */
export function validateLocated(list: Located[], problems: string[]): SourceConfig[] {
  const out: SourceConfig[] = [];
  for (const l of list) {
    const r = validateSource(l.raw);
    if (r.ok) out.push(r.data);
    else problems.push(...describeSourceIssues(r.issues, l.raw, l.prefix).map((p) => `${l.origin}: ${p}`));
  }
  return out;
}

/** Reserved names, and a name defined twice (whether or not the definitions are otherwise valid). */
function nameProblems(list: Located[], origin: string, problems: string[]): void {
  const seen = new Map<string, string>();
  for (const l of list) {
    const name = isObject(l.raw) ? l.raw.name : undefined;
    if (typeof name !== 'string') continue;
    const at = `${l.origin}: ${keyText([...l.prefix, 'name'])}`;
    if (name === 'oltp' || name === '_oltp') problems.push(`${at}: "${name}" is reserved: \`ingest --source oltp\` loads the accounts/products snapshot`);
    const prev = seen.get(name);
    if (prev !== undefined) problems.push(`${at}: source name "${name}" is already used by ${prev} (each name once; a built-in is replaced by defining a source of its name)`);
    else seen.set(name, l.origin === origin ? keyText(l.prefix) : `the definition in ${l.origin}`);
  }
}

/** The sources of a configuration: selected built-ins, then defined sources (adding, or replacing by name). */
export function composeSources(o: { builtins: unknown; sources: unknown; baseDir: string; origin: string; available: readonly SourceConfigInput[] }): ComposedSources {
  const problems: string[] = [];
  const names = o.available.map((s) => s.name);
  let keep: SourceConfigInput[] = [];
  if (o.builtins === undefined || o.builtins === 'all') keep = [...o.available];
  else if (o.builtins === 'none') keep = [];
  else if (Array.isArray(o.builtins)) {
    o.builtins.forEach((n, i) => {
      const b = o.available.find((s) => s.name === n);
      if (b) keep.push(b);
      else problems.push(`${o.origin}: builtins[${i}]: "${String(n)}" is not a built-in source (built-ins: ${names.join(', ')})`);
    });
  } else problems.push(`${o.origin}: builtins: all (default), none, or a list of built-in names (${names.join(', ')})`);

  let defined: SourceConfig[] = [];
  let defLocated: Located[] = [];
  if (o.sources !== undefined) {
    if (!Array.isArray(o.sources)) problems.push(`${o.origin}: sources: a list of source definitions or {include: <file or folder>} entries`);
    else {
      const located = expandEntries(o.sources, o.baseDir, o.origin, ['sources'], problems);
      nameProblems(located, o.origin, problems);
      defined = validateLocated(located, problems);
      defLocated = located;
    }
  }
  const seen = new Set(defined.map((s) => s.name));
  const builtins = validateLocated(
    keep.filter((b) => !seen.has(b.name)).map((raw) => ({ raw, origin: `built-in ${raw.name}`, prefix: [] })),
    problems,
  );
  const overridden = keep.filter((b) => seen.has(b.name)).map((b) => b.name);
  const origins: Record<string, string> = Object.fromEntries(builtins.map((b) => [b.name, `built-in ${b.name}`]));
  for (const l of defLocated) if (isObject(l.raw) && typeof l.raw.name === 'string') origins[l.raw.name] = l.prefix.length ? `${l.origin} ${keyText(l.prefix)}` : l.origin;
  return { sources: [...builtins, ...defined], overridden, origins, problems };
}
