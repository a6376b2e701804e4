/**
 * Row kernels the library does not have in the IR's form: softmax and logSoftmax along any axis
 * (on the library's row skeleton, kernels/softmax/rows.ts, with rows strided by the axis' inner
 * size), and layer normalisation over the last axis (mean, then variance, then the write).
 */
import { FLAT_WORKGROUP_WGSL, packParams } from '../../../kernels/params.ts';
import { ROW_THREAD_WORKGROUP, ROW_TREE_WORKGROUP, type RowStrategy, rowKernelWgsl } from '../../../kernels/softmax/rows.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { BindingKind } from '../../../abi/kernel.ts';
import { printBody, type FusedBody, type TypeInfo } from '../../ir/index.ts';
import { bodyFunction, uniqueHelpers, type EmittedKernel } from './elementwise.ts';

/** Grid of a row kernel: one invocation per row (loops) or one workgroup per row (trees). */
export function rowGrid(strategy: RowStrategy, rows: number, maxWorkgroupsPerDimension: number): [number, number, number] {
  return foldGrid(strategy === 'thread' ? ceilDiv(rows, ROW_THREAD_WORKGROUP) : rows, maxWorkgroupsPerDimension);
}

/** A softmax's fused neighbours: its operands, and the bodies computing its input and transforming its results. */
export interface SoftmaxFusion {
  readonly operands: readonly TypeInfo[];
  /** Computes the softmax input from the operands (undefined: operand 0 is the input). */
  readonly prologue?: FusedBody;
  /** Transforms each result; its operand $0 is the result, $k is operand k − 1. */
  readonly epilogue?: FusedBody;
}

/**
 * softmax / logSoftmax of x viewed as [outer, cols, inner] along the middle axis; rows are the
 * outer·inner lanes. Bindings: the operands (`in_k`; plain softmax: x alone), y, uniform.
 */
export function softmaxKernel(kind: 'softmax' | 'logSoftmax', dims: { outer: number; cols: number; inner: number }, strategy: RowStrategy, label: string, maxWorkgroups: number, fusion?: SoftmaxFusion): EmittedKernel {
  const rows = dims.outer * dims.inner;
  const operands = fusion?.operands ?? [{ shape: [dims.outer, dims.cols, dims.inner], dtype: 'f32' as const }];
  const load = fusion?.prologue ? bodyFunction(fusion.prologue, operands, { name: 'load_x', prefix: 'p_', arrayName: (k) => `in_${k}` }) : undefined;
  const store = fusion?.epilogue
    ? bodyFunction(fusion.epilogue, [{ shape: load?.result.shape ?? operands[0]!.shape, dtype: 'f32' }, ...operands], { name: 'store_y', prefix: 'e_', provided: 0, arrayName: (k) => `in_${k - 1}` })
    : undefined;
  const outType = store?.result.dtype ?? 'f32';
  const read = (at: string) => (load ? `load_x(${at})` : `in_0[${at}]`);
  const value = kind === 'softmax' ? `exp(${read('at')} - acc.x) * inv_sum` : `${read('at')} - lse`;
  const fused = [load && `prologue: ${printBody(fusion!.prologue!)}`, store && `epilogue: ${printBody(fusion!.epilogue!)}`].filter(Boolean).join('; ');
  const wgsl = rowKernelWgsl({
    label: `${kind === 'softmax' ? 'softmax: exp(x − max) / Σ exp(x − max)' : 'logSoftmax: x − max − log Σ exp(x − max)'} along an axis${fused ? ` (${fused})` : ''}`,
    strategy,
    fields: [['inner', 'u32'], ...[...(load?.fields ?? []), ...(store?.fields ?? [])].map(([name]) => [name, 'u32'] as const)],
    bindings: [
      ...operands.map((t, k) => `@group(0) @binding(${k}) var<storage, read> in_${k}: array<${t.dtype}>;`),
      `@group(0) @binding(${operands.length}) var<storage, read_write> y: array<${outType}>;`,
      `@group(0) @binding(${operands.length + 1}) var<uniform> params: Params;`,
    ],
    helpers: uniqueHelpers(load?.helpers ?? [], store?.helpers ?? [], [load?.fn ?? '', store?.fn ?? ''].filter(Boolean)),
    statistic: 'logsumexp',
    // Lane `row` of [outer, cols, inner] starts at (row / inner)·cols·inner + row % inner.
    prologue: 'let lane = (row / params.inner) * params.cols * params.inner + row % params.inner;',
    element: read('lane + c * params.inner'),
    epilogue: kind === 'softmax' ? 'let inv_sum = 1.0 / acc.y;' : 'let lse = acc.x + log(acc.y);',
    write: `let at = lane + c * params.inner;\ny[at] = ${store ? `store_y(at, ${value})` : value};`,
  });
  const fields = [dims.inner, ...[...(load?.fields ?? []), ...(store?.fields ?? [])].map(([, v]) => v)];
  return {
    spec: { label, wgsl, bindings: [...operands.map((): BindingKind => 'read'), 'read_write', 'uniform'] },
    uniform: packParams([{ u32: rows }, { u32: dims.cols }, ...fields.map((u32) => ({ u32 }))]),
    workgroups: rowGrid(strategy, rows, maxWorkgroups),
  };
}

