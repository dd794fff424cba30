/**
 * Loading a standalone source definition from YAML (one source, or a config file's `sources:` list).
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { ConfigError } from '../events/errors.js';
import { describeSourceIssues, SourceConfigSchema, type SourceConfig } from '../config/sources.js';

export async function loadSourceFile(file: string): Promise<SourceConfig[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read source definition ${file}: ${(e as Error).message}`, [], { cause: e });
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length) throw new ConfigError(`${file} is not valid YAML`, doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message}`));
  const js: unknown = doc.toJS();
  const isConfig = js !== null && typeof js === 'object' && !Array.isArray(js) && 'sources' in js;
  const list = isConfig ? (js as { sources: unknown }).sources : [js];
  if (!Array.isArray(list)) throw new ConfigError(`${file}: "sources" must be a list of source definitions`);
  const problems: string[] = [];
  const out: SourceConfig[] = [];
  list.forEach((raw, i) => {
    const r = SourceConfigSchema.safeParse(raw);
    if (r.success) out.push(r.data);
    else problems.push(...describeSourceIssues(r.error.issues, raw, isConfig ? ['sources', i] : []).map((p) => `${file}: ${p}`));
  });
  if (problems.length) throw new ConfigError(`invalid source definition in ${file}`, problems);
  return out;
}
