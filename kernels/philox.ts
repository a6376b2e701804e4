/**
 * Philox4x32-10, the counter-based generator of Salmon et al. (SC 2011), in WGSL, and the
 * generators built on it. Counter-based means element i's randomness is a pure function of
 * (key, counter): kernels draw it wherever they need it, in any order, with no state to carry.
 *
 * Layout (shared with the CPU reference, kernels/cpu/philox.ts): key = the seed as two u32
 * words (low, high); element i of a generator is word i mod 4 of
 * philox(counter = (i div 4, offset, stream, 0), key). `stream` separates independent uses under
 * one seed (SWAG's z₁ and z₂, dropout layers); `offset` separates steps (a training step counter).
 */
import type { Device } from '../runtime/device.ts';
import { KernelError, ShapeError } from '../runtime/errors.ts';
import { ceilDiv, foldGrid } from '../runtime/grid.ts';
import type { BindingKind, KernelSpec } from '../runtime/kernel.ts';
import { type DType, type Tensor, sizeOf } from '../runtime/tensor.ts';
import { FLAT_WORKGROUP_WGSL, packParams } from './params.ts';

/**
 * WGSL: `philox4x32_10(counter, key)`, `philox_uniform(bits)` in (0, 1), and
 * `philox_normals(bits)` (four standard normals by Box–Muller). Rounds are unrolled: no loop
 * counts against llvmpipe's per-invocation loop limit.
 */
export const PHILOX_WGSL = /* wgsl */ `
const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a·b, from 16-bit halves: WGSL has no 64-bit integers.
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return a_hi * b_hi + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  let hi0 = philox_mulhi(PHILOX_M0, c.x);
  let hi1 = philox_mulhi(PHILOX_M1, c.z);
  return vec4<u32>(hi1 ^ c.y ^ k.x, PHILOX_M1 * c.z, hi0 ^ c.w ^ k.y, PHILOX_M0 * c.x);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  let bump = vec2<u32>(PHILOX_W0, PHILOX_W1);
  var c = philox_round(counter, key);
  c = philox_round(c, key + bump);
  c = philox_round(c, key + 2u * bump);
  c = philox_round(c, key + 3u * bump);
  c = philox_round(c, key + 4u * bump);
  c = philox_round(c, key + 5u * bump);
  c = philox_round(c, key + 6u * bump);
  c = philox_round(c, key + 7u * bump);
  c = philox_round(c, key + 8u * bump);
  return philox_round(c, key + 9u * bump);
}

// (k + 1/2)·2^-23 for the top 23 bits k: exact in f32 and strictly inside (0, 1).
fn philox_uniform(bits: u32) -> f32 {
  return (f32(bits >> 9u) + 0.5) * 1.1920928955078125e-7;
}

// ln(u) for u in (0, 1), accurate near 1 where GPU log loses relative precision (and with it
// the small Box–Muller radii): there ln u = 2·atanh(s), s = (u−1)/(u+1), with u−1 exact.
fn philox_log(u: f32) -> f32 {
  if (u < 0.9) { return log(u); }
  let s = (u - 1.0) / (u + 1.0);
  let s2 = s * s;
  return 2.0 * s * (1.0 + s2 * (0.3333333333 + s2 * (0.2 + s2 * 0.1428571429)));
}

// Box–Muller: two (radius, angle) pairs give four standard normals. The angle spans
// [-π, π), where GPU sin and cos are most accurate.
fn philox_normals(bits: vec4<u32>) -> vec4<f32> {
  let r0 = sqrt(-2.0 * philox_log(philox_uniform(bits.x)));
  let t0 = 6.283185307179586 * (philox_uniform(bits.y) - 0.5);
  let r1 = sqrt(-2.0 * philox_log(philox_uniform(bits.z)));
  let t1 = 6.283185307179586 * (philox_uniform(bits.w) - 0.5);
  return vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
}
`;

/** A seed: a non-negative integer below 2⁵³, or its two u32 words [low, high]. */
export type Seed = number | readonly [number, number];

