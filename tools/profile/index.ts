/** Timestamp profiling of source files: public API. */
import { profileRecords, type FileProfile, type ProfileOptions } from './profile.js';
import { readProfileRecords } from './read.js';

export { formatProfile, profileRecords, TYPE_COLUMNS, type ColumnProfile, type FileProfile, type ProfileOptions, type ProfileRecord } from './profile.js';
export { shapeOf, suggestFormat } from './shapes.js';
export { readProfileRecords, flatten } from './read.js';

export async function profileFile(file: string, o: ProfileOptions): Promise<FileProfile> {
  return profileRecords(file, await readProfileRecords(file), o);
}
