/**
 * Reductions over one axis of a tensor viewed as [outer, axis, inner]: sum, mean, max and the
 * L2 norm (sqrt of the sum of squares). Two kernel shapes, chosen by `planReduce`:
 *  - `thread`: one invocation per output (or per chunk of the axis) loops over it;
 *  - `workgroup`: one workgroup per output (or per chunk) sums strided partials per
 *    invocation, then combines them in a shared-memory tree.
 * When the axis is split into chunks (to occupy the device, or to stay within llvmpipe's loop
 * limit), a second `thread` pass combines the chunk partials and finishes (mean, sqrt).
 * Every per-invocation loop sums in blocks of 64 before adding the block to its running total,
 * so rounding error grows with n/64 + 64 rather than n; the tree adds log2(workgroup) more.
 */
import type { Device } from '../runtime/device.ts';
import { LimitError, ShapeError, formatShape } from '../runtime/errors.ts';
import { ceilDiv, foldGrid } from '../runtime/grid.ts';
import type { KernelSpec } from '../runtime/kernel.ts';
import { MAX_LOOP_ITERATIONS_PER_INVOCATION } from './limits.ts';
import type { Tensor } from '../runtime/tensor.ts';
import { FLAT_WORKGROUP_WGSL, packParams } from './params.ts';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'l2norm';
export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max', 'l2norm'];

/** What a reduction does to each element, how it combines two partials, and what it does last. */
interface ReduceSemantics {
  map: 'identity' | 'square';
  combine: 'add' | 'max';
  finish: 'none' | 'divide' | 'sqrt';
}

function semantics(op: ReduceOp): ReduceSemantics {
  switch (op) {
    case 'sum': return { map: 'identity', combine: 'add', finish: 'none' };
    case 'mean': return { map: 'identity', combine: 'add', finish: 'divide' };
    case 'max': return { map: 'identity', combine: 'max', finish: 'none' };
    case 'l2norm': return { map: 'square', combine: 'add', finish: 'sqrt' };
  }
}

export interface ReduceConfig extends ReduceSemantics {
  strategy: 'thread' | 'workgroup';
  workgroupSize: number;
}

/** A reduction's problem size: the tensor viewed as [outer, axis, inner]. */
export interface ReduceDims {
  outer: number;
  axis: number;
  inner: number;
}

export interface ReducePlan {
  strategy: 'thread' | 'workgroup';
  /** Chunks the axis is split into; more than 1 means a second pass over the partials. */
  chunks: number;
  chunkLength: number;
}

/** Enough workgroups to fill a GPU, or both llvmpipe cores many times over. */
const TARGET_WORKGROUPS = 256;
/** Axes this short, or this many outputs, are best served by a loop per output. */
const SHORT_AXIS = 256;
const MANY_OUTPUTS = 16384;
/** llvmpipe: invocations worth spreading a reduction over, and the shortest chunk worth one. */
const CPU_TARGET_INVOCATIONS = 2048;
const CPU_MIN_CHUNK = 256;
/** Below this many elements a chunk is not worth its own workgroup. */
const MIN_CHUNK = 2048;
export const REDUCE_THREAD_WORKGROUP = 64;
export const REDUCE_TREE_WORKGROUP = 128;


/** Loop iterations one invocation runs for a chunk: the element loop plus the 64-block loop. */
function iterationsPerInvocation(strategy: ReducePlan['strategy'], chunkLength: number): number {
  const perThread = strategy === 'thread' ? chunkLength : Math.ceil(chunkLength / REDUCE_TREE_WORKGROUP);
  return perThread + Math.ceil(perThread / 64) + Math.log2(REDUCE_TREE_WORKGROUP);
}

function chunked(strategy: ReducePlan['strategy'], axis: number, chunks: number): ReducePlan {
  let n = Math.max(1, chunks);
  while (iterationsPerInvocation(strategy, Math.ceil(axis / n)) > MAX_LOOP_ITERATIONS_PER_INVOCATION) n *= 2;
  const chunkLength = Math.max(1, Math.ceil(axis / n));
  return { strategy, chunks: Math.max(1, Math.ceil(axis / chunkLength)), chunkLength };
}

/**
 * Picks the kernel shape from the problem size alone (a pure function, so it is unit-tested).
 * On a GPU: a loop per output when outputs are plentiful or the axis is short, a workgroup tree
 * otherwise, chunking the axis when too few outputs would occupy the device. On llvmpipe barriers
 * cost more than they save (measured: loops 1.5–3 GB/s, trees 0.06–0.8 GB/s), so it always loops,
 * chunking the axis until there are enough invocations for every core.
 */