/** The Philox key for a seed. */
export function seedKey(seed: Seed): [number, number] {
  if (typeof seed !== 'number') return [seed[0] >>> 0, seed[1] >>> 0];
  if (!Number.isSafeInteger(seed) || seed < 0) throw new KernelError(`a seed must be a non-negative integer below 2^53, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

export interface RandomOptions {
  seed: Seed;
  /** Independent sequence under the same seed (default 0). */
  stream?: number;
  /** Step counter: a new offset gives new numbers from the same seed and stream (default 0). */
  offset?: number;
}

/** What a generator kernel writes per element. */
export type RandomKind = 'bits' | 'uniform' | 'normal' | 'bernoulli' | 'dropout';

export const RANDOM_WORKGROUP = 64;

/** WGSL of a generator: one invocation per block of four elements, one Philox call. */
export function randomWgsl(kind: RandomKind): string {
  const outType = kind === 'bits' ? 'u32' : 'f32';
  const value = {
    bits: 'bits',
    uniform: 'vec4<f32>(philox_uniform(bits.x), philox_uniform(bits.y), philox_uniform(bits.z), philox_uniform(bits.w))',
    normal: 'params.a + params.b * philox_normals(bits)',
    bernoulli: 'keep(bits)',
    dropout: 'keep(bits)',
  }[kind];
  const inputs = kind === 'dropout' ? '@group(0) @binding(0) var<storage, read> x: array<f32>;\n' : '';
  const b = kind === 'dropout' ? 1 : 0;
  const keep =
    kind === 'bernoulli' || kind === 'dropout'
      ? `
// 1/(1-p) where uniform < 1-p (params.a = 1-p, params.b = 1/(1-p)), else 0.
fn keep(bits: vec4<u32>) -> vec4<f32> {
  let u = vec4<f32>(philox_uniform(bits.x), philox_uniform(bits.y), philox_uniform(bits.z), philox_uniform(bits.w));
  return select(vec4<f32>(0.0), vec4<f32>(params.b), u < vec4<f32>(params.a));
}
`
      : '';
  const store = kind === 'dropout' ? 'x[i] * v[lane]' : 'v[lane]';
  return `// swaglet philox: ${kind}
struct Params {
  n: u32,
  offset: u32,
  stream: u32,
  key_lo: u32,
  key_hi: u32,
  a: f32,
  b: f32,
}
${inputs}@group(0) @binding(${b}) var<storage, read_write> out: array<${outType}>;
@group(0) @binding(${b + 1}) var<uniform> params: Params;
${PHILOX_WGSL}
${FLAT_WORKGROUP_WGSL.trim()}
${keep}
@compute @workgroup_size(${RANDOM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let block = flat_workgroup(wid, nwg) * ${RANDOM_WORKGROUP}u + lid;
  if (block >= (params.n + 3u) / 4u) { return; }
  let bits = philox4x32_10(vec4<u32>(block, params.offset, params.stream, 0u), vec2<u32>(params.key_lo, params.key_hi));
  let v = ${value};
  for (var lane = 0u; lane < 4u; lane++) {
    let i = block * 4u + lane;
    if (i < params.n) { out[i] = ${store}; }
  }
}
`;
}

const specs = new Map<RandomKind, KernelSpec>();

export function randomSpec(kind: RandomKind): KernelSpec {
  let spec = specs.get(kind);
  if (!spec) {
    const bindings: BindingKind[] = kind === 'dropout' ? ['read', 'read_write', 'uniform'] : ['read_write', 'uniform'];
    spec = { label: `philox.${kind}`, wgsl: randomWgsl(kind), bindings };
    specs.set(kind, spec);
  }
  return spec;
}

async function generate(device: Device, kind: RandomKind, out: Tensor, options: RandomOptions, a = 0, b = 0, input?: Tensor): Promise<Tensor> {
  const kernel = await device.kernel(randomSpec(kind));
  const [keyLo, keyHi] = seedKey(options.seed);
  const n = out.size;
  if (n >= 2 ** 32 - 3) throw new ShapeError(`random: ${n} elements exceed the 32-bit counter`);
  const params = packParams([
    { u32: n }, { u32: options.offset ?? 0 }, { u32: options.stream ?? 0 }, { u32: keyLo }, { u32: keyHi }, { f32: a }, { f32: b },
  ]);
  const args = input ? [input, out, params] : [out, params];
  device.dispatch(kernel, args, foldGrid(ceilDiv(ceilDiv(n, 4), RANDOM_WORKGROUP), device.limits.maxComputeWorkgroupsPerDimension));
  return out;
}

/** Raw Philox words (u32), for tests and for kernels that derive their own distributions. */
export async function randomBits(device: Device, shape: readonly number[], options: RandomOptions): Promise<Tensor<'u32'>> {
  return generate(device, 'bits', device.empty(shape, 'u32' as DType), options) as Promise<Tensor<'u32'>>;
}

/** Uniform f32 in (0, 1), never 0 or 1. */
export async function randomUniform(device: Device, shape: readonly number[], options: RandomOptions): Promise<Tensor> {
  return generate(device, 'uniform', device.empty(shape), options);
}

/** Normal f32 with the given mean and standard deviation (default 0 and 1), by Box–Muller. */
export async function randomNormal(device: Device, shape: readonly number[], options: RandomOptions & { mean?: number; std?: number }): Promise<Tensor> {
  return generate(device, 'normal', device.empty(shape), options, options.mean ?? 0, options.std ?? 1);
}

function keepProbability(p: number): [number, number] {
  if (!(p >= 0 && p <= 1)) throw new KernelError(`a drop probability must lie in [0, 1], got ${p}`);
  return [1 - p, p >= 1 ? 0 : 1 / (1 - p)];
}

/** Dropout mask: 1/(1−p) with probability 1−p, else 0 (inverted dropout, so E[mask] = 1). */
export async function bernoulliMask(device: Device, shape: readonly number[], options: RandomOptions & { p: number }): Promise<Tensor> {
  return generate(device, 'bernoulli', device.empty(shape), options, ...keepProbability(options.p));
}

/**
 * x ⊙ mask with the mask `bernoulliMask` draws for the same seed, stream and offset; its
 * backward pass is the same call on the upstream gradient.
 */
export async function dropout(device: Device, x: Tensor, options: RandomOptions & { p: number }): Promise<Tensor> {
  if (x.dtype !== 'f32') throw new KernelError(`dropout: expected an f32 tensor, got ${x}`);
  if (sizeOf(x.shape) === 0) return device.empty(x.shape);
  return generate(device, 'dropout', device.empty(x.shape), options, ...keepProbability(options.p), x);
}
