/**
 * Cross-entropy of logits [..., C] against integer labels [...] (i32), forward and backward.
 * Per-row loss = logsumexp(x) − x[label], computed as (max − x[label]) + log Σ exp(x − max) so
 * neither extreme logits nor small losses lose precision. A label outside [0, C) (PyTorch uses
 * −100) marks a row to ignore: its loss and gradient are 0 and it is left out of the mean.
 */
import type { Device } from '../../runtime/device.ts';
import { LimitError, ShapeError, formatShape } from '../../runtime/errors.ts';
import type { Tensor } from '../../runtime/tensor.ts';
import { packParams } from '../params.ts';
import { MAX_LOOP_ITERATIONS_PER_INVOCATION } from '../limits.ts';
import { type RowStrategy, cachedSpec, planRows, rowKernelWgsl, rowsAndCols } from './rows.ts';
import { dispatchRows, rowTarget } from './softmax.ts';

const LABEL_PROLOGUE = ['let label = labels[row];', 'let valid = label >= 0i && u32(label) < params.cols;'].join('\n');

export function crossEntropyWgsl(strategy: RowStrategy): string {
  return rowKernelWgsl({
    label: 'cross-entropy forward: loss = logsumexp(x) − x[label]',
    strategy,
    fields: [],
    bindings: [
      '@group(0) @binding(0) var<storage, read> x: array<f32>;',
      '@group(0) @binding(1) var<storage, read> labels: array<i32>;',
      '@group(0) @binding(2) var<storage, read_write> losses: array<f32>;',
      '@group(0) @binding(3) var<uniform> params: Params;',
    ],
    helpers: [],
    statistic: 'logsumexp',
    prologue: LABEL_PROLOGUE,
    element: 'x[base + c]',
    epilogue: [
      'if (writer) {',
      '  var loss = 0.0;',
      '  if (valid) { loss = (acc.x - x[base + u32(label)]) + log(acc.y); }',
      '  losses[row] = loss;',
      '}',
    ].join('\n'),
    write: '',
  });
}

export function crossEntropyBackwardWgsl(strategy: RowStrategy, upstream: boolean): string {
  return rowKernelWgsl({
    label: `cross-entropy backward: dx = ${upstream ? 'g · ' : ''}(softmax(x) − onehot(label)) / count`,
    strategy,
    fields: [],
    bindings: [
      '@group(0) @binding(0) var<storage, read> x: array<f32>;',
      '@group(0) @binding(1) var<storage, read> labels: array<i32>;',
      '@group(0) @binding(2) var<storage, read> count: array<f32>;',
      ...(upstream ? ['@group(0) @binding(3) var<storage, read> upstream: array<f32>;'] : []),
      `@group(0) @binding(${upstream ? 4 : 3}) var<storage, read_write> dx: array<f32>;`,
      `@group(0) @binding(${upstream ? 5 : 4}) var<uniform> params: Params;`,
    ],
    helpers: [],
    statistic: 'logsumexp',
    prologue: [LABEL_PROLOGUE, `let scale = select(0.0, ${upstream ? 'upstream[0]' : '1.0'} / max(count[0], 1.0), valid);`].join('\n'),
    element: 'x[base + c]',
    epilogue: 'let inv_sum = 1.0 / acc.y;',
    write: [
      'let p = exp(x[base + c] - acc.x) * inv_sum;',
      'dx[base + c] = (p - select(0.0, 1.0, i32(c) == label)) * scale;',
    ].join('\n'),
  });
}

export const LABEL_REDUCE_WORKGROUP = 256;

/**
 * One workgroup over all rows: `mean` writes Σ losses / (valid labels) (0 when none is valid),
 * `count` writes the number of valid labels. A tree over per-invocation blocked sums.
 */
export function labelReduceWgsl(mode: 'mean' | 'count'): string {
  const wg = LABEL_REDUCE_WORKGROUP;
  const lossBinding = mode === 'mean' ? '@group(0) @binding(1) var<storage, read> losses: array<f32>;\n' : '';
  const b = mode === 'mean' ? 2 : 1;
  const loss = mode === 'mean' ? 'losses[r]' : '0.0';
  const result = mode === 'mean' ? 'select(0.0, total.x / total.y, total.y > 0.0)' : 'total.y';
  return `// swaglet cross-entropy ${mode}: one workgroup over all rows
struct Params {
  rows: u32,
  cols: u32,
}
@group(0) @binding(0) var<storage, read> labels: array<i32>;
${lossBinding}@group(0) @binding(${b}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${b + 1}) var<uniform> params: Params;
var<workgroup> partial: array<vec2<f32>, ${wg}>;

@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) lid: u32) {
  // (Σ loss, valid count), summed in blocks of 64 rows per invocation.
  var acc = vec2<f32>(0.0);
  var r = lid;
  while (r < params.rows) {
    var block = vec2<f32>(0.0);
    let block_end = min(r + 64u * ${wg}u, params.rows);
    for (; r < block_end; r += ${wg}u) {
      let label = labels[r];
      if (label >= 0i && u32(label) < params.cols) { block += vec2<f32>(${loss}, 1.0); }
    }
    acc += block;
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = partial[0];
    out[0] = ${result};
  }
}
`;
}


