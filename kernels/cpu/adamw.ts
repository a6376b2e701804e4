/**
 * Plain-JS reference for kernels/adamw.ts, in f64: the global sum of squares, the clip scale with
 * its non-finite guard, and torch.optim.AdamW's update in the same order of operations.
 */
import type { AdamWHyper } from '../adamw.ts';

/** Σ x² over every array, in f64. */
export function sumOfSquaresCpu(arrays: readonly ArrayLike<number>[]): number {
  let s = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

/** { scale, norm }: scale = min(1, maxNorm / (norm + 1e-6)), NaN when the norm is not finite. */
export function clipScaleCpu(sumSq: number, maxNorm: number | undefined): { scale: number; norm: number } {
  const norm = Math.sqrt(sumSq);
  const clip = maxNorm !== undefined && maxNorm > 0 && Number.isFinite(maxNorm);
  const scale = clip ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  return { scale: Number.isFinite(norm) ? scale : NaN, norm };
}

/** One parameter tensor's state on the host. */
export interface AdamWSlotCpu {
  param: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** One AdamW step in place, g = grad·scale; a non-finite scale skips the step, as the kernel does. */
export function adamwUpdateCpu(slot: AdamWSlotCpu, grad: ArrayLike<number>, scale: number, h: AdamWHyper): void {
  if (!Number.isFinite(scale)) return;
  const { param, m, v } = slot;
  const bias1 = 1 - h.beta1 ** h.step;
  const sqrtBias2 = Math.sqrt(1 - h.beta2 ** h.step);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]! * scale;
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
    const decayed = param[i]! * (1 - h.lr * h.weightDecay);
    param[i] = decayed - (h.lr / bias1) * (m[i]! / (Math.sqrt(v[i]!) / sqrtBias2 + h.eps));
  }
}