export function planReduce({ outer, axis, inner }: ReduceDims, target: 'gpu' | 'cpu' = 'gpu'): ReducePlan {
  const outputs = outer * inner;
  if (target === 'cpu') {
    const wanted = Math.ceil(CPU_TARGET_INVOCATIONS / Math.max(outputs, 1));
    return chunked('thread', axis, Math.min(wanted, Math.floor(axis / CPU_MIN_CHUNK)));
  }
  if (axis <= SHORT_AXIS || outputs >= MANY_OUTPUTS) return chunked('thread', axis, 1);
  const wanted = Math.max(1, Math.ceil(TARGET_WORKGROUPS / outputs));
  return chunked('workgroup', axis, Math.min(wanted, Math.floor(axis / MIN_CHUNK)));
}

/** Throws when a (forced) plan would run past llvmpipe's loop limit or not cover the axis. */
export function checkPlan(plan: ReducePlan, axis: number): void {
  if (plan.chunks * plan.chunkLength < axis || iterationsPerInvocation(plan.strategy, plan.chunkLength) > MAX_LOOP_ITERATIONS_PER_INVOCATION) {
    throw new LimitError(`reduce plan ${JSON.stringify(plan)} does not cover an axis of ${axis} within ${MAX_LOOP_ITERATIONS_PER_INVOCATION} loop iterations per invocation`);
  }
}

function combineWgsl(combine: ReduceSemantics['combine'], a: string, b: string): string {
  return combine === 'add' ? `${a} + ${b}` : `max(${a}, ${b})`;
}

/** WGSL of one reduction kernel. */
export function reduceWgsl(config: ReduceConfig): string {
  const { workgroupSize: wg, strategy } = config;
  const identity = config.combine === 'add' ? '0.0' : 'bitcast<f32>(neg_inf_bits)';
  const mapped = config.map === 'square' ? 'v * v' : 'v';
  const finish = config.finish === 'divide' ? 'acc / params.divisor' : config.finish === 'sqrt' ? 'sqrt(acc)' : 'acc';
  const step = strategy === 'thread' ? '1u' : `${wg}u`;
  // Blocked accumulation along the axis (see the file comment).
  const loop = /* wgsl */ `
  let begin = chunk * params.chunk_length;
  let end = min(begin + params.chunk_length, params.axis);
  var acc = ${identity};
  var k = begin${strategy === 'thread' ? '' : ' + lid'};
  while (k < end) {
    var block = ${identity};
    let block_end = min(k + 64u * ${step}, end);
    for (; k < block_end; k += ${step}) {
      let v = x[base + k * params.inner];
      block = ${combineWgsl(config.combine, 'block', mapped)};
    }
    acc = ${combineWgsl(config.combine, 'acc', 'block')};
  }`;
  const locate = /* wgsl */ `
  let output = item / params.chunks;
  let chunk = item % params.chunks;
  let o = output / params.inner;
  let j = output % params.inner;
  let base = o * params.axis * params.inner + j;
  let dest = (o * params.chunks + chunk) * params.inner + j;`;
  const header = /* wgsl */ `// swaglet reduce: ${config.map} → ${config.combine} → ${config.finish}, one ${strategy === 'thread' ? 'invocation' : 'workgroup'} per output
struct Params {
  outer: u32,
  axis: u32,
  inner: u32,
  chunks: u32,
  chunk_length: u32,
  divisor: f32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// -inf as a runtime value: WGSL rejects infinities in constant expressions.
var<private> neg_inf_bits: u32 = 0xff800000u;
${FLAT_WORKGROUP_WGSL.trim()}
`;
  if (strategy === 'thread') {
    return `${header}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let item = flat_workgroup(wid, nwg) * ${wg}u + lid;
  if (item >= params.outer * params.inner * params.chunks) { return; }${locate}${loop}
  out[dest] = ${finish};
}
`;
  }
  return `${header}
var<workgroup> partial: array<f32, ${wg}>;

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // Uniform control flow: every invocation of a workgroup shares \`item\`, so all reach the barriers.
  let item = flat_workgroup(wid, nwg);
  if (item >= params.outer * params.inner * params.chunks) { return; }${locate}${loop}
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      partial[lid] = ${combineWgsl(config.combine, 'partial[lid]', 'partial[lid + s]')};
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let acc = partial[0];
    out[dest] = ${finish};
  }
}
`;
}

const specCache = new Map<string, KernelSpec>();

export function reduceSpec(config: ReduceConfig): KernelSpec {
  const key = JSON.stringify(config);
  let spec = specCache.get(key);
  if (!spec) {
    spec = { label: `reduce.${config.strategy}(${config.map},${config.combine},${config.finish})`, wgsl: reduceWgsl(config), bindings: ['read', 'read_write', 'uniform'] };
    specCache.set(key, spec);
  }
  return spec;
}

