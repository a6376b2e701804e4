/**
 * SWAG (Maddox et al. 2019; SWAG-LoRA, Onal et al. 2024) over a flat parameter vector θ of
 * length P, as two fused kernels so a snapshot never leaves the GPU:
 *
 * - collect: mean ← (n·mean + θ)/(n+1), sq_mean ← (n·sq_mean + θ²)/(n+1), and row (n mod K) of
 *   the deviation ring buffer D [K, P] ← θ − mean, using the *updated* mean, as the reference
 *   implementation (wjmaddox/swa_gaussian) does.
 * - sample: θ̃ = mean + √scale·σ⊙z₁ + √(scale/(K_eff−1))·Dᵀz₂, σ = √max(sq_mean − mean², ε),
 *   over the K_eff = min(n, K) filled rows of D. scale = ½ gives the paper's ½·diag(σ²) +
 *   DᵀD/(2(K−1)) covariance. z₁ ~ N(0, I_P) is Philox stream 0 of the sample's seed, z₂ ~ N(0, I_K)
 *   is stream 1 of the same seed — the same z₂ for every element — so `randomNormal` with that
 *   seed and stream reproduces either on its own. A batch of S seeds gives S samples in one dispatch.
 */
import type { Device } from '../runtime/device.ts';
import { KernelError, LimitError, ShapeError, formatShape } from '../runtime/errors.ts';
import { ceilDiv, foldGrid } from '../runtime/grid.ts';
import type { BindingKind, KernelSpec } from '../runtime/kernel.ts';
import { Tensor } from '../runtime/tensor.ts';
import { FLAT_WORKGROUP_WGSL, packParams } from './params.ts';
import { PHILOX_WGSL, type Seed, seedKey } from './philox.ts';

/** Philox streams of a SWAG sample's seed. */
export const SWAG_STREAM_DIAGONAL = 0;
export const SWAG_STREAM_LOW_RANK = 1;

/** Largest K the sampler holds in workgroup memory. */
export const SWAG_MAX_RANK = 256;

/** SWAG statistics on the device. The kernels update the tensors in place; `n` is counted on the host. */
export interface SwagState {
  readonly P: number;
  readonly K: number;
  readonly mean: Tensor;
  readonly sqMean: Tensor;
  /** Ring buffer [K, P]: row (i mod K) holds snapshot i's deviation from the mean after it. */
  readonly deviations: Tensor;
  /** Snapshots collected so far. */
  n: number;
}

/** Zeroed SWAG statistics for P parameters and a rank-K deviation buffer. */
export function createSwagState(device: Device, P: number, K: number): SwagState {
  if (!Number.isInteger(K) || K < 1 || K > SWAG_MAX_RANK) throw new LimitError(`SWAG rank K must be an integer in [1, ${SWAG_MAX_RANK}], got ${K}`);
  return { P, K, mean: device.zeros([P]), sqMean: device.zeros([P]), deviations: device.zeros([K, P]), n: 0 };
}

export const SWAG_COLLECT_WORKGROUP = 256;

export const SWAG_COLLECT_WGSL = /* wgsl */ `// swaglet swag.collect: fold snapshot theta into the SWAG moments and the deviation ring buffer
struct Params {
  p: u32,
  n: f32,
  row: u32,
}
@group(0) @binding(0) var<storage, read> theta: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> sq_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> deviations: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

@compute @workgroup_size(${SWAG_COLLECT_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * ${SWAG_COLLECT_WORKGROUP}u + lid;
  if (i >= params.p) { return; }
  let t = theta[i];
  let n = params.n;
  let m = (n * mean[i] + t) / (n + 1.0);
  mean[i] = m;
  sq_mean[i] = (n * sq_mean[i] + t * t) / (n + 1.0);
  // Deviation from the updated mean, as in the reference SWAG code.
  deviations[params.row * params.p + i] = t - m;
}
`;

const COLLECT_SPEC: KernelSpec = {
  label: 'swag.collect',
  wgsl: SWAG_COLLECT_WGSL,
  bindings: ['read', 'read_write', 'read_write', 'read_write', 'uniform'],
};

/**
 * Folds snapshot θ ([P], or any shape of P elements) into the state: one dispatch, in place.
 * Increments `state.n`. f32 holds n exactly up to 2²⁴ snapshots.
 */
