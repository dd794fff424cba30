/**
 * Binds the jobs' ports to the real parts: warehouse/index.ts (FactTable) and connectors (landing reader,
 * mappings, OLTP snapshot). Everything is read through the warehouse's API (dimension snapshots, markers,
 * manifests, files of a version), never by globbing its layout.
 */
import path from 'node:path';
import type { FactTable } from '../warehouse/index.js';
import { readOltpSnapshot, type OltpSettings } from '../connectors/oltp/index.js';
import type { DayManifest, DimRow, OltpPort, WarehousePort } from './ports.js';

export function warehousePort(table: FactTable): WarehousePort {
  return {
    factPath: path.join(table.root, 'fact_billing_event'),
    commitIngest: (req) => table.commitIngest(req),
    prepareScratch: () => table.prepareScratch(),
    publishStaged: (req, scratch, staged) => table.publishStaged(req, scratch, staged),
    discardScratch: (scratch) => table.discardScratch(scratch),
    readTable: (name, partition, keys) => table.readTable(name, partition, keys),
    committedInputs: (s, days) => table.committedInputs(s, days),
    loadedWindows: (s, days) => table.loadedWindows(s, days),
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
    markedDays: () => table.markedDays(),
    writeDimensionSnapshot: async (name, day, rows) => {
      await table.writeDimensionSnapshot(name, day, rows);
    },
    dimensionSnapshots: (name) => table.dimensionSnapshots(name) as Promise<{ snapshotDate: string; rows: DimRow[] }[]>,
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
