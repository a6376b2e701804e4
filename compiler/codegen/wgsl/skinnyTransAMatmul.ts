/**
 * WGSL for C [M, N] = alpha · Aᵀ·B with A [K, M] and B [K, N] (both stored K-major), where one
 * side of C is narrow (M or N ≤ SKINNY_MAX_N) and K is long: the weight gradients of a LoRA
 * adapter, gA = (g·B)ᵀ·x ([r, in]) and gB = gᵀ·u ([out, r]), which reduce over every token.
 *
 * The tiled library matmul gives such a product a handful of workgroups, each looping over all
 * of K with a tile that is mostly padding (measured 0.05–0.2 GFLOP/s on llvmpipe). Here one
 * invocation owns four consecutive elements along the wide side (one element when that side is
 * not a multiple of 4) and keeps one accumulator per narrow index. Each step of K reads the
 * wide operand's row k — neighbouring invocations read neighbouring memory — and the narrow
 * operand's row k, the same for every invocation.
 */
import { FLAT_WORKGROUP_WGSL, packParams } from '../../../kernels/params.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { EmittedKernel } from './elementwise.ts';
import { SKINNY_MAX_N } from './skinnyMatmul.ts';

export const SKINNY_TRANS_A_WORKGROUP = 64;

export interface SkinnyTransAMatmul {
  M: number;
  N: number;
  K: number;
  alpha: number;
}

/** Bindings a, b, c, uniform (as the library matmul's, without a2/b2/bias). */
export function skinnyTransAMatmulKernel(d: SkinnyTransAMatmul, label: string, maxWorkgroupsPerDimension: number): EmittedKernel {
  // The narrow side: C's rows (then A is the narrow operand) or, when N is no wider, C's columns.
  const narrowRows = d.M <= d.N;
  const S = narrowRows ? d.M : d.N;
  const W = narrowRows ? d.N : d.M;
  if (S < 1 || S > SKINNY_MAX_N) throw new Error(`${label}: the skinny Aᵀ·B takes 1..${SKINNY_MAX_N} rows or columns of C, got ${d.M}×${d.N}`);
  const wide = narrowRows ? 'b' : 'a';
  const narrow = narrowRows ? 'a' : 'b';
  const vec = W % 4 === 0;
  const narrowVec = S % 4 === 0;
  const wg = SKINNY_TRANS_A_WORKGROUP;
  const span = vec ? W / 4 : W;
  const elem = vec ? 'vec4<f32>' : 'f32';
  const idx = Array.from({ length: S }, (_, s) => s);
  const narrowAt = (s: number) => (narrowVec ? `n${s >> 2}.${'xyzw'[s & 3]}` : `${narrow}[row + ${s}u]`);
  // C [S, W] row-major when its rows are narrow (a whole vec4 per store when W divides by 4),
  // else C [W, S]: the four wide elements of an invocation are four rows.
  const cVec = narrowRows && vec;
  const store = (s: number): string[] => {
    if (narrowRows) return [`c[${s}u * params.wide + w] = params.alpha * acc${s};`];
    if (!vec) return [`c[w * ${S}u + ${s}u] = params.alpha * acc${s};`];
    return [0, 1, 2, 3].map((j) => `c[(4u * w + ${j}u) * ${S}u + ${s}u] = params.alpha * acc${s}.${'xyzw'[j]};`);
  };
  const wgsl = `// swaglet skinny matmul Aᵀ·B: C [${narrowRows ? `${S}, W` : `W, ${S}`}] = alpha · Aᵀ · B, A [K, ${narrowRows ? S : 'W'}], B [K, ${narrowRows ? 'W' : S}]; one invocation per ${vec ? 'four elements' : 'element'} of the wide side
struct Params {
  wide: u32,
  k: u32,
  alpha: f32,
}
@group(0) @binding(0) var<storage, read> a: array<${narrowRows ? (narrowVec ? 'vec4<f32>' : 'f32') : elem}>;
@group(0) @binding(1) var<storage, read> b: array<${narrowRows ? elem : narrowVec ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(2) var<storage, read_write> c: array<${cVec ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = flat_workgroup(wid, nwg) * ${wg}u + lid;
  if (w >= params.wide) { return; }
${idx.map((s) => `  var acc${s} = ${elem}();`).join('\n')}
  for (var k = 0u; k < params.k; k++) {
    let x = ${wide}[k * params.wide + w];
    let row = k * ${narrowVec ? S / 4 : S}u;
${narrowVec ? Array.from({ length: S / 4 }, (_, g) => `    let n${g} = ${narrow}[row + ${g}u];`).join('\n') + '\n' : ''}${idx.map((s) => `    acc${s} += x * ${narrowAt(s)};`).join('\n')}
  }
${idx.flatMap(store).map((l) => `  ${l}`).join('\n')}
}
`;
  return {
    spec: { label: `${label} [skinnyTA.${narrowRows ? 'm' : 'n'}${S}${vec ? '.v4' : ''}]`, wgsl, bindings: ['read', 'read', 'read_write', 'uniform'] },
    // `wide` counts vec4s when the wide side is read four at a time.
    uniform: packParams([{ u32: span }, { u32: d.K }, { f32: d.alpha }]),
    workgroups: foldGrid(ceilDiv(span, wg), maxWorkgroupsPerDimension),
  };
}
