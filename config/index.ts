/**
 * Configuration: validated once, every problem reported, then frozen.
 * Precedence as data: embedded defaults < YAML file (--config) < environment < command-line flags.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../events/errors.js';
import { rememberSecret, urlPassword } from '../events/redact.js';
import { cronProblem } from './cron.js';
import { SourceConfigSchema, Zone } from './sources.js';
import { tuningProblems } from './tuning.js';
import { DEFAULT_SOURCES } from './defaults.js';
import { composeSources } from './compose.js';
import { PullSchema } from './pull.js';

export const ConfigSchema = z
  .object({
    /** Root of the Parquet warehouse (fact table, dimensions, quarantine, state). */
    warehouse: z.string().min(1),
    /** Root of the landing zone where transfer jobs drop source files. */
    landing: z.string().min(1),
    /** Run store, locks and checker history; defaults to <warehouse>/_state. */
    state: z.string().min(1).optional(),
    /** Which built-in sources are kept (config/compose.ts): all (default), none, or a list of names. */
    builtins: z.union([z.enum(['all', 'none']), z.array(z.string())]).optional(),
    /** The effective billing sources: kept built-ins plus `sources:` definitions (added, or replacing by name). */
    sources: z.array(SourceConfigSchema),
    oltp: z
      .object({
        kind: z.enum(['file', 'postgres']),
        /** postgres: connection URL; prefer the BILLING_MART_PG_URL / PG* environment variables for credentials. */
        url: z.string().optional(),
        /** file: snapshot path relative to the landing zone (resolved to an absolute path at load). */
        snapshotDir: z.string().min(1).default('_oltp'),
      })
      .strict(),
    pickup: z
      .object({
        /** A file is ready when a `<file>.done` marker or a `_SUCCESS` in its folder exists ('marker'), or when unchanged for quietSeconds ('quiet'). */
        mode: z.enum(['marker', 'quiet', 'marker-or-quiet']),
        quietSeconds: z.number().int().min(0),
      })
      .strict(),
    /** Each billing window is re-read this many hours back (late updates, coarse cursors). */
    lookbackHours: z.number().int().min(0).max(24 * 31),
    /** One landed record larger than this is quarantined (RECORD_TOO_LARGE, with its position) unparsed. */
    maxRecordBytes: z.number().int().min(1024),
    /** Mode of the files billing-mart writes (they may carry raw records): e.g. "0640"; applied as the process umask. */
    fileMode: z.string().regex(/^0?[0-7]{3}$/, 'an octal file mode such as "0640"'),
    schedule: z
      .object({
        billing: z.string(),
        oltp: z.string(),
        completeness: z.string(),
        timezone: Zone,
        catchUpHorizonHours: z.number().int().min(0),
        maxAttempts: z.number().int().min(1),
        backoffBaseSeconds: z.number().min(0),
        backoffMaxSeconds: z.number().min(0),
      })
      .strict(),
    completeness: z
      .object({
        /** A day is LATE (not INCOMPLETE) until this many hours after its end. */
        graceHours: z.number().min(0),
      })
      .strict(),
    compaction: z
      .object({
        targetFileBytes: z.number().int().min(1024),
        /** Ingest compacts a day automatically when it holds more files than this (0 = never). */
        autoCompactFileCount: z.number().int().min(0),
      })
      .strict(),
    log: z.object({ format: z.enum(['json', 'human']) }).strict(),
    /** Loading before any dimension snapshot exists: warn (rows get dim_status MISSING_*; `re-enrich` repairs them) or refuse. */
    enrichment: z.object({ missingSnapshot: z.enum(['warn', 'refuse']) }).strict(),
    /** `check freshness`: age of a source's last loaded window (hours) that warns / is an error; per-source overrides. */
    freshness: z
      .object({
        warnHours: z.number().min(0),
        errorHours: z.number().min(0),
        sources: z.record(z.string(), z.object({ warnHours: z.number().min(0).optional(), errorHours: z.number().min(0).optional() }).strict()).optional(),
      })
      .strict(),
    /** Warehouse tuning (rowGroupRows, spillRows, memoryLimit, threads); checked by config/tuning.ts. */
    tuning: z.record(z.string(), z.unknown()).optional(),
    /** Sources pulled from a vendor API before each run (config/pull.ts, docs/connectors.md#pull-connectors). */
    pull: PullSchema.default({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema> & { readonly state: string };

export const DEFAULTS = {
  warehouse: './billing-mart-data/warehouse',
  landing: './billing-mart-data/landing',
  oltp: { kind: 'file', snapshotDir: '_oltp' },
  pickup: { mode: 'marker-or-quiet', quietSeconds: 60 },
  lookbackHours: 24,
  maxRecordBytes: 16 * 1024 * 1024,
  fileMode: '0640',
  schedule: {
    billing: '0 */4 * * *',
    oltp: '0 1 * * *',
    completeness: '30 6 * * *',
    timezone: 'UTC',
    catchUpHorizonHours: 72,
    maxAttempts: 4,
    backoffBaseSeconds: 30,
    backoffMaxSeconds: 900,
  },
  completeness: { graceHours: 6 },
  compaction: { targetFileBytes: 128 * 1024 * 1024, autoCompactFileCount: 24 },
  log: { format: 'human' },
  pull: {},
  enrichment: { missingSnapshot: 'warn' },
  freshness: { warnHours: 8, errorHours: 24 },
} as const;

export interface ConfigOverrides {
  configFile?: string;
  warehouse?: string;
  landing?: string;
  env?: NodeJS.ProcessEnv;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for config layers: objects merge, arrays and scalars replace. */
export function mergeLayers(...layers: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!isPlainObject(layer)) continue;
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeLayers(out[k], v) : v;
    }
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function envLayer(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  if (env.BILLING_MART_WAREHOUSE) layer.warehouse = env.BILLING_MART_WAREHOUSE;
  if (env.BILLING_MART_LANDING) layer.landing = env.BILLING_MART_LANDING;
  if (env.BILLING_MART_PG_URL) layer.oltp = { kind: 'postgres', url: env.BILLING_MART_PG_URL };
  return layer;
}

function getKey(o: unknown, key: readonly (string | number)[]): unknown {
  let cur = o;
  for (const k of key) cur = isPlainObject(cur) || Array.isArray(cur) ? (cur as Record<string | number, unknown>)[k] : undefined;
  return cur;
}

/** `base` + a relative path that climbs out of it with `..`: refused unless written as an absolute path. */
function escapes(base: string, rel: string): boolean {
  if (path.isAbsolute(rel)) return false;
  const r = path.relative(base, path.resolve(base, rel));
  return r === '..' || r.startsWith(`..${path.sep}`);
}

/** Loads, validates (reporting every problem with its file and key, all in one pass) and freezes the configuration. */
export function loadConfig(o: ConfigOverrides = {}): Config {
  let fileLayer: unknown = {};
  let fileDoc: YAML.Document | null = null;
  const lineCounter = new YAML.LineCounter();
  let baseDir = process.cwd();
  const env = o.env ?? process.env;
  if (o.configFile) {
    baseDir = path.dirname(path.resolve(o.configFile));
    let text: string;
    try {
      text = readFileSync(o.configFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${o.configFile}: ${(e as Error).message}`, [], { cause: e });
    }
    const doc = YAML.parseDocument(text, { lineCounter });
    if (doc.errors.length) {
      throw new ConfigError(`${o.configFile} is not valid YAML`, doc.errors.map((e) => `${o.configFile}:${e.linePos?.[0]?.line ?? '?'}: ${e.message}`));
    }
    fileLayer = doc.toJS() ?? {};
    fileDoc = doc;
    if (!isPlainObject(fileLayer)) throw new ConfigError(`${o.configFile}: expected a mapping of settings at the top level`);
  }
  const flags: Record<string, unknown> = { warehouse: o.warehouse, landing: o.landing };
  const envL = envLayer(env);
  const merged = mergeLayers(DEFAULTS, fileLayer, envL, flags);
  // The sources: built-ins kept by `builtins:` plus `sources:` definitions, includes followed (config/compose.ts).
  const fileSources = fileLayer as Record<string, unknown>;
  const composed = composeSources({ builtins: fileSources.builtins, sources: fileSources.sources, baseDir, origin: o.configFile ?? 'embedded defaults', available: DEFAULT_SOURCES });
  merged.sources = composed.sources;
  /** Which layer a key's value came from, for the problem list. */
  const originOf = (key: readonly (string | number)[]): string => {
    if (getKey(flags, key) !== undefined) return `--${String(key[0])}`;
    if (getKey(envL, key) !== undefined) return key[0] === 'oltp' ? 'BILLING_MART_PG_URL' : `BILLING_MART_${String(key[0]).toUpperCase()}`;
    if (o.configFile && getKey(fileLayer, key.length ? [key[0]!] : key) !== undefined) return o.configFile;
    return 'embedded defaults';
  };
  const problems: string[] = [...composed.problems];
  const problem = (key: (string | number)[], message: string) => problems.push(`${originOf(key)}: ${key.join('.') || '(top level)'}: ${message}`);

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    for (const i of parsed.error.issues) problem(i.path as (string | number)[], i.message);
  }
  // Checks zod cannot express, on the merged values, in the same pass.
  const sched = isPlainObject(merged.schedule) ? merged.schedule : {};
  const tz = typeof sched.timezone === 'string' ? sched.timezone : 'UTC';
  for (const job of ['billing', 'oltp', 'completeness']) {
    const expr = sched[job];
    if (typeof expr !== 'string') continue;
    const why = cronProblem(expr, Zone.safeParse(tz).success ? tz : 'UTC');
    if (why) problem(['schedule', job], why);
  }
  // reserved and duplicate source names: config/compose.ts, with the file and key of each definition
  const compaction = isPlainObject(merged.compaction) ? merged.compaction : {};
  for (const [k, m] of tuningProblems({ targetFileBytes: compaction.targetFileBytes, autoCompactFileCount: compaction.autoCompactFileCount })) problem(['compaction', k], m);
  if (isPlainObject(merged.tuning)) {
    for (const [k, m] of tuningProblems(merged.tuning)) {
      if (k === 'targetFileBytes' || k === 'autoCompactFileCount') problem(['tuning', k], 'set it under compaction:');
      else problem(['tuning', k], m);
    }
  }
  // Relative paths in a config file are relative to that file; flags/env relative to the working directory.
  const fileObj = fileLayer as Record<string, unknown>;
  const fromFile = (key: 'warehouse' | 'landing' | 'state') => (key === 'state' || o[key] === undefined) && fileObj[key] !== undefined && !envL[key];
  for (const key of ['warehouse', 'landing', 'state'] as const) {
    const v = merged[key];
    if (typeof v === 'string' && fromFile(key) && escapes(baseDir, v)) {
      problem([key], `${JSON.stringify(v)} climbs out of the config file's directory ${baseDir} with ".."; write an absolute path if that is what you mean`);
    }
  }
  const snap = isPlainObject(merged.oltp) ? merged.oltp.snapshotDir : undefined;
  if (typeof snap === 'string' && escapes('/landing', snap)) {
    problem(['oltp', 'snapshotDir'], `${JSON.stringify(snap)} climbs out of the landing zone with ".."; write an absolute path if that is what you mean`);
  }
  if (problems.length || !parsed.success) throw new ConfigError(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems);

  const c = parsed.data;
  const resolveFrom = (p: string, file: boolean) => path.resolve(file ? baseDir : process.cwd(), p);
  const warehouse = resolveFrom(c.warehouse, fromFile('warehouse'));
  const landing = resolveFrom(c.landing, fromFile('landing'));
  const state = c.state ? resolveFrom(c.state, fromFile('state')) : path.join(warehouse, '_state');
  const oltp = { ...c.oltp, snapshotDir: path.resolve(landing, c.oltp.snapshotDir) };
  // the connection password is a secret: every user-visible text hides it from here on
  if (c.oltp.url) rememberSecret(urlPassword(c.oltp.url));
  rememberSecret(env.PGPASSWORD);
  const config = deepFreeze({ ...c, warehouse, landing, state, oltp }) as Config;
  LAYERS.set(config, { file: o.configFile ? { path: o.configFile, layer: fileLayer, doc: fileDoc!, lines: lineCounter } : null, env: envL, flags, sources: composed.origins });
  return config;
}

/** The layers a loaded configuration was merged from, kept for `config --show-origin`. */
interface Layers {
  file: { path: string; layer: unknown; doc: YAML.Document; lines: YAML.LineCounter } | null;
  env: Record<string, unknown>;
  flags: Record<string, unknown>;
  sources: Record<string, string>;
}
const LAYERS = new WeakMap<Config, Layers>();

const ENV_OF: Record<string, string> = { warehouse: 'BILLING_MART_WAREHOUSE', landing: 'BILLING_MART_LANDING', oltp: 'BILLING_MART_PG_URL' };

export interface KeyOrigin {
  /** Dotted key, e.g. `schedule.billing`; `sources.<name>` for a source definition. */
  key: string;
  value: unknown;
  kind: 'default' | 'file' | 'env' | 'flag' | 'built-in';
  /** The flag (`--warehouse`), variable (`BILLING_MART_PG_URL`), `<file>:<line>`, or `embedded defaults`. */
  origin: string;
}

/**
 * Each effective key of a configuration from `loadConfig` and the layer its value came from (flag > environment >
 * file > embedded default), in key order. Values are as loaded: callers print them through the redactor.
 */
export function configOrigins(c: Config): KeyOrigin[] {
  const layers = LAYERS.get(c);
  if (!layers) throw new Error('internal: configOrigins needs a configuration returned by loadConfig');
  const out: KeyOrigin[] = [];
  const originOf = (key: string[]): Pick<KeyOrigin, 'kind' | 'origin'> => {
    if (getKey(layers.flags, key) !== undefined) return { kind: 'flag', origin: `--${key[0]}` };
    if (getKey(layers.env, key) !== undefined) return { kind: 'env', origin: ENV_OF[key[0]!] ?? 'environment' };
    const f = layers.file;
    if (f && getKey(f.layer, key) !== undefined) {
      const node = f.doc.getIn(key, true) as { range?: [number, number, number] } | undefined;
      return { kind: 'file', origin: node?.range ? `${f.path}:${f.lines.linePos(node.range[0]).line}` : f.path };
    }
    if (key[0] === 'state') return { kind: 'default', origin: 'embedded defaults (<warehouse>/_state)' };
    if (key.join('.') === 'oltp.snapshotDir') return { kind: 'default', origin: 'embedded defaults (relative to the landing zone)' };
    return { kind: 'default', origin: 'embedded defaults' };
  };
  const walk = (v: unknown, key: string[]) => {
    if (isPlainObject(v) && Object.keys(v).length > 0) {
      for (const k of Object.keys(v).sort()) walk(v[k], [...key, k]);
      return;
    }
    out.push({ key: key.join('.'), value: v, ...originOf(key) });
  };
  for (const k of Object.keys(c).sort()) {
    if (k === 'sources') continue;
    walk((c as Record<string, unknown>)[k], [k]);
  }
  for (const s of c.sources) {
    const from = layers.sources[s.name] ?? 'embedded defaults';
    out.push({ key: `sources.${s.name}`, value: `${s.objects.length} object${s.objects.length === 1 ? '' : 's'}, timezone ${s.timezone}`, kind: from.startsWith('built-in') ? 'built-in' : 'file', origin: from });
  }
  return out;
}