export interface ReduceOptions {
  /** The axis to reduce (negative counts from the end), or 'all' for every element. */
  axis: number | 'all';
  /** Keep the reduced axis as size 1 (default: drop it). */
  keepDims?: boolean;
  /** Overrides `planReduce` (tests and benchmarks force each kernel shape with it). */
  plan?: ReducePlan;
}

/** The [outer, axis, inner] view of `shape` around `axis`, and the output shape. */
export function reduceDims(shape: readonly number[], axis: number | 'all', keepDims = false): { dims: ReduceDims; outShape: number[] } {
  if (axis === 'all') {
    const n = shape.reduce((p, d) => p * d, 1);
    return { dims: { outer: 1, axis: n, inner: 1 }, outShape: keepDims ? shape.map(() => 1) : [] };
  }
  const a = axis < 0 ? axis + shape.length : axis;
  if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
    throw new ShapeError(`cannot reduce axis ${axis} of a tensor of shape ${formatShape(shape)}`);
  }
  const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);
  const dims = { outer: product(shape.slice(0, a)), axis: shape[a]!, inner: product(shape.slice(a + 1)) };
  const outShape = keepDims ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
  return { dims, outShape };
}

async function dispatchPass(device: Device, config: ReduceConfig, x: Tensor, out: Tensor, dims: ReduceDims, plan: ReducePlan, divisor: number): Promise<void> {
  const kernel = await device.kernel(reduceSpec(config));
  const items = dims.outer * dims.inner * plan.chunks;
  const groups = config.strategy === 'thread' ? ceilDiv(items, config.workgroupSize) : items;
  const params = packParams([
    { u32: dims.outer }, { u32: dims.axis }, { u32: dims.inner }, { u32: plan.chunks }, { u32: plan.chunkLength }, { f32: divisor },
  ]);
  device.dispatch(kernel, [x, out, params], foldGrid(groups, device.limits.maxComputeWorkgroupsPerDimension));
}

/**
 * Reduces `x` over one axis (or all of it). Records one or two dispatches; returns the result.
 * Empty axes give 0 (sum, l2norm) and NaN (mean); `max` of an empty axis is a ShapeError.
 */
export async function reduce(device: Device, x: Tensor, op: ReduceOp, options: ReduceOptions): Promise<Tensor> {
  if (x.dtype !== 'f32') throw new ShapeError(`reduce.${op}: expected an f32 tensor, got ${x}`);
  const { dims, outShape } = reduceDims(x.shape, options.axis, options.keepDims);
  if (dims.axis === 0 && op === 'max') throw new ShapeError(`reduce.max over an empty axis of ${formatShape(x.shape)}`);
  const out = device.empty(outShape);
  if (dims.outer * dims.inner === 0) return out;
  const sem = semantics(op);
  const plan = options.plan ?? planReduce(dims, device.report.isCpu ? 'cpu' : 'gpu');
  checkPlan(plan, dims.axis);
  const first: ReduceConfig = { ...sem, strategy: plan.strategy, workgroupSize: plan.strategy === 'thread' ? REDUCE_THREAD_WORKGROUP : REDUCE_TREE_WORKGROUP };
  if (plan.chunks === 1) {
    await dispatchPass(device, first, x, out, dims, plan, dims.axis);
    return out;
  }
  // Pass 1 leaves mapped, combined chunk partials [outer, chunks, inner]; pass 2 combines and finishes them.
  const partials = device.empty([dims.outer, plan.chunks, dims.inner]);
  await dispatchPass(device, { ...first, finish: 'none' }, x, partials, dims, plan, 1);
  const second: ReduceDims = { outer: dims.outer, axis: plan.chunks, inner: dims.inner };
  await dispatchPass(
    device,
    { map: 'identity', combine: sem.combine, finish: sem.finish, strategy: 'thread', workgroupSize: REDUCE_THREAD_WORKGROUP },
    partials, out, second, { strategy: 'thread', chunks: 1, chunkLength: plan.chunks }, dims.axis,
  );
  // Safe before the GPU runs: a later user of the pooled buffer is recorded after these reads.
  partials.release();
  return out;
}

export const sum = (device: Device, x: Tensor, options: ReduceOptions) => reduce(device, x, 'sum', options);
export const mean = (device: Device, x: Tensor, options: ReduceOptions) => reduce(device, x, 'mean', options);
export const max = (device: Device, x: Tensor, options: ReduceOptions) => reduce(device, x, 'max', options);
/** sqrt(Σ x²) over the axis: the row norm of DoRA's magnitude vector when axis = -1. */
export const l2norm = (device: Device, x: Tensor, options: ReduceOptions) => reduce(device, x, 'l2norm', options);