export async function swagCollect(device: Device, state: SwagState, theta: Tensor): Promise<SwagState> {
  if (theta.size !== state.P || theta.dtype !== 'f32') {
    throw new ShapeError(`swag collect: θ ${formatShape(theta.shape)} does not match the state's parameter count [${state.P}]`);
  }
  const kernel = await device.kernel(COLLECT_SPEC);
  const params = packParams([{ u32: state.P }, { f32: state.n }, { u32: state.n % state.K }]);
  device.dispatch(kernel, [theta, state.mean, state.sqMean, state.deviations, params], foldGrid(ceilDiv(state.P, SWAG_COLLECT_WORKGROUP), device.limits.maxComputeWorkgroupsPerDimension));
  state.n++;
  return state;
}

export const SWAG_SAMPLE_WORKGROUP = 64;

/** WGSL of the sampler; `lowRank` false leaves out D and z₂ (diagonal SWAG). */
export function swagSampleWgsl(lowRank: boolean): string {
  const wg = SWAG_SAMPLE_WORKGROUP;
  const devBinding = lowRank ? '@group(0) @binding(2) var<storage, read> deviations: array<f32>;\n' : '';
  const b = lowRank ? 3 : 2;
  const z2 = lowRank
    ? `
  // z2 ~ N(0, I_K) from the sample's seed, stream ${SWAG_STREAM_LOW_RANK}: drawn once per workgroup, shared by every element.
  if (lid < (params.k_eff + 3u) / 4u) {
    let z = philox_normals(philox4x32_10(vec4<u32>(lid, params.offset, ${SWAG_STREAM_LOW_RANK}u, 0u), key));
    for (var q = 0u; q < 4u; q++) { z2[lid * 4u + q] = z[q]; }
  }
  workgroupBarrier();`
    : '';
  // Rows of D outer, the block's four elements as one vec4 inner: K loop iterations, not 4K.
  // Past the end of θ the indices are clamped; those lanes are never stored.
  const lowRankTerm = lowRank
    ? `
  let last = params.p - 1u;
  let cols = vec4<u32>(min(i0, last), min(i0 + 1u, last), min(i0 + 2u, last), min(i0 + 3u, last));
  var low = vec4<f32>(0.0);
  for (var j = 0u; j < params.k_eff; j++) {
    let row = j * params.p;
    low += vec4<f32>(deviations[row + cols.x], deviations[row + cols.y], deviations[row + cols.z], deviations[row + cols.w]) * z2[j];
  }
  value += params.low_rank_scale * low;`
    : '';
  return `// swaglet swag.sample: θ̃ = mean + √scale·σ⊙z1${lowRank ? ' + √(scale/(K−1))·Dᵀz2' : ''}, one sample per seed
struct Params {
  p: u32,
  samples: u32,
  k_eff: u32,
  groups_per_sample: u32,
  offset: u32,
  diag_scale: f32,
  low_rank_scale: f32,
  eps: f32,
}
@group(0) @binding(0) var<storage, read> mean: array<f32>;
@group(0) @binding(1) var<storage, read> sq_mean: array<f32>;
${devBinding}@group(0) @binding(${b}) var<storage, read> seeds: array<u32>;
@group(0) @binding(${b + 1}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${b + 2}) var<uniform> params: Params;
${PHILOX_WGSL}
${FLAT_WORKGROUP_WGSL.trim()}
${lowRank ? `var<workgroup> z2: array<f32, ${SWAG_MAX_RANK}>;\n` : ''}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // Workgroups are laid out sample-major, so all invocations of one share a sample (and its z2).
  let group = flat_workgroup(wid, nwg);
  let sample = group / params.groups_per_sample;
  // A folded grid can overshoot; the test is uniform per workgroup, so the barrier below is safe.
  if (sample >= params.samples) { return; }
  let key = vec2<u32>(seeds[2u * sample], seeds[2u * sample + 1u]);
  let block = (group % params.groups_per_sample) * ${wg}u + lid;${z2}
  if (block * 4u >= params.p) { return; }
  // z1 ~ N(0, I_P), stream ${SWAG_STREAM_DIAGONAL}: four normals per Philox block of four elements.
  let z1 = philox_normals(philox4x32_10(vec4<u32>(block, params.offset, ${SWAG_STREAM_DIAGONAL}u, 0u), key));
  let i0 = block * 4u;
  var m = vec4<f32>(0.0);
  var sq = vec4<f32>(0.0);
  for (var lane = 0u; lane < 4u; lane++) {
    if (i0 + lane < params.p) {
      m[lane] = mean[i0 + lane];
      sq[lane] = sq_mean[i0 + lane];
    }
  }
  let sigma = sqrt(max(sq - m * m, vec4<f32>(params.eps)));
  var value = m + params.diag_scale * sigma * z1;${lowRankTerm}
  for (var lane = 0u; lane < 4u; lane++) {
    if (i0 + lane < params.p) { out[sample * params.p + i0 + lane] = value[lane]; }
  }
}
`;
}

