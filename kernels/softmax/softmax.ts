/**
 * Softmax over the last axis, forward and backward. Forward is max-subtracted (an online
 * (max, Σ exp) pair per row, so logits of ±1e4 neither overflow nor lose their row), with an
 * optional additive mask broadcast to the input and an optional key padding mask.
 */
import type { Device } from '../../runtime/device.ts';
import { ShapeError, formatShape } from '../../runtime/errors.ts';
import { ceilDiv, foldGrid } from '../../runtime/grid.ts';
import type { BindingKind, KernelSpec } from '../../runtime/kernel.ts';
import type { DType, Tensor } from '../../runtime/tensor.ts';
import { type ParamField, packParams } from '../params.ts';
import {
  ROW_THREAD_WORKGROUP, type RowOperandLayout, cachedSpec, type RowStrategy, planRows, rowKernelWgsl, rowOffsetWgsl, rowOperandFields,
  rowOperandLayout, rowOperandValues, rowsAndCols,
} from './rows.ts';

export interface SoftmaxConfig {
  strategy: RowStrategy;
  /** Rank of the additive mask's collapsed row layout, or 0 for no mask. */
  maskRank: number;
  /** Element type of the key padding mask (nonzero = attend), or 'none'. */
  keep: DType | 'none';
  keepRank: number;
}

const WGSL_TYPE: Record<DType, string> = { f32: 'f32', i32: 'i32', u32: 'u32' };

export function softmaxWgsl(config: SoftmaxConfig): string {
  const { maskRank, keep, keepRank } = config;
  const bindings = ['@group(0) @binding(0) var<storage, read> x: array<f32>;'];
  const fields: [string, 'u32' | 'f32'][] = [];
  const helpers: string[] = [];
  const logit = ['fn logit(base: u32, mask_row: u32, keep_row: u32, c: u32) -> f32 {', '  var v = x[base + c];'];
  if (maskRank > 0) {
    bindings.push(`@group(0) @binding(${bindings.length}) var<storage, read> mask: array<f32>;`);
    fields.push(...rowOperandFields('mask', maskRank));
    helpers.push(rowOffsetWgsl('mask', maskRank));
    logit.push('  v += mask[mask_row + c * params.mask_col_stride];');
  }
  if (keep !== 'none') {
    bindings.push(`@group(0) @binding(${bindings.length}) var<storage, read> keep: array<${WGSL_TYPE[keep]}>;`);
    fields.push(...rowOperandFields('keep', keepRank));
    helpers.push(rowOffsetWgsl('keep', keepRank));
    const zero = keep === 'f32' ? '0.0' : `0${keep === 'u32' ? 'u' : 'i'}`;
    logit.push(`  if (keep[keep_row + c * params.keep_col_stride] == ${zero}) { v = bitcast<f32>(neg_inf_bits); }`);
  }
  logit.push('  return v;', '}');
  bindings.push(`@group(0) @binding(${bindings.length}) var<storage, read_write> y: array<f32>;`);
  bindings.push(`@group(0) @binding(${bindings.length}) var<uniform> params: Params;`);
  return rowKernelWgsl({
    label: `softmax${maskRank ? ' + additive mask' : ''}${keep !== 'none' ? ' + key padding mask' : ''}`,
    strategy: config.strategy,
    fields,
    bindings,
    helpers: [...helpers, logit.join('\n')],
    statistic: 'logsumexp',
    prologue: [
      `let mask_row = ${maskRank ? 'mask_row_offset(row)' : '0u'};`,
      `let keep_row = ${keep !== 'none' ? 'keep_row_offset(row)' : '0u'};`,
    ].join('\n'),
    element: 'logit(base, mask_row, keep_row, c)',
    // A row with every column masked has max −inf: it comes out all zeros rather than NaN.
    epilogue: 'let inv_sum = select(1.0 / acc.y, 0.0, acc.x == neg_inf);',
    write: ['let v = logit(base, mask_row, keep_row, c);', 'y[base + c] = select(exp(v - acc.x) * inv_sum, 0.0, v == neg_inf);'].join('\n'),
  });
}


export function softmaxSpec(config: SoftmaxConfig): KernelSpec {
  return cachedSpec(`softmax|${JSON.stringify(config)}`, () => {
    const bindings: BindingKind[] = ['read'];
    if (config.maskRank) bindings.push('read');
    if (config.keep !== 'none') bindings.push('read');
    bindings.push('read_write', 'uniform');
    return { label: `softmax.${config.strategy}`, wgsl: softmaxWgsl(config), bindings };
  });
}

export interface SoftmaxOptions {
  /** Added to the logits before the softmax; broadcast (numpy rules) to the input's shape. Use −inf (or −1e9) to exclude. */
  mask?: Tensor;
  /**
   * [batch, cols] with x of shape [batch, …, cols]: columns where it is zero are excluded
   * (padding keys); any dtype. A row with every column excluded comes out all zeros.
   */
  keyPaddingMask?: Tensor;
  /** Overrides `planRows` (tests force each kernel shape with it). */
  strategy?: RowStrategy;
}

