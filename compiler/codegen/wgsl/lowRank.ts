/**
 * WGSL for `fusedLowRank(B [K, N], reads...) {coef, epilogue}`: out[i] = epilogue(i), where the
 * epilogue's operand $0 is the product c·B [1, N] and c [K] comes from the `coef` body (SWAG's
 * sampler: c = z₂, Philox normals, and the epilogue adds the mean and the diagonal part).
 *
 * Each workgroup computes the K coefficients once into workgroup memory (invocation j < K computes
 * c_j; the coefficient body may draw noise, so every workgroup draws the same c), then each
 * invocation does its own K-term dot product with column i of B — K ≤ the workgroup size, so one
 * coefficient per invocation and at most K loop iterations per invocation (the llvmpipe loop limit).
 * The sum runs over rows j = 0, 1, ... from 0.0, as kernels/swag.ts does, so the two samplers
 * agree bit for bit given the same seed.
 */
import { FLAT_WORKGROUP_WGSL, packParams, type ParamField } from '../../../kernels/params.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { BindingKind } from '../../../abi/kernel.ts';
import { MAX_LOW_RANK, numel, printBody, type FusedBody, type TypeInfo } from '../../ir/index.ts';
import { ELEMENTWISE_WORKGROUP, bodyFunction, uniqueHelpers, type EmittedKernel } from './elementwise.ts';


export function lowRankKernel(coef: FusedBody, epilogue: FusedBody, factor: TypeInfo, reads: readonly TypeInfo[], label: string, maxWorkgroupsPerDimension: number): EmittedKernel {
  const [K, N] = factor.shape as [number, number];
  if (K > MAX_LOW_RANK || K > ELEMENTWISE_WORKGROUP) throw new Error(`${label}: rank ${K} exceeds the low-rank kernel's ${MAX_LOW_RANK}`);
  const readName = (k: number) => `in_${k + 1}`;
  const c = bodyFunction(coef, reads, { name: 'coef', prefix: 'c_', arrayName: readName });
  const dot: TypeInfo = { shape: [1, N], dtype: 'f32' };
  const e = bodyFunction(epilogue, [dot, ...reads], { name: 'value', prefix: 'e_', arrayName: (k) => (k === 0 ? 'low_rank_product' : readName(k - 1)) });
  // The product is not a buffer: each read of element j of it is the dot product for column j.
  const fn = e.fn.replace(/\blow_rank_product\[([^\]]*)\]/g, 'low_rank_dot($1)');
  const n = numel(e.result.shape);
  const fields: [string, number][] = [['n', n], ['cols', N], ...c.fields.map(([f, v]): [string, number] => [f, v]), ...e.fields.map(([f, v]): [string, number] => [f, v])];
  const bindings = [`@group(0) @binding(0) var<storage, read> in_0: array<f32>;`];
  reads.forEach((t, k) => bindings.push(`@group(0) @binding(${k + 1}) var<storage, read> ${readName(k)}: array<${t.dtype}>;`));
  bindings.push(`@group(0) @binding(${reads.length + 1}) var<storage, read_write> out: array<${e.result.dtype}>;`);
  bindings.push(`@group(0) @binding(${reads.length + 2}) var<uniform> params: Params;`);
  const wgsl = [
    `// swaglet fusedLowRank: out = epilogue(c·B), B [${K}, ${N}], c = ${printBody(coef)}\n// epilogue: ${printBody(epilogue)}`,
    `struct Params {\n${fields.map(([f]) => `  ${f}: u32,`).join('\n')}\n}`,
    bindings.join('\n'),
    FLAT_WORKGROUP_WGSL.trim(),
    ...uniqueHelpers(c.helpers, e.helpers),
    `var<workgroup> low_rank_coef: array<f32, ${K}>;`,
    c.fn,
    `// Column j of c·B: the K rows in order, from 0.0.\nfn low_rank_dot(j: u32) -> f32 {\n  var acc = 0.0;\n  for (var k = 0u; k < ${K}u; k++) {\n    acc += in_0[k * params.cols + j] * low_rank_coef[k];\n  }\n  return acc;\n}`,
    fn,
    `@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,\n        @builtin(local_invocation_index) lid: u32) {\n` +
      `  if (lid < ${K}u) { low_rank_coef[lid] = coef(lid); }\n  workgroupBarrier();\n` +
      `  let i = flat_workgroup(wid, nwg) * ${ELEMENTWISE_WORKGROUP}u + lid;\n  if (i >= params.n) { return; }\n  out[i] = value(i);\n}`,
  ].join('\n\n');
  const kinds: BindingKind[] = ['read', ...reads.map((): BindingKind => 'read'), 'read_write', 'uniform'];
  return {
    spec: { label, wgsl: `${wgsl}\n`, bindings: kinds },
    uniform: packParams(fields.map(([, v]): ParamField => ({ u32: v }))),
    workgroups: foldGrid(ceilDiv(n, ELEMENTWISE_WORKGROUP), maxWorkgroupsPerDimension),
  };
}
