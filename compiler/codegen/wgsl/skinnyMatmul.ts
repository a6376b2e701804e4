/**
 * WGSL for a skinny matmul C [M, N] = alpha · op(A) [M, K] · op(B) [K, N] with few output
 * columns (N ≤ SKINNY_MAX_N): LoRA's `u = x·Aᵀ` (N = r) and its gradients' `g·B` products.
 *
 * The tiled library matmul gives such a product a handful of workgroups (a 32-row tile holds
 * all of it), so most of the machine idles. Here one invocation owns one output row: N
 * accumulators in registers, one pass over K reading its row of A once (four elements at a time
 * when B is [N, K] and K divides by 4) and B, the same for every invocation of a workgroup.
 * (Splitting K over a workgroup and adding partial sums after a barrier was slower on llvmpipe.)
 * A is read untransposed (row m contiguous); B either way (`transB`: B is [N, K]).
 */
import { FLAT_WORKGROUP_WGSL, packParams } from '../../../kernels/params.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { EmittedKernel } from './elementwise.ts';

/** Widest output the skinny kernel takes (accumulators per invocation). */
export const SKINNY_MAX_N = 16;
export const SKINNY_WORKGROUP = 64;

export interface SkinnyMatmul {
  M: number;
  N: number;
  K: number;
  transB: boolean;
  alpha: number;
}

/** Bindings a, b, c, uniform (as the library matmul's, without a2/b2/bias). */
export function skinnyMatmulKernel(d: SkinnyMatmul, label: string, maxWorkgroupsPerDimension: number): EmittedKernel {
  if (d.N < 1 || d.N > SKINNY_MAX_N) throw new Error(`${label}: the skinny matmul takes 1..${SKINNY_MAX_N} output columns, got ${d.N}`);
  const cols = Array.from({ length: d.N }, (_, n) => n);
  const wg = SKINNY_WORKGROUP;
  // With K a multiple of 4 and B as [N, K], rows of A and B are read four elements at a time.
  const vec = d.transB && d.K % 4 === 0;
  // With B as [K, N] and K, N multiples of 4: A four elements of K at a time, B's rows k..k+3
  // as vec4 groups of columns, one accumulator per group (a per-element load of A was most of
  // the cost: neighbouring invocations read rows K apart).
  const vecRows = !d.transB && d.K % 4 === 0 && d.N % 4 === 0;
  const groups = Array.from({ length: d.N / 4 }, (_, g) => g);
  const elem = vec || vecRows ? 'vec4<f32>' : 'f32';
  const bAt = (n: number) => (vec ? `b[${n}u * params.k + k]` : d.transB ? `b[${n}u * params.k + k]` : `b[k * ${d.N}u + ${n}u]`);
  const acc = (n: number) => (vec ? `acc${n} += dot(x, ${bAt(n)});` : `acc${n} += x * ${bAt(n)};`);
  const body = vecRows
    ? [
        `let x = a[row + k];`,
        `let brow = k * ${d.N}u;`,
        ...[0, 1, 2, 3].flatMap((j) => groups.map((g) => `acc${g} += x.${'xyzw'[j]} * b[brow + ${j * (d.N / 4) + g}u];`)),
      ]
    : [`let x = a[row + k];`, ...cols.map(acc)];
  const accs = vecRows ? groups.map((g) => `  var acc${g} = vec4<f32>();`) : cols.map((n) => `  var acc${n} = 0.0;`);
  const stores = vecRows
    ? groups.flatMap((g) => [0, 1, 2, 3].map((j) => `  c[m * ${d.N}u + ${4 * g + j}u] = params.alpha * acc${g}.${'xyzw'[j]};`))
    : cols.map((n) => `  c[m * ${d.N}u + ${n}u] = params.alpha * acc${n};`);
  const wgsl = `// swaglet skinny matmul: C [M, ${d.N}] = alpha · A [M, K] · ${d.transB ? 'Bᵀ, B [N, K]' : 'B [K, N]'}; one invocation per row of C${vec || vecRows ? ', K read as vec4' : ''}
struct Params {
  m: u32,
  k: u32,
  alpha: f32,
}
@group(0) @binding(0) var<storage, read> a: array<${elem}>;
@group(0) @binding(1) var<storage, read> b: array<${elem}>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let m = flat_workgroup(wid, nwg) * ${wg}u + lid;
  if (m >= params.m) { return; }
  let row = m * params.k;
${accs.join('\n')}
  for (var k = 0u; k < params.k; k++) {
${body.map((l) => `    ${l}`).join('\n')}
  }
${stores.join('\n')}
}
`;
  return {
    spec: { label: `${label} [skinny.n${d.N}${d.transB ? '.tB' : '.nB'}${vec || vecRows ? '.v4' : ''}]`, wgsl, bindings: ['read', 'read', 'read_write', 'uniform'] },
    // k counts vec4s when the rows are read four at a time.
    uniform: packParams([{ u32: d.M }, { u32: vec || vecRows ? d.K / 4 : d.K }, { f32: d.alpha }]),
    workgroups: foldGrid(ceilDiv(d.M, wg), maxWorkgroupsPerDimension),
  };
}
