/**
 * Configuration: validated once, every problem reported, then frozen.
 * Precedence as data: embedded defaults < YAML file (--config) < environment < command-line flags.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IANAZone } from 'luxon';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../events/errors.js';
import { SourceConfigSchema } from './sources.js';
import { DEFAULT_SOURCES } from './defaults.js';

const Zone = z.string().refine((s) => IANAZone.isValidZone(s), { message: 'an IANA time zone such as "America/Los_Angeles" or "UTC"' });

export const ConfigSchema = z
  .object({
    /** Root of the Parquet warehouse (fact table, dimensions, quarantine, state). */
    warehouse: z.string().min(1),
    /** Root of the landing zone where transfer jobs drop source files. */
    landing: z.string().min(1),
    /** Run store, locks and checker history; defaults to <warehouse>/_state. */
    state: z.string().min(1).optional(),
    sources: z.array(SourceConfigSchema),
    oltp: z
      .object({
        kind: z.enum(['file', 'postgres']),
        /** postgres: connection URL; prefer the BILLING_MART_PG_URL / PG* environment variables for credentials. */
        url: z.string().optional(),
        /** file: snapshot path relative to the landing zone. */
        snapshotDir: z.string().default('_oltp'),
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
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema> & { readonly state: string };

export const DEFAULTS = {
  warehouse: './billing-mart-data/warehouse',
  landing: './billing-mart-data/landing',
  sources: DEFAULT_SOURCES,
  oltp: { kind: 'file', snapshotDir: '_oltp' },
  pickup: { mode: 'marker-or-quiet', quietSeconds: 60 },
  lookbackHours: 24,
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

/** Loads, validates (reporting every problem with its key) and freezes the configuration. */
export function loadConfig(o: ConfigOverrides = {}): Config {
  let fileLayer: unknown = {};
  let origin = 'embedded defaults';
  let baseDir = process.cwd();
  if (o.configFile) {
    origin = o.configFile;
    baseDir = path.dirname(path.resolve(o.configFile));
    let text: string;
    try {
      text = readFileSync(o.configFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${o.configFile}: ${(e as Error).message}`, [], { cause: e });
    }
    const doc = YAML.parseDocument(text);
    if (doc.errors.length) {
      throw new ConfigError(`${o.configFile} is not valid YAML`, doc.errors.map((e) => `${o.configFile}:${e.linePos?.[0]?.line ?? '?'}: ${e.message}`));
    }
    fileLayer = doc.toJS() ?? {};
    if (!isPlainObject(fileLayer)) throw new ConfigError(`${o.configFile}: expected a mapping of settings at the top level`);
  }
  const flags: Record<string, unknown> = { warehouse: o.warehouse, landing: o.landing };
  const merged = mergeLayers(DEFAULTS, fileLayer, envLayer(o.env ?? process.env), flags);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration in ${origin}`, problems);
  }
  const c = parsed.data;
  // Relative paths in a config file are relative to that file; flags/env relative to the working directory.
  const resolveFrom = (p: string, fromFile: boolean) => path.resolve(fromFile ? baseDir : process.cwd(), p);
  const fileObj = fileLayer as Record<string, unknown>;
  const fromFile = (key: string) => o[key as 'warehouse' | 'landing'] === undefined && fileObj[key] !== undefined && !envLayer(o.env ?? process.env)[key];
  const warehouse = resolveFrom(c.warehouse, fromFile('warehouse'));
  const landing = resolveFrom(c.landing, fromFile('landing'));
  const state = c.state ? resolveFrom(c.state, fileObj.state !== undefined) : path.join(warehouse, '_state');
  return deepFreeze({ ...c, warehouse, landing, state }) as Config;
}
