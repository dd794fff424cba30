/**
 * Warehouse tuning options: one rule, used when the configuration is loaded (every problem reported with its key)
 * and when a FactTable is opened with options in code.
 */

export interface TuningInput {
  targetFileBytes?: unknown;
  autoCompactFileCount?: unknown;
  rowGroupRows?: unknown;
  spillRows?: unknown;
  memoryLimit?: unknown;
  threads?: unknown;
}

export const TUNING_KEYS = ['targetFileBytes', 'autoCompactFileCount', 'rowGroupRows', 'spillRows', 'memoryLimit', 'threads'] as const;

/** Every problem of the given options, as `[key, message]`, in one pass; unknown keys are problems too. */
export function tuningProblems(t: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  const bad = (k: string, want: string) => out.push([k, `${JSON.stringify(t[k])} is invalid: expected ${want}`]);
  const int = (k: string, min: number) => {
    const v = t[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= min)) bad(k, `an integer >= ${min}`);
  };
  int('targetFileBytes', 1024);
  int('autoCompactFileCount', 0);
  int('rowGroupRows', 1);
  int('spillRows', 1);
  int('threads', 1);
  const m = t.memoryLimit;
  if (m !== undefined && !(typeof m === 'string' && /^\d+(\.\d+)?\s*[KMGT]i?B$/i.test(m))) bad('memoryLimit', "a size such as '512MB'");
  for (const k of Object.keys(t)) if (!(TUNING_KEYS as readonly string[]).includes(k) && t[k] !== undefined) out.push([k, `unknown warehouse option (known: ${TUNING_KEYS.join(', ')})`]);
  return out;
}