const sampleSpecs = new Map<boolean, KernelSpec>();

function sampleSpec(lowRank: boolean): KernelSpec {
  let spec = sampleSpecs.get(lowRank);
  if (!spec) {
    const bindings: BindingKind[] = lowRank ? ['read', 'read', 'read', 'read', 'read_write', 'uniform'] : ['read', 'read', 'read', 'read_write', 'uniform'];
    spec = { label: `swag.sample${lowRank ? '' : '.diagonal'}`, wgsl: swagSampleWgsl(lowRank), bindings };
    sampleSpecs.set(lowRank, spec);
  }
  return spec;
}

export interface SwagSampleOptions {
  /** One sample: the result is [P]. */
  seed?: Seed;
  /** S samples in one dispatch: the result is [S, P]. Host seeds, or a u32 [S, 2] tensor of (low, high) words. */
  seeds?: readonly Seed[] | Tensor;
  /** Covariance scale (default ½, the paper's). */
  scale?: number;
  /** Variance floor ε in σ = √max(sq_mean − mean², ε) (default 1e-30). */
  eps?: number;
  /** Diagonal SWAG: leave out the low-rank term. */
  diagonalOnly?: boolean;
  /** Philox offset, for drawing again from the same seeds (default 0). */
  offset?: number;
}

/** Filled rows of the deviation buffer. */
export function effectiveRank(state: Pick<SwagState, 'n' | 'K'>): number {
  return Math.min(state.n, state.K);
}

/**
 * Draws posterior samples θ̃ (see the file comment): one dispatch for all seeds. With fewer than
 * two filled deviation rows, or `diagonalOnly`, the low-rank term is left out.
 */
export async function swagSample(device: Device, state: SwagState, options: SwagSampleOptions): Promise<Tensor> {
  const { scale = 0.5, eps = 1e-30, offset = 0 } = options;
  if ((options.seed === undefined) === (options.seeds === undefined)) throw new KernelError('swag sample: pass exactly one of `seed` and `seeds`');
  if (!(scale >= 0)) throw new KernelError(`swag sample: scale must be ≥ 0, got ${scale}`);
  let seeds: Tensor;
  let S: number;
  let ownSeeds = false;
  if (options.seeds instanceof Tensor) {
    if (options.seeds.shape.length !== 2 || options.seeds.shape[1] !== 2 || options.seeds.dtype !== 'u32') {
      throw new ShapeError(`swag sample: a seed tensor must be u32 [S, 2], got ${options.seeds}`);
    }
    seeds = options.seeds;
    S = options.seeds.shape[0]!;
  } else {
    const list = options.seeds ?? [options.seed!];
    S = list.length;
    seeds = device.tensor([S, 2], list.flatMap((s) => seedKey(s)), 'u32');
    ownSeeds = true;
  }
  const { P } = state;
  const out = device.empty(options.seed !== undefined ? [P] : [S, P]);
  const kEff = effectiveRank(state);
  const lowRank = !options.diagonalOnly && kEff >= 2;
  if (P > 0 && S > 0) {
    const kernel = await device.kernel(sampleSpec(lowRank));
    const groupsPerSample = ceilDiv(ceilDiv(P, 4), SWAG_SAMPLE_WORKGROUP);
    const params = packParams([
      { u32: P }, { u32: S }, { u32: lowRank ? kEff : 0 }, { u32: groupsPerSample }, { u32: offset },
      { f32: Math.sqrt(scale) }, { f32: lowRank ? Math.sqrt(scale / (kEff - 1)) : 0 }, { f32: eps },
    ]);
    const args = [state.mean, state.sqMean, ...(lowRank ? [state.deviations] : []), seeds, out, params];
    device.dispatch(kernel, args, foldGrid(groupsPerSample * S, device.limits.maxComputeWorkgroupsPerDimension));
  }
  if (ownSeeds) seeds.release();
  return out;
}
