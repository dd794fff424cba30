/**
 * `billing-mart source-check`: validate a source definition (from the config or a YAML file) and dry-run its
 * mapping over sample files: events per type and currency, quarantine per reason with an example.
 * Exit 0 when every record maps or is skipped by a rule, 1 when some records would be quarantined or a file matches no object, 2 on a
 * definition error.
 */
import { loadSourceFile } from '../../connectors/index.js';
import { previewFiles, type FilePreview } from '../../tools/preview.js';
import { parseSourceConfig, type SourceConfig } from '../../config/sources.js';
import { CliExit, EXIT, type Register } from './context.js';

function human(source: SourceConfig, previews: FilePreview[]): string {
  const lines = [`source ${source.name} (${source.timezone}): ${source.objects.map((o) => o.object).join(', ')} — definition OK`];
  for (const p of previews) {
    if (p.skipped) {
      lines.push(`${p.file}: not read: ${p.skipped}`);
      continue;
    }
    const q = p.quarantine.reduce((n, x) => n + x.rows, 0);
    const sk = Object.values(p.skippedRecords).reduce((n, x) => n + x, 0);
    lines.push(`${p.file} (object ${p.object}): ${p.records} records → ${p.mapped} mapped, ${q} quarantined, ${sk} skipped`);
    for (const e of p.events) lines.push(`  ${e.event_type.padEnd(26)} ${e.currency}  rows ${String(e.rows).padStart(6)}  sum ${e.amount_sum}`);
    for (const [rule, n] of Object.entries(p.skippedRecords)) lines.push(`  SKIPPED ${rule} × ${n} (not billing events, by rule)`);
    for (const m of p.missingColumns) lines.push(`  MISSING COLUMN "${m.field}" (named by objects.${p.object}.${m.usedBy}): no record of this file has it`);
    for (const x of p.quarantine) lines.push(`  QUARANTINE ${x.reason} × ${x.rows}, e.g. position ${x.example.sourcePosition}${x.example.field ? ` field ${x.example.field}` : ''}: ${x.example.message}`);
  }
  return lines.join('\n');
}

export const register: Register = (program, ctx) => {
  program
    .command('source-check')
    .description('validate a billing source definition and dry-run its mapping over sample files (nothing is written)')
    .argument('[files...]', 'sample files named like landing files: <object>[-<suffix>].<csv|jsonl|json>[.gz]')
    .option('--definition <yaml>', 'a YAML file with one source definition (or a config file with sources:)')
    .option('--source <name>', 'which source (of the configuration, or of the YAML file when it has several)')
    .addHelpText('after', '\nExample:\n  billing-mart source-check --definition recurly.yaml exports/invoices.csv exports/transactions.csv.gz\nLanguage reference: docs/connectors.md.')
    .action(async (files: string[], opts: { definition?: string; source?: string }) => {
      const candidates: SourceConfig[] = opts.definition
        ? await loadSourceFile(opts.definition)
        : ctx.config().sources.map((s) => parseSourceConfig(s, 'the configuration'));
      const source = opts.source ? candidates.find((s) => s.name === opts.source) : candidates.length === 1 ? candidates[0] : undefined;
      if (!source) {
        const names = candidates.map((s) => s.name).join(', ');
        throw new CliExit(EXIT.USAGE, opts.source ? `no source "${opts.source}" (available: ${names})` : `several sources (${names}): choose one with --source`);
      }
      const previews = await previewFiles(source, files);
      ctx.emit({ source: source.name, files: previews }, () => human(source, previews));
      if (previews.some((p) => p.skipped || p.quarantine.length > 0 || p.missingColumns.length > 0)) process.exitCode = EXIT.PROBLEM;
    });
};
