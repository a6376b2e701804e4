/**
 * Seeds for everything random in a run, each a pure function of (run seed, what, when), so a run
 * resumed from a checkpoint at step s draws exactly what the uninterrupted run drew after s.
 */
import { mulberry32 } from '../kernels/cpu/seeded.ts';

/** A 32-bit mix of integers (splitmix-style), for deriving independent seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, seed: number): number[] {
  const next = mulberry32(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Streams of a run's randomness. */
export const SEED_STREAM = { init: 1, shuffle: 2, dropout: 3, sample: 4 } as const;

/** An i32 seed for the device (dropout masks, posterior draws). */
export function deviceSeed(...parts: number[]): number {
  return mixSeed(...parts) | 0;
}
