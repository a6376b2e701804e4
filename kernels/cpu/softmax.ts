/** Plain-JS reference for kernels/softmax.ts (softmax and cross-entropy over the last axis), in f64. */
import { broadcastMapCpu, type HostTensor } from './elementwise.ts';

/** A row-major [rows, cols] view of `shape`. */
function rowsCols(shape: readonly number[]): [number, number] {
  const cols = shape[shape.length - 1]!;
  return [shape.slice(0, -1).reduce((p, d) => p * d, 1), cols];
}

export interface SoftmaxCpuOptions {
  /** Additive mask, broadcast (numpy rules) to x's shape. */
  mask?: HostTensor;
  /** [batch, cols]: zero excludes a column for every row of that batch entry. */
  keyPaddingMask?: HostTensor;
}

/** Softmax over the last axis; a row with every column excluded is all zeros. */
export function softmaxCpu(x: HostTensor, options: SoftmaxCpuOptions = {}): Float32Array {
  const [rows, cols] = rowsCols(x.shape);
  const logits = Float64Array.from(x.data);
  if (options.mask) {
    // The masked logit is an f32 sum on the GPU too (at ±1e4 its rounding is visible in the
    // output), so round it the same way; the mask values are f32 already.
    const mask = broadcastMapCpu([options.mask], x.shape, (m) => m!);
    for (let i = 0; i < logits.length; i++) logits[i] = Math.fround(logits[i]! + mask[i]!);
  }
  const keep = options.keyPaddingMask;
  const perBatch = keep ? rows / keep.shape[0]! : 1;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: cols }, (_, c) => {
      const excluded = keep && keep.data[Math.floor(r / perBatch) * cols + c] === 0;
      return excluded ? -Infinity : logits[r * cols + c]!;
    });
    const max = Math.max(...row);
    if (max === -Infinity) continue;
    const e = row.map((v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    e.forEach((v, c) => (out[r * cols + c] = v / sum));
  }
  return out;
}

/** dx = y ⊙ (dy − Σ dy ⊙ y) per row. */
export function softmaxBackwardCpu(y: ArrayLike<number>, dy: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [rows, cols] = rowsCols(shape);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[r * cols + c]! * y[r * cols + c]!;
    for (let c = 0; c < cols; c++) out[r * cols + c] = y[r * cols + c]! * (dy[r * cols + c]! - dot);
  }
  return out;
}

function logSumExp(row: readonly number[]): { max: number; lse: number } {
  const max = Math.max(...row);
  return { max, lse: max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) };
}

/** Per-row losses (0 where the label is outside [0, cols)) and their mean over valid rows (0 if none). */
export function crossEntropyCpu(logits: HostTensor, labels: ArrayLike<number>): { losses: Float32Array; mean: number } {
  const [rows, cols] = rowsCols(logits.shape);
  const losses = new Float32Array(rows);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels[r]!;
    if (label < 0 || label >= cols) continue;
    const row = Array.from({ length: cols }, (_, c) => logits.data[r * cols + c]!);
    const { max, lse } = logSumExp(row);
    losses[r] = max - row[label]! + (lse - max);
    sum += losses[r]!;
    count++;
  }
  return { losses, mean: count > 0 ? sum / count : 0 };
}

/** d(mean loss)/d(logits) · upstream: (softmax − onehot)/count on valid rows, 0 elsewhere. */
export function crossEntropyBackwardCpu(logits: HostTensor, labels: ArrayLike<number>, upstream = 1): Float32Array {
  const [rows, cols] = rowsCols(logits.shape);
  let count = 0;
  for (let r = 0; r < rows; r++) if (labels[r]! >= 0 && labels[r]! < cols) count++;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const label = labels[r]!;
    if (label < 0 || label >= cols) continue;
    const row = Array.from({ length: cols }, (_, c) => logits.data[r * cols + c]!);
    const { max, lse } = logSumExp(row);
    for (let c = 0; c < cols; c++) out[r * cols + c] = ((Math.exp(row[c]! - max) / Math.exp(lse - max)) - (c === label ? 1 : 0)) * upstream / count;
  }
  return out;
}
