/**
 * AdamW (Loshchilov & Hutter 2019, decoupled weight decay, as torch.optim.AdamW) with global
 * gradient-norm clipping, all on the device so a training step needs no host readback:
 *
 * 1. `sumOfSquares`: Σ g² over several tensors into one element. Every tensor is cut into chunks
 *    of `chunkLength` elements, one invocation per chunk writes its partial sum; the partials are
 *    summed again, chunk by chunk, until one value is left. The order of every addition depends
 *    only on the tensor sizes, so the result is the same bits every time (a deterministic
 *    reduction), and no invocation loops past llvmpipe's limit.
 * 2. `clipScale`: out = [scale, norm], norm = √Σg², scale = min(1, maxNorm / (norm + 1e-6)).
 *    A non-finite norm (a NaN or an overflow in the gradients) makes the scale NaN: the guard.
 * 3. `adamwUpdate`: per tensor, in place, with g = grad · scale[0]:
 *      p ← p·(1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
 *      p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)       (torch.optim.AdamW's order)
 *    When scale[0] is not finite the update is skipped entirely (p, m, v unchanged), so the
 *    parameters stay at their last good values while the trainer reads the norm and stops.
 *
 * The scale is read from a storage buffer, not a uniform: clipping needs no trip to the host.
 * The norm stays in out[1], where a trainer can read it with the loss.
 */
import type { CompiledKernel, Device } from '../runtime/device.ts';
import { LimitError, ShapeError } from '../runtime/errors.ts';
import { ceilDiv, foldGrid } from '../runtime/grid.ts';
import type { KernelSpec } from '../runtime/kernel.ts';
import type { Tensor } from '../runtime/tensor.ts';
import { MAX_LOOP_ITERATIONS_PER_INVOCATION } from './limits.ts';
import { FLAT_WORKGROUP_WGSL, packParams } from './params.ts';

/** Elements one invocation of the sum-of-squares kernel adds (1,040 loop iterations). */
export const SUM_OF_SQUARES_CHUNK = 1024;
const SUM_WORKGROUP = 64;
const UPDATE_WORKGROUP = 64;

/** Where clipScale's output keeps each value. */
export const CLIP_SCALE_INDEX = 0;
export const CLIP_NORM_INDEX = 1;

/** WGSL: true when x is ±inf or NaN (all exponent bits set); a bit test no fast-math can fold away. */
const NON_FINITE_WGSL = /* wgsl */ `
fn non_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}`;

const SUM_SPEC: KernelSpec = {
  label: 'adamw.sumOfSquares',
  bindings: ['read', 'read_write', 'uniform'],
  wgsl: /* wgsl */ `// swaglet adamw.sumOfSquares: one invocation per chunk writes Σ x² (or Σ x) of its chunk
struct Params {
  n: u32,
  chunk_length: u32,
  offset: u32,
  square: u32,
}
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

@compute @workgroup_size(${SUM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let chunk = flat_workgroup(wid, nwg) * ${SUM_WORKGROUP}u + lid;
  // An empty source still has one chunk, so a sum over nothing writes 0.
  if (chunk >= max(1u, (params.n + params.chunk_length - 1u) / params.chunk_length)) { return; }
  let end = min((chunk + 1u) * params.chunk_length, params.n);
  var k = chunk * params.chunk_length;
  // Blocks of 64 keep the rounding error growing with length/64 + 64, not with length.
  var acc = 0.0;
  while (k < end) {
    var block = 0.0;
    let block_end = min(k + 64u, end);
    for (; k < block_end; k++) {
      let x = src[k];
      block += select(x, x * x, params.square == 1u);
    }
    acc += block;
  }
  dst[params.offset + chunk] = acc;
}
`,
};

const CLIP_SPEC: KernelSpec = {
  label: 'adamw.clipScale',
  bindings: ['read', 'read_write', 'uniform'],
  wgsl: /* wgsl */ `// swaglet adamw.clipScale: [scale, norm] from Σ g²; NaN scale when the norm is not finite
struct Params {
  max_norm: f32,
  clip: u32,
}
@group(0) @binding(0) var<storage, read> sum_sq: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// NaN as a runtime value: WGSL rejects NaN in constant expressions.
var<private> nan_bits: u32 = 0x7fc00000u;
${NON_FINITE_WGSL.trim()}

@compute @workgroup_size(1)
fn main() {
  let norm = sqrt(sum_sq[0]);
  var scale = 1.0;
  if (params.clip == 1u) { scale = min(1.0, params.max_norm / (norm + 1e-6)); }
  out[${CLIP_SCALE_INDEX}] = select(scale, bitcast<f32>(nan_bits), non_finite(norm));
  out[${CLIP_NORM_INDEX}] = norm;
}
`,
};

