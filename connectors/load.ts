/**
 * Loading standalone source definitions from YAML: one source, a list of sources, or a config file's `sources:`
 * list (whose `{include: <file or folder>}` entries are followed, relative to that file).
 */
import { ConfigError } from '../events/errors.js';
import { readSourceDefinitions, validateLocated } from '../config/compose.js';
import type { SourceConfig } from '../config/sources.js';

export async function loadSourceFile(file: string): Promise<SourceConfig[]> {
  const problems: string[] = [];
  const located = readSourceDefinitions(file, problems);
  const out = problems.length ? [] : validateLocated(located, problems);
  if (problems.length) throw new ConfigError(`invalid source definition in ${file}`, problems);
  if (out.length === 0) throw new ConfigError(`${file} holds no source definition`);
  return out;
}
