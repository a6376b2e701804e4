import { mulberry32 } from '../../kernels/cpu/seeded.ts';

/** A small seeded generator (mulberry32) so test inputs are random but reproducible. */
export const rng = mulberry32;

/** Uniform values in [-1, 1). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/**
 * max |a - b| / max(|b|, floor): relative error that stays meaningful near zero,
 * where `floor` is the scale of the reference values.
 */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  const floor = Math.max(scale, 1e-30);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const err = Math.abs(actual[i]! - e) / Math.max(Math.abs(e), floor * 1e-3, 1e-30);
    if (!Number.isFinite(actual[i]!)) return Infinity;
    worst = Math.max(worst, err);
  }
  return worst;
}
