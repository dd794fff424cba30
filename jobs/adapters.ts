/**
 * Binds the jobs' ports to the real parts: warehouse/index.ts (FactTable) and connectors (landing reader,
 * mappings, OLTP snapshot). Dimension snapshots are read back with DuckDB from the published Hive layout.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FactTable } from '../warehouse/index.js';
import { readOltpSnapshot, type OltpSettings } from '../connectors/oltp/index.js';
import type { DayManifest, DimRow, OltpPort, WarehousePort } from './ports.js';

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Reads every snapshot of a dimension table (`<root>/<name>/snapshot_date=D/*.parquet`) as text rows. */
export async function readDimensionSnapshots(root: string, name: string): Promise<{ snapshotDate: string; rows: DimRow[] }[]> {
  const dir = path.join(root, name);
  if (!existsSync(dir)) return [];
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(path.join(dir, 'snapshot_date=*', '*.parquet'))}, hive_partitioning = true, union_by_name = true)`);
    const names = reader.columnNames();
    const by = new Map<string, DimRow[]>();
    for (const row of reader.getRows()) {
      const r: DimRow = {};
      names.forEach((n, i) => {
        const v = row[i];
        r[n] = v === null || v === undefined ? null : String(v);
      });
      const day = String(r.snapshot_date);
      delete r.snapshot_date;
      const list = by.get(day) ?? [];
      list.push(r);
      by.set(day, list);
    }
    return [...by.entries()].map(([snapshotDate, rows]) => ({ snapshotDate, rows }));
  } catch (e) {
    if (/No files found/i.test((e as Error).message)) return [];
    throw new Error(`cannot read dimension ${name} under ${dir}: ${(e as Error).message}`, { cause: e });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export function warehousePort(table: FactTable): WarehousePort {
  return {
    factPath: path.join(table.root, 'fact_billing_event'),
    commitIngest: (req) => table.commitIngest(req),
    prepareScratch: () => table.prepareScratch(),
    publishStaged: (req, scratch, staged) => table.publishStaged(req, scratch, staged),
    discardScratch: (scratch) => table.discardScratch(scratch),
    committedInputs: (s) => table.committedInputs(s),
    loadedWindows: (s) => table.loadedWindows(s),
    manifest: async (day) => (await table.manifest(day)) as DayManifest | null,
    manifests: async (days) => (await table.manifests(days)) as Map<string, DayManifest | null>,
    compact: async (days) => {
      await table.compact(days);
    },
    writeSuccess: async (day, payload) => {
      await table.writeSuccess(day, payload as Record<string, unknown>);
    },
    clearSuccess: (day) => table.clearSuccess(day),
    readSuccess: (day) => table.readSuccess(day),
    markedDays: async () => new Set((await table.info()).partitions.filter((p) => p.table === 'fact_billing_event' && p.success).map((p) => p.partition.replace(/^event_date=/, ''))),
    writeDimensionSnapshot: async (name, day, rows) => {
      await table.writeDimensionSnapshot(name, day, rows);
    },
    dimensionSnapshots: (name) => readDimensionSnapshots(table.root, name),
  };
}

export function oltpPort(settings: OltpSettings, landing: string): OltpPort {
  return {
    async read() {
      const snap = await readOltpSnapshot(settings, landing);
      return { accounts: snap.accounts as unknown as DimRow[], products: snap.products as unknown as DimRow[], origin: snap.origin };
    },
  };
}