const UPDATE_SPEC: KernelSpec = {
  label: 'adamw.update',
  bindings: ['read_write', 'read', 'read_write', 'read_write', 'read', 'uniform', 'uniform'],
  wgsl: /* wgsl */ `// swaglet adamw.update: one AdamW step of one tensor in place, the gradient scaled by scale[0]
struct Size {
  n: u32,
}
struct Hyper {
  lr: f32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  bias1: f32,
  sqrt_bias2: f32,
}
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
// Two uniforms: the size is fixed per tensor and the step's numbers are shared by all tensors,
// so a step creates one uniform buffer, not one per tensor.
@group(0) @binding(5) var<uniform> size: Size;
@group(0) @binding(6) var<uniform> hyper: Hyper;
${FLAT_WORKGROUP_WGSL.trim()}
${NON_FINITE_WGSL.trim()}

@compute @workgroup_size(${UPDATE_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * ${UPDATE_WORKGROUP}u + lid;
  let s = scale[0];
  // The non-finite guard: a NaN or infinite gradient norm leaves everything as it was.
  if (i >= size.n || non_finite(s)) { return; }
  let g = grad[i] * s;
  let m1 = hyper.beta1 * m[i] + hyper.one_minus_beta1 * g;
  let v1 = hyper.beta2 * v[i] + hyper.one_minus_beta2 * g * g;
  m[i] = m1;
  v[i] = v1;
  let decayed = param[i] * (1.0 - hyper.lr * hyper.weight_decay);
  param[i] = decayed - (hyper.lr / hyper.bias1) * m1 / (sqrt(v1) / hyper.sqrt_bias2 + hyper.eps);
}
`,
};

/** One step's hyperparameters. */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled: p ← p·(1 − lr·weightDecay) before the Adam step. */
  weightDecay: number;
  /** The step number t ≥ 1, for the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ. */
  step: number;
}

/** One parameter tensor and its moments, all f32 of one size; updated in place. */
export interface AdamWSlot {
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
}

/** The compiled pipelines: with them every function below records its dispatches synchronously. */
export interface AdamWKernels {
  sum: CompiledKernel;
  clip: CompiledKernel;
  update: CompiledKernel;
}

export async function adamwKernels(device: Device): Promise<AdamWKernels> {
  const [sum, clip, update] = await Promise.all([device.kernel(SUM_SPEC), device.kernel(CLIP_SPEC), device.kernel(UPDATE_SPEC)]);
  return { sum, clip, update };
}

/** Loop iterations one sum invocation runs for a chunk: the element loop plus the block loop. */
function sumIterations(chunkLength: number): number {
  return chunkLength + Math.ceil(chunkLength / 64);
}

function checkF32(what: string, t: Tensor): void {
  if (t.dtype !== 'f32') throw new ShapeError(`${what}: expected an f32 tensor, got ${t}`);
}

/**
 * The fixed reduction tree of Σ x² over tensors of the given sizes, with its scratch buffers
 * allocated once: an optimizer records it every step without allocating.
 */
export class SumOfSquaresPlan {
  /** Partials per tensor in the first pass, and where each tensor's start in the scratch. */
  private readonly chunks: number[];
  private readonly offsets: number[];
  private readonly first: Tensor;
  private readonly second: Tensor | undefined;
  private readonly total: number;

  constructor(
    private readonly device: Device,
    readonly sizes: readonly number[],
    readonly chunkLength = SUM_OF_SQUARES_CHUNK,
  ) {
    if (!Number.isInteger(chunkLength) || chunkLength < 2 || sumIterations(chunkLength) > MAX_LOOP_ITERATIONS_PER_INVOCATION) {
      throw new LimitError(`sumOfSquares: a chunk length of ${chunkLength} is not an integer in [2, ${MAX_LOOP_ITERATIONS_PER_INVOCATION - 512}] (llvmpipe's loop limit)`);
    }
    this.chunks = sizes.map((n) => ceilDiv(n, chunkLength));
    this.offsets = [];
    let total = 0;
    for (const c of this.chunks) {
      this.offsets.push(total);
      total += c;
    }
    this.total = total;
    this.first = device.empty([Math.max(1, total)]);
    const next = ceilDiv(total, chunkLength);
    this.second = next > 1 ? device.empty([next]) : undefined;
  }

  /** Records the dispatches that leave Σ x² over `tensors` (sizes as planned) in out[outIndex]. */
  record(kernels: AdamWKernels, tensors: readonly Tensor[], out: Tensor, outIndex = 0): void {
    if (tensors.length !== this.sizes.length || tensors.some((t, i) => t.size !== this.sizes[i])) {
      throw new ShapeError(`sumOfSquares: planned for sizes [${this.sizes.join(', ')}], got tensors [${tensors.map((t) => t.size).join(', ')}]`);
    }
    checkF32('sumOfSquares', out);
    if (!Number.isInteger(outIndex) || outIndex < 0 || outIndex >= out.size) throw new ShapeError(`sumOfSquares: index ${outIndex} is outside ${out}`);
    const maxPerDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    const pass = (src: Tensor, n: number, dst: Tensor, offset: number, square: boolean) => {
      const params = packParams([{ u32: n }, { u32: this.chunkLength }, { u32: offset }, { u32: square ? 1 : 0 }]);
      const invocations = Math.max(1, ceilDiv(n, this.chunkLength));
      this.device.dispatch(kernels.sum, [src, dst, params], foldGrid(ceilDiv(invocations, SUM_WORKGROUP), maxPerDim));
    };
    tensors.forEach((t, i) => {
      checkF32('sumOfSquares', t);
      if (t.size > 0) pass(t, t.size, this.first, this.offsets[i]!, true);
    });
    // Sum the partials chunk by chunk, ping-ponging between the scratch buffers, into out.
    let src = this.first;
    let count = this.total;
    for (;;) {
      const next = Math.max(1, ceilDiv(count, this.chunkLength));
      const dst = next === 1 ? out : src === this.first ? this.second! : this.first;
      pass(src, count, dst, next === 1 ? outIndex : 0, false);
      if (next === 1) return;
      src = dst;
      count = next;
    }
  }