function checkLabels(logits: Tensor, labels: Tensor): { rows: number; cols: number } {
  if (logits.dtype !== 'f32') throw new ShapeError(`cross-entropy: logits must be f32, got ${logits}`);
  if (labels.dtype !== 'i32') throw new ShapeError(`cross-entropy: labels must be i32, got ${labels}`);
  const { rows, cols } = rowsAndCols(logits.shape);
  const lead = logits.shape.slice(0, -1);
  if (labels.shape.length !== lead.length || labels.shape.some((d, i) => d !== lead[i])) {
    throw new ShapeError(`cross-entropy: labels ${formatShape(labels.shape)} must have the logits' leading shape ${formatShape(lead)} (logits ${formatShape(logits.shape)})`);
  }
  if (Math.ceil(rows / LABEL_REDUCE_WORKGROUP) * 1.02 > MAX_LOOP_ITERATIONS_PER_INVOCATION) {
    throw new LimitError(`cross-entropy: ${rows} rows are more than one reduction workgroup loops over on llvmpipe`);
  }
  return { rows, cols };
}

async function labelReduce(device: Device, mode: 'mean' | 'count', labels: Tensor, losses: Tensor | undefined, rows: number, cols: number): Promise<Tensor> {
  const kernel = await device.kernel(
    cachedSpec(`cross_entropy|reduce|${mode}`, () => ({
      label: `cross_entropy.${mode}`,
      wgsl: labelReduceWgsl(mode),
      bindings: mode === 'mean' ? ['read', 'read', 'read_write', 'uniform'] : ['read', 'read_write', 'uniform'],
    })),
  );
  const out = device.empty([]);
  device.dispatch(kernel, [labels, ...(losses ? [losses] : []), out, packParams([{ u32: rows }, { u32: cols }])], [1]);
  return out;
}

export interface CrossEntropyResult {
  /** Per-row losses, shaped like the labels (0 for ignored rows). */
  losses: Tensor;
  /** Mean over rows with a valid label, shape [] (0 if none). */
  mean: Tensor;
}

/** Cross-entropy forward: per-row losses and their mean. Two dispatches, no readback. */
export async function crossEntropy(device: Device, logits: Tensor, labels: Tensor, options: { strategy?: RowStrategy } = {}): Promise<CrossEntropyResult> {
  const { rows, cols } = checkLabels(logits, labels);
  const losses = device.empty(labels.shape);
  if (rows > 0 && cols > 0) {
    const strategy = options.strategy ?? planRows(rows, cols, 1, rowTarget(device));
    const kernel = await device.kernel(
      cachedSpec(`cross_entropy|forward|${strategy}`, () => ({ label: `cross_entropy.${strategy}`, wgsl: crossEntropyWgsl(strategy), bindings: ['read', 'read', 'read_write', 'uniform'] })),
    );
    device.dispatch(kernel, [logits, labels, losses, packParams([{ u32: rows }, { u32: cols }])], dispatchRows(device, strategy, rows));
  } else if (rows > 0) {
    device.write(losses, new Float32Array(rows));
  }
  const mean = await labelReduce(device, 'mean', labels, losses, rows, cols);
  return { losses, mean };
}

export interface CrossEntropyBackwardOptions {
  /** Gradient of the objective with respect to the mean loss, a 1-element tensor (default 1). */
  upstream?: Tensor;
  strategy?: RowStrategy;
}

/**
 * Gradient of the mean cross-entropy with respect to the logits:
 * (softmax(x) − onehot(label)) · upstream / (valid rows), 0 on ignored rows. Two dispatches.
 */
export async function crossEntropyBackward(device: Device, logits: Tensor, labels: Tensor, options: CrossEntropyBackwardOptions = {}): Promise<Tensor> {
  const { rows, cols } = checkLabels(logits, labels);
  const { upstream } = options;
  if (upstream && (upstream.size !== 1 || upstream.dtype !== 'f32')) {
    throw new ShapeError(`cross-entropy backward: the upstream gradient must be one f32 value, got ${upstream}`);
  }
  const dx = device.empty(logits.shape);
  if (rows === 0 || cols === 0) return dx;
  const count = await labelReduce(device, 'count', labels, undefined, rows, cols);
  const strategy = options.strategy ?? planRows(rows, cols, 2, rowTarget(device));
  const kernel = await device.kernel(
    cachedSpec(`cross_entropy|backward|${strategy}|${Boolean(upstream)}`, () => ({
      label: `cross_entropy_backward.${strategy}`,
      wgsl: crossEntropyBackwardWgsl(strategy, Boolean(upstream)),
      bindings: upstream ? ['read', 'read', 'read', 'read', 'read_write', 'uniform'] : ['read', 'read', 'read', 'read_write', 'uniform'],
    })),
  );
  const args = [logits, labels, count, ...(upstream ? [upstream] : []), dx, packParams([{ u32: rows }, { u32: cols }])];
  device.dispatch(kernel, args, dispatchRows(device, strategy, rows));
  count.release();
  return dx;
}
