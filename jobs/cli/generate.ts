import path from 'node:path';
import { generate } from '../../tools/generator/index.js';
import { CliExit, EXIT, type Register } from './context.js';

interface GenerateFlags {
  out: string;
  from: string;
  to: string;
  eventsPerDay: string;
  seed: string;
  sources?: string;
  force?: boolean;
}

/** `billing-mart generate`: a realistic, deterministic landing zone with its ground truth. */
export const register: Register = (program, ctx) => {
  program
    .command('generate')
    .description('write a realistic sample landing zone (four billing systems, late/re-delivered/duplicate/bad records, control files, OLTP metadata) and its ground truth in <out>/_truth/')
    .requiredOption('--out <dir>', 'output directory: becomes the landing zone')
    .requiredOption('--from <day>', 'first UTC day, YYYY-MM-DD')
    .requiredOption('--to <day>', 'last UTC day, YYYY-MM-DD (inclusive)')
    .option('--events-per-day <n>', 'canonical events per day over all sources (approximate)', '1000')
    .option('--seed <s>', 'random seed: the same seed gives byte-identical output', '1')
    .option('--sources <list>', 'comma-separated subset of zuora,stripe,chargebee,recurly')
    .option('--force', 'replace a previously generated landing zone in --out')
    .action(async (flags: GenerateFlags) => {
      const n = Number(flags.eventsPerDay);
      if (!/^\d+$/.test(flags.eventsPerDay) || n < 1) throw new CliExit(EXIT.USAGE, `--events-per-day must be a positive integer, got "${flags.eventsPerDay}"`);
      let summary;
      try {
        summary = await generate({
          out: path.resolve(flags.out),
          from: flags.from,
          to: flags.to,
          eventsPerDay: n,
          seed: flags.seed,
          sources: flags.sources?.split(',').map((s) => s.trim()).filter(Boolean),
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
          `  late files ${summary.lateFiles} (in _late/), re-delivered ${summary.redeliveredFiles}, bad records ${summary.quarantined}`,
          `  truth: ${path.join(flags.out, '_truth', 'expected_fact.csv')}, expected_quarantine.csv; OLTP: _oltp/`,
        ].join('\n'),
      );
    });
};