function dispatchRows(device: Device, strategy: RowStrategy, rows: number): [number, number, number] {
  const groups = strategy === 'thread' ? ceilDiv(rows, ROW_THREAD_WORKGROUP) : rows;
  return foldGrid(groups, device.limits.maxComputeWorkgroupsPerDimension);
}

export function rowTarget(device: Device): 'cpu' | 'gpu' {
  return device.report.isCpu ? 'cpu' : 'gpu';
}

/** Softmax of `x` over its last axis: exp(x − max) / Σ exp(x − max), per row. One dispatch. */
export async function softmax(device: Device, x: Tensor, options: SoftmaxOptions = {}): Promise<Tensor> {
  if (x.dtype !== 'f32') throw new ShapeError(`softmax: expected an f32 tensor, got ${x}`);
  const { rows, cols } = rowsAndCols(x.shape);
  let maskLayout: RowOperandLayout | undefined;
  let keepLayout: RowOperandLayout | undefined;
  if (options.mask) {
    if (options.mask.dtype !== 'f32') throw new ShapeError(`softmax: an additive mask must be f32, got ${options.mask}`);
    maskLayout = rowOperandLayout(options.mask.shape, x.shape, 'softmax: the additive mask');
  }
  const keep = options.keyPaddingMask;
  if (keep) {
    const [batch, keys] = keep.shape;
    if (keep.shape.length !== 2 || x.shape.length < 2 || batch !== x.shape[0] || keys !== cols) {
      throw new ShapeError(`softmax: a key padding mask must be [batch, cols] for input ${formatShape(x.shape)}, got ${formatShape(keep.shape)}`);
    }
    const aligned = [batch!, ...new Array<number>(x.shape.length - 2).fill(1), keys!];
    keepLayout = rowOperandLayout(aligned, x.shape, 'softmax: the key padding mask');
  }
  const y = device.empty(x.shape);
  if (rows === 0 || cols === 0) return y;
  const strategy = options.strategy ?? planRows(rows, cols, 2, rowTarget(device));
  const config: SoftmaxConfig = {
    strategy,
    maskRank: maskLayout?.sizes.length ?? 0,
    keep: keep ? keep.dtype : 'none',
    keepRank: keepLayout?.sizes.length ?? 0,
  };
  const kernel = await device.kernel(softmaxSpec(config));
  const values: ParamField[] = [{ u32: rows }, { u32: cols }];
  if (maskLayout) values.push(...rowOperandValues(maskLayout));
  if (keepLayout) values.push(...rowOperandValues(keepLayout));
  const args = [x, ...(options.mask ? [options.mask] : []), ...(keep ? [keep] : []), y, packParams(values)];
  device.dispatch(kernel, args, dispatchRows(device, strategy, rows));
  return y;
}

export function softmaxBackwardWgsl(strategy: RowStrategy): string {
  return rowKernelWgsl({
    label: 'softmax backward: dx = y ⊙ (dy − Σ dy ⊙ y)',
    strategy,
    fields: [],
    bindings: [
      '@group(0) @binding(0) var<storage, read> y: array<f32>;',
      '@group(0) @binding(1) var<storage, read> dy: array<f32>;',
      '@group(0) @binding(2) var<storage, read_write> dx: array<f32>;',
      '@group(0) @binding(3) var<uniform> params: Params;',
    ],
    helpers: [],
    statistic: 'sum',
    prologue: '',
    element: 'dy[base + c] * y[base + c]',
    epilogue: '',
    write: 'dx[base + c] = y[base + c] * (dy[base + c] - acc);',
  });
}

/** dx = y ⊙ (dy − Σ_row dy ⊙ y), from the softmax output y and the upstream gradient dy. One dispatch. */
export async function softmaxBackward(device: Device, y: Tensor, dy: Tensor, options: { strategy?: RowStrategy } = {}): Promise<Tensor> {
  if (y.shape.length !== dy.shape.length || y.shape.some((d, i) => d !== dy.shape[i])) {
    throw new ShapeError(`softmax backward: y ${formatShape(y.shape)} and dy ${formatShape(dy.shape)} must have the same shape`);
  }
  const { rows, cols } = rowsAndCols(y.shape);
  const dx = device.empty(y.shape);
  if (rows === 0 || cols === 0) return dx;
  const strategy = options.strategy ?? planRows(rows, cols, 2, rowTarget(device));
  const spec = cachedSpec(`softmax|backward|${strategy}`, () => ({
    label: `softmax_backward.${strategy}`,
    wgsl: softmaxBackwardWgsl(strategy),
    bindings: ['read', 'read', 'read_write', 'uniform'],
  }));
  const kernel = await device.kernel(spec);
  device.dispatch(kernel, [y, dy, dx, packParams([{ u32: rows }, { u32: cols }])], dispatchRows(device, strategy, rows));
  return dx;
}

export { dispatchRows };
