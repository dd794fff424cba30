import path from 'node:path';
import { generate } from '../../tools/generator/index.js';
import { deliverLate } from '../../tools/generator/late.js';
import { CliExit, EXIT, type Register } from './context.js';
import { positiveInt, sourceList } from './options.js';

interface GenerateFlags {
  out: string;
  from?: string;
  to?: string;
  eventsPerDay: string;
  seed: string;
  sources?: string;
  force?: boolean;
  deliverLate?: boolean;
}

/** `billing-mart generate`: a realistic, deterministic landing zone with its ground truth. */
export const register: Register = (program, ctx) => {
  program
    .command('generate')
    .description('write a realistic sample landing zone (four billing systems, late/re-delivered/duplicate/bad records, control files, OLTP metadata) and its ground truth in <out>/_truth/')
    .requiredOption('--out <dir>', 'output directory: becomes the landing zone')
    .option('--from <day>', 'first UTC day, YYYY-MM-DD (required unless --deliver-late)')
    .option('--to <day>', 'last UTC day, YYYY-MM-DD (inclusive; required unless --deliver-late)')
    .option('--events-per-day <n>', 'canonical events per day over all sources (approximate)', '1000')
    .option('--seed <s>', 'random seed: the same seed gives byte-identical output', '1')
    .option('--sources <list>', 'comma-separated subset of zuora,stripe,chargebee,recurly')
    .option('--force', 'replace a previously generated landing zone in --out')
    .option('--deliver-late', 'deliver the held-back files of a generated zone (<out>/_late/ moves into place, as a late transfer would); then check completeness again')
    .action(async (flags: GenerateFlags) => {
      if (flags.deliverLate) {
        const out = path.resolve(flags.out);
        const d = deliverLate(out);
        return ctx.emit({ out, delivered: d.files, replaced: d.replaced }, () =>
          d.files.length ? `delivered ${d.files.length} held-back file(s) into ${out} (${d.replaced.length} replaced an earlier delivery); the next run or check completeness (self-heal) loads them` : `nothing held back under ${path.join(out, '_late')}`,
        );
      }
      if (!flags.from || !flags.to) throw new CliExit(EXIT.USAGE, `missing --${flags.from ? 'to' : 'from'} <day>: generate needs --from and --to (or --deliver-late to deliver the held-back files of a zone)`);
      const from = flags.from;
      const to = flags.to;
      const n = positiveInt('--events-per-day', flags.eventsPerDay);
      let summary;
      try {
        summary = await generate({
          out: path.resolve(flags.out),
          from,
          to,
          eventsPerDay: n,
          seed: flags.seed,
          sources: flags.sources === undefined ? undefined : sourceList('--sources', flags.sources),
          force: flags.force,
          onDay: (day, events) => ctx.info(`generated ${day}: ${events} events`),
        });
      } catch (e) {
        if (e instanceof Error && /is not a calendar day|ends before it starts/.test(e.message)) throw new CliExit(EXIT.USAGE, `${e.message} (--from/--to)`);
        throw e;
      }
      ctx.emit({ out: path.resolve(flags.out), ...summary }, () =>
        [
          `landing zone written to ${path.resolve(flags.out)}`,
          `  days ${summary.days}, events ${summary.events}, records ${summary.records} in ${summary.files} files`,
          `  late files ${summary.lateFiles} (held back in _late/: until they arrive, their days are INCOMPLETE by the control files; deliver them with billing-mart generate --out ${flags.out} --deliver-late), re-delivered ${summary.redeliveredFiles}, bad records ${summary.quarantined}`,
          `  truth: ${path.join(flags.out, '_truth', 'expected_fact.csv')}, expected_quarantine.csv; OLTP: _oltp/`,
        ].join('\n'),
      );
    });
};
