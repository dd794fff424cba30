import { IANAZone } from 'luxon';
import { formatProfile, profileFile } from '../../tools/profile/index.js';
import { CliExit, EXIT, type Register } from './context.js';

/** `billing-mart profile <file>`: what the date/datetime columns of a source file really hold. */
export const register: Register = (program, ctx) => {
  program
    .command('profile')
    .description('scan a CSV / JSON lines / JSON file and report, per date or datetime column: formats and shares, offsets, precision, share at local midnight (per type), unparseable values, and a suggested column configuration')
    .argument('<file>', 'the file to profile (.csv, .jsonl, .json, optionally .gz)')
    .option('--source-tz <zone>', 'IANA zone naive values are read in (the source system zone)', 'UTC')
    .option('--type-column <column>', 'column holding the event type/status, for midnight shares per type (default: detected)')
    .action(async (file: string, flags: { sourceTz: string; typeColumn?: string }) => {
      if (!IANAZone.isValidZone(flags.sourceTz)) throw new CliExit(EXIT.USAGE, `--source-tz "${flags.sourceTz}" is not an IANA time zone (e.g. America/Los_Angeles, Europe/London, UTC)`);
      const p = await profileFile(file, { sourceTz: flags.sourceTz, ...(flags.typeColumn ? { typeColumn: flags.typeColumn } : {}) });
      ctx.emit(p, () => formatProfile(p));
    });
};
