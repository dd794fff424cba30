/** Test helpers for billing: seeded randomness (no Math.random in tests). */

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1) (shared with the sample events). */
export { rng as mulberry32 } from '../helpers/sample-events.js';

/** Fisher–Yates shuffle of a copy, driven by `rnd`. */
export function shuffle<T>(items: readonly T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
