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
/** Rows of C per invocation for tall products. */
export const SKINNY_ROWS = 4;

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
  // Several rows per invocation when that still leaves two workgroups: every load of B (the
  // same for all invocations, yet a loop over the SIMD lanes on llvmpipe like any other load)
  // then serves R rows.
  const R = d.M >= 2 * SKINNY_ROWS * wg ? SKINNY_ROWS : 1;
  const rows = Array.from({ length: R }, (_, i) => i);
  const bAt = (n: number) => (d.transB ? `b[${n}u * params.k + k]` : `b[k * ${d.N}u + ${n}u]`);
  const body = [
    ...rows.map((i) => `let x${i} = a[row${i} + k];`),
    ...(vecRows
      ? [
          `let brow = k * ${d.N}u;`,
          ...[0, 1, 2, 3].flatMap((j) => groups.flatMap((g) => [
            `let w${j}_${g} = b[brow + ${j * (d.N / 4) + g}u];`,
            ...rows.map((i) => `acc${i}_${g} += x${i}.${'xyzw'[j]} * w${j}_${g};`),
          ])),
        ]
      : cols.flatMap((n) => [`let w${n} = ${bAt(n)};`, ...rows.map((i) => (vec ? `acc${i}_${n} += dot(x${i}, w${n});` : `acc${i}_${n} += x${i} * w${n};`))])),
  ];
  const accs = rows.flatMap((i) => (vecRows ? groups.map((g) => `  var acc${i}_${g} = vec4<f32>();`) : cols.map((n) => `  var acc${i}_${n} = 0.0;`)));
  const storesOf = (i: number) =>
    vecRows
      ? groups.flatMap((g) => [0, 1, 2, 3].map((j) => `c[(m0 + ${i}u) * ${d.N}u + ${4 * g + j}u] = params.alpha * acc${i}_${g}.${'xyzw'[j]};`))
      : cols.map((n) => `c[(m0 + ${i}u) * ${d.N}u + ${n}u] = params.alpha * acc${i}_${n};`);
  const stores = rows.flatMap((i) => (i === 0 ? storesOf(i).map((l) => `  ${l}`) : [`  if (m0 + ${i}u < params.m) {`, ...storesOf(i).map((l) => `    ${l}`), '  }']));
  const wgsl = `// swaglet skinny matmul: C [M, ${d.N}] = alpha · A [M, K] · ${d.transB ? 'Bᵀ, B [N, K]' : 'B [K, N]'}; one invocation per ${R === 1 ? 'row' : `${R} rows`} of C${vec || vecRows ? ', K read as vec4' : ''}
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
  let m0 = (flat_workgroup(wid, nwg) * ${wg}u + lid) * ${R}u;
  if (m0 >= params.m) { return; }
${rows.map((i) => `  let row${i} = ${i === 0 ? 'm0' : `min(m0 + ${i}u, params.m - 1u)`} * params.k;`).join('\n')}
${accs.join('\n')}
  for (var k = 0u; k < params.k; k++) {
${body.map((l) => `    ${l}`).join('\n')}
  }
${stores.join('\n')}
}
`;
  return {
    spec: { label: `${label} [skinny.n${d.N}${d.transB ? '.tB' : '.nB'}${vec || vecRows ? '.v4' : ''}${R > 1 ? `.r${R}` : ''}]`, wgsl, bindings: ['read', 'read', 'read_write', 'uniform'] },
    // k counts vec4s when the rows are read four at a time.
    uniform: packParams([{ u32: d.M }, { u32: vec || vecRows ? d.K / 4 : d.K }, { f32: d.alpha }]),
    workgroups: foldGrid(ceilDiv(d.M, wg * R), maxWorkgroupsPerDimension),
  };
}