  destroy(): void {
    this.first.release();
    this.second?.release();
  }
}

/** Records clipScale's one dispatch; maxNorm ≤ 0, Infinity or undefined turns clipping off. */
export function recordClipScale(device: Device, kernels: AdamWKernels, sumSq: Tensor, maxNorm: number | undefined, out: Tensor): void {
  checkF32('clipScale', sumSq);
  checkF32('clipScale', out);
  if (sumSq.size < 1 || out.size < 2) throw new ShapeError(`clipScale: needs Σg² in a tensor of ≥ 1 element and [scale, norm] in one of ≥ 2, got ${sumSq} and ${out}`);
  const clip = maxNorm !== undefined && maxNorm > 0 && Number.isFinite(maxNorm);
  device.dispatch(kernels.clip, [sumSq, out, packParams([{ f32: clip ? maxNorm : 0 }, { u32: clip ? 1 : 0 }])], [1, 1, 1]);
}

/** The step's uniform: shared by every tensor's update in that step. */
export function packHyper(h: AdamWHyper): Uint8Array {
  if (!Number.isInteger(h.step) || h.step < 1) throw new RangeError(`adamw: the step number must be an integer ≥ 1, got ${h.step}`);
  return packParams([
    { f32: h.lr },
    { f32: h.beta1 },
    { f32: h.beta2 },
    // 1 − β in f64, as torch does: 1 − f32(0.999) would be 1.3e-5 off.
    { f32: 1 - h.beta1 },
    { f32: 1 - h.beta2 },
    { f32: h.eps },
    { f32: h.weightDecay },
    // Bias corrections in f64 on the host; the kernel only divides by them.
    { f32: 1 - h.beta1 ** h.step },
    { f32: Math.sqrt(1 - h.beta2 ** h.step) },
  ]);
}

/** Records one tensor's update; `hyper` is `packHyper(...)` of the step. */
export function recordAdamWUpdate(device: Device, kernels: AdamWKernels, slot: AdamWSlot, scale: Tensor, hyper: Uint8Array): void {
  const { param, grad, m, v } = slot;
  for (const [what, t] of [['parameter', param], ['gradient', grad], ['first moment', m], ['second moment', v], ['scale', scale]] as const) {
    checkF32(`adamw ${what}`, t);
  }
  if (grad.size !== param.size || m.size !== param.size || v.size !== param.size) {
    throw new ShapeError(`adamw: parameter ${param}, gradient ${grad}, moments ${m} and ${v} must have the same number of elements`);
  }
  if (scale.size < 1) throw new ShapeError(`adamw: the gradient scale ${scale} is empty`);
  const size = packParams([{ u32: param.size }]);
  device.dispatch(kernels.update, [param, grad, m, v, scale, size, hyper], foldGrid(ceilDiv(param.size, UPDATE_WORKGROUP), device.limits.maxComputeWorkgroupsPerDimension));
}

// ---- one-off forms: compile (cached by the device), then record --------------------------------

/** Σ x² over all `tensors` into out[0]: deterministic, any sizes (see the file comment). */
export async function sumOfSquares(device: Device, tensors: readonly Tensor[], out: Tensor, options: { chunkLength?: number } = {}): Promise<void> {
  const kernels = await adamwKernels(device);
  const plan = new SumOfSquaresPlan(device, tensors.map((t) => t.size), options.chunkLength);
  plan.record(kernels, tensors, out);
  // Safe before the GPU runs: a later user of the pooled scratch is recorded after these reads.
  plan.destroy();
}

/** out = [scale, norm] from sumSq[0] (see the file comment). */
export async function clipScale(device: Device, sumSq: Tensor, maxNorm: number | undefined, out: Tensor): Promise<void> {
  recordClipScale(device, await adamwKernels(device), sumSq, maxNorm, out);
}

/** One AdamW step of each slot, in place, the gradients scaled by scale[0]. */
export async function adamwUpdate(device: Device, slots: readonly AdamWSlot[], scale: Tensor, hyper: AdamWHyper): Promise<void> {
  const kernels = await adamwKernels(device);
  const packed = packHyper(hyper);
  for (const slot of slots) recordAdamWUpdate(device, kernels, slot, scale, packed);
}
