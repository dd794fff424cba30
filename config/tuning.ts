/**
 * Warehouse tuning options: one rule, used when the configuration is loaded (every problem reported with its key)
 * and when a FactTable is opened with options in code.
 */

export interface TuningInput {
  targetFileBytes?: unknown;
  autoCompactFileCount?: unknown;
  rowGroupRows?: unknown;
  spillRows?: unknown;
  spillBytes?: unknown;
  memoryLimit?: unknown;
  compactMemoryLimit?: unknown;
  compactThreads?: unknown;
  threads?: unknown;
}

export const TUNING_KEYS = ['targetFileBytes', 'autoCompactFileCount', 'rowGroupRows', 'spillRows', 'spillBytes', 'memoryLimit', 'compactMemoryLimit', 'compactThreads', 'threads'] as const;

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes of a size such as '192MB' / '1.5GiB' (DuckDB reads KB/MB as powers of 1000 and KiB/MiB as 1024: close enough for a check), or null. */
export function sizeBytes(v: unknown): number | null {
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*([KMGT])(i?)B$/i.exec(v.trim()) : null;
  return m ? Number(m[1]) * (m[3] ? UNITS[m[2]!.toUpperCase()]! : 1000 ** ('KMGT'.indexOf(m[2]!.toUpperCase()) + 1)) : null;
}

/** DuckDB needs a few MB per thread to run at all; below this it fails with an out-of-memory error, not a clear one. */
export const MIN_MEMORY_LIMIT_BYTES = 32 * 2 ** 20;

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
  int('spillBytes', 1024 * 1024);
  for (const k of ['threads', 'compactThreads']) {
    int(k, 1);
    const n = t[k];
    if (typeof n === 'number' && n > 64) bad(k, 'at most 64');
  }
  for (const k of ['memoryLimit', 'compactMemoryLimit']) {
    const m = t[k];
    const bytes = sizeBytes(m);
    if (m !== undefined && bytes === null) bad(k, "a size such as '192MB'");
    else if (bytes !== null && bytes < MIN_MEMORY_LIMIT_BYTES) bad(k, 'at least 32MB (DuckDB cannot sort or merge in less)');
  }
  for (const k of Object.keys(t)) if (!(TUNING_KEYS as readonly string[]).includes(k) && t[k] !== undefined) out.push([k, `unknown warehouse option (known: ${TUNING_KEYS.join(', ')})`]);
  return out;
}
