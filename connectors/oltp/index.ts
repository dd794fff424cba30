/** OLTP metadata: accounts and products from PostgreSQL (one consistent snapshot) or a file snapshot. */
import path from 'node:path';
import { readFileSnapshot } from './file.js';
import { readPgSnapshot, type PgSourceOptions } from './postgres.js';
import type { OltpSnapshot } from './types.js';

export * from './types.js';
export { readPgSnapshot, resolvePgTarget, accountsQuery, productsQuery, type PgSourceOptions } from './postgres.js';
export { readFileSnapshot, parseSnapshotCsv } from './file.js';
export { redactUrl, scrub } from '../../events/redact.js';

export interface OltpSettings {
  kind: 'file' | 'postgres';
  url?: string;
  /** file: snapshot directory relative to the landing zone (default `_oltp`). */
  snapshotDir?: string;
}

/** Reads the OLTP snapshot the configuration points at (config.oltp + config.landing). */
export async function readOltpSnapshot(settings: OltpSettings, landing: string, pg: Omit<PgSourceOptions, 'url'> = {}): Promise<OltpSnapshot> {
  if (settings.kind === 'postgres') return readPgSnapshot({ ...pg, url: settings.url });
  return readFileSnapshot(path.resolve(landing, settings.snapshotDir ?? '_oltp'));
}
