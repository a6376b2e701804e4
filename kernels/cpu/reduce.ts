/** Plain-JS reference for kernels/reduce.ts, in f64 with a pairwise sum. */
import type { ReduceOp } from '../reduce.ts';

function pairwiseSum(values: readonly number[], lo = 0, hi = values.length): number {
  if (hi - lo <= 8) {
    let s = 0;
    for (let i = lo; i < hi; i++) s += values[i]!;
    return s;
  }
  const mid = (lo + hi) >> 1;
  return pairwiseSum(values, lo, mid) + pairwiseSum(values, mid, hi);
}

/** Reduces `data` (row-major, `shape`) over `axis` (negative from the end, or 'all'). */
export function reduceCpu(data: ArrayLike<number>, shape: readonly number[], op: ReduceOp, axis: number | 'all'): Float32Array {
  const all = axis === 'all';
  const a = all ? 0 : axis < 0 ? axis + shape.length : axis;
  const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);
  const outer = all ? 1 : product(shape.slice(0, a));
  const length = all ? product(shape) : shape[a]!;
  const inner = all ? 1 : product(shape.slice(a + 1));
  const out = new Float32Array(outer * inner);
  const row = new Array<number>(length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      for (let k = 0; k < length; k++) row[k] = data[(o * length + k) * inner + j]!;
      let value: number;
      if (op === 'max') value = row.reduce((m, v) => Math.max(m, v), -Infinity);
      else if (op === 'l2norm') value = Math.sqrt(pairwiseSum(row.map((v) => v * v)));
      else value = pairwiseSum(row) / (op === 'mean' ? length : 1);
      out[o * inner + j] = value;
    }
  }
  return out;
}
