/**
 * Test helpers: build a throwaway landing zone from fixture files and read it through the public connector API.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { parse as parseLossless } from 'lossless-json';
import { DEFAULT_SOURCES } from '../../config/defaults.js';
import type { BillingEvent, QuarantineEntry } from '../../events/model.js';
import { openSource, type ConnectorConfig, type MapStats } from '../../connectors/index.js';
import { resolveRecordsPath } from '../../connectors/paths.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
export const DAY = '2024-01-03';
export const WINDOW = { startMs: Date.parse(`${DAY}T00:00:00Z`), endMs: Date.parse(`${DAY}T04:00:00Z`) };
export const NOW = Date.parse(`${DAY}T06:00:00Z`);

/** A config-defined source `acme` with one object `payment` (epoch seconds, minor units): the landing and hostile-file tests' source. */
export function acmePayments(o: { recordsPath: string; jsonFields?: string[] }) {
  return {
    name: 'acme',
    timezone: 'UTC',
    objects: [
      {
        object: 'payment',
        id: 'id',
        recordsPath: o.recordsPath,
        timestamps: { created: 'epoch_s' },
        currency: { column: 'currency' },
        money: { amount: { unit: 'minor' } },
        ...(o.jsonFields ? { jsonFields: o.jsonFields } : {}),
        events: [{ eventType: 'PAYMENT_PROCESSED', ts: 'created', amount: 'amount' }],
      },
    ],
  };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-conn-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies every data file of a fixture folder into `<landing>/<source>/<day>/00/` with a `_SUCCESS` marker. */
export function landFixtures(landing: string, source: string, opts: { gzip?: string[]; only?: string[] } = {}): string[] {
  const dst = path.join(landing, source, DAY, '00');
  mkdirSync(dst, { recursive: true });
  const files = readdirSync(path.join(FIXTURES, source)).filter((f) => /\.(csv|jsonl|json)$/.test(f) && (!opts.only || opts.only.includes(f)));
  const landed: string[] = [];
  for (const f of files) {
    if (opts.gzip?.includes(f)) {
      writeFileSync(path.join(dst, `${f}.gz`), gzipSync(readFileSync(path.join(FIXTURES, source, f))));
      landed.push(`${f}.gz`);
    } else {
      copyFileSync(path.join(FIXTURES, source, f), path.join(dst, f));
      landed.push(f);
    }
  }
  writeFileSync(path.join(dst, '_SUCCESS'), '');
  return landed;
}

export function connectorConfig(landing: string, sources: readonly unknown[] = DEFAULT_SOURCES): ConnectorConfig {
  return { landing, pickup: { mode: 'marker', quietSeconds: 60 }, sources };
}

export interface ReadResult {
  events: BillingEvent[];
  quarantine: QuarantineEntry[];
  stats: MapStats;
  inputs: { path: string; sha256: string; bytes: number }[];
}

export async function readAll(config: ConnectorConfig, source: string, o: { committed?: Set<string>; window?: typeof WINDOW } = {}): Promise<ReadResult> {
  const src = openSource(config, source);
  const batch = await src.read(o.window ?? WINDOW, { lookbackHours: 24, nowMs: NOW, runId: 'run-test', ...(o.committed ? { committed: o.committed } : {}) });
  const events: BillingEvent[] = [];
  for await (const e of batch.events) events.push(e);
  return { events, quarantine: batch.quarantine, stats: batch.stats, inputs: batch.inputs };
}

/**
 * Independent record count of a fixture file (not through the connector's readers): CSV data rows,
 * non-empty JSON lines, or the records at the given path of a JSON document.
 */
export function countRecords(file: string, recordsPath = '$'): number {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.csv')) return (parseCsvSync(text, { relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown[]).length - 1;
  if (file.endsWith('.jsonl')) return text.split('\n').filter((l) => l.trim() !== '').length;
  return resolveRecordsPath(parseLossless(text), recordsPath)?.length ?? 0;
}

/** Records that produced at least one event, identified by file and line/position. */
export function recordsWithEvents(events: BillingEvent[]): number {
  return new Set(events.map((e) => `${e.lineage.sourceFile}#${e.lineage.sourcePosition}`)).size;
}

export function byType(events: BillingEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) out[e.eventType] = (out[e.eventType] ?? 0) + 1;
  return out;
}