/** WGSL: accumulate `term` (an expression of column c) into `name` over this invocation's columns, in blocks of 64. */
function blockedSum(name: string, term: string, start: string, step: string): string {
  return `var ${name} = 0.0;
  {
    var c = ${start};
    while (c < params.cols) {
      var block = 0.0;
      let block_end = min(c + 64u * ${step}, params.cols);
      for (; c < block_end; c += ${step}) { block += ${term}; }
      ${name} += block;
    }
  }`;
}

/** WGSL: sums `name` over the workgroup through shared memory; every invocation gets the total. */
function treeSum(name: string): string {
  return `partial[lid] = ${name};
  workgroupBarrier();
  for (var s = ${ROW_TREE_WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  ${name} = partial[0];
  workgroupBarrier();`;
}

/**
 * layerNorm over the last axis: y = (x − μ)·rsqrt(σ² + eps)·γ + β with σ² from a second pass over
 * x − μ (no cancellation). Bindings: x, gamma, beta, y, uniform {rows, cols, eps}.
 */
export function layerNormKernel(rows: number, cols: number, eps: number, strategy: RowStrategy, label: string, maxWorkgroups: number): EmittedKernel {
  const thread = strategy === 'thread';
  const wg = thread ? ROW_THREAD_WORKGROUP : ROW_TREE_WORKGROUP;
  const start = thread ? '0u' : 'lid';
  const step = thread ? '1u' : `${wg}u`;
  const wgsl = `// swaglet layerNorm: (x − mean)·rsqrt(var + eps)·gamma + beta over the last axis, one ${thread ? 'invocation' : 'workgroup'} per row
struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}
${thread ? '' : `var<workgroup> partial: array<f32, ${wg}>;\n`}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${thread ? `flat_workgroup(wid, nwg) * ${wg}u + lid` : 'flat_workgroup(wid, nwg)'};
  if (row >= params.rows) { return; }
  let base = row * params.cols;
  ${blockedSum('total', 'x[base + c]', start, step)}
  ${thread ? '' : treeSum('total')}
  let mean = total / f32(params.cols);
  ${blockedSum('squares', '(x[base + c] - mean) * (x[base + c] - mean)', start, step)}
  ${thread ? '' : treeSum('squares')}
  let rstd = inverseSqrt(squares / f32(params.cols) + params.eps);
  for (var c = ${start}; c < params.cols; c += ${step}) {
    y[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c];
  }
}
`;
  return {
    spec: { label, wgsl, bindings: ['read', 'read', 'read', 'read_write', 'uniform'] },
    uniform: packParams([{ u32: rows }, { u32: cols }, { f32: eps }]),
    workgroups: rowGrid(strategy, rows, maxWorkgroups),
  };
}
