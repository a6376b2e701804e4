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
  let fn = e.fn.replace(/\blow_rank_product\[([^\]]*)\]/g, 'low_rank_dot($1)');
  // Four elements per invocation when the epilogue reads the product at its own element only:
  // the K coefficients are loaded once for four columns, as kernels/swag.ts does.
  const wide = K <= UNROLL_MAX_RANK && (fn.match(/low_rank_dot\(/g) ?? []).length === 1 && fn.includes('low_rank_dot(i)');
  const perGroup = wide ? 4 * ELEMENTWISE_WORKGROUP : ELEMENTWISE_WORKGROUP;
  if (wide) fn = fn.replace('low_rank_dot(i)', 'low_rank_value').replace(/^fn value\(i: u32\)/m, 'fn value(i: u32, low_rank_value: f32)');
  const shared = sharedNormals(fn, perGroup);
  const hoisted = hoistUniform(shared.fn);
  fn = hoisted.fn;
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
    ...shared.declarations,
    ...hoisted.declarations,
    c.fn,
    wide ? lowRankDot4(K) : lowRankDot(K),
    fn,
    `@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,\n        @builtin(local_invocation_index) lid: u32) {\n` +
      `  let base = flat_workgroup(wid, nwg) * ${perGroup}u;\n` +
      `  if (lid < ${K}u) { low_rank_coef[lid] = coef(lid); }\n${shared.fill}${hoisted.fill}  workgroupBarrier();\n` +
      (wide
        ? `  let i0 = base + lid * 4u;\n  if (i0 >= params.n) { return; }\n  let d = low_rank_dot4(i0);\n` +
          [0, 1, 2, 3].map((q) => `  if (i0 + ${q}u < params.n) { out[i0 + ${q}u] = value(i0 + ${q}u, d[${q}]); }`).join('\n') + '\n}'
        : `  let i = base + lid;\n  if (i >= params.n) { return; }\n  out[i] = value(i);\n}`),
  ].join('\n\n');
  const kinds: BindingKind[] = ['read', ...reads.map((): BindingKind => 'read'), 'read_write', 'uniform'];
  return {
    spec: { label, wgsl: `${wgsl}\n`, bindings: kinds },
    uniform: packParams(fields.map(([, v]): ParamField => ({ u32: v }))),
    workgroups: foldGrid(ceilDiv(n, perGroup), maxWorkgroupsPerDimension),
  };
}

/** Columns j0 … j0 + 3 of c·B (clamped at the last column; the caller stores only those that exist), each summed as low_rank_dot does. */
function lowRankDot4(K: number): string {
  const terms = Array.from({ length: K }, (_, k) => `  acc += vec4<f32>(in_0[${k}u * params.cols + j.x], in_0[${k}u * params.cols + j.y], in_0[${k}u * params.cols + j.z], in_0[${k}u * params.cols + j.w]) * low_rank_coef[${k}];`);
  return `// Columns j0 … j0 + 3 of c·B: the K rows in order, from 0.0, written out.\nfn low_rank_dot4(j0: u32) -> vec4<f32> {\n  let last = params.cols - 1u;\n  let j = vec4<u32>(min(j0, last), min(j0 + 1u, last), min(j0 + 2u, last), min(j0 + 3u, last));\n  var acc = vec4<f32>(0.0);\n${terms.join('\n')}\n  return acc;\n}`;
}

/**
 * The epilogue's per-element standard normals (SWAG's z₁: `random_normal(i, stream, seed)` with
 * a seed read at a fixed index) drawn a Philox block at a time: invocation q < wg/4 (wg: the
 * elements of one workgroup)
 * computes the four normals of block base/4 + q into workgroup memory, so each block's Philox
 * rounds run once, not once per lane (4× less work; the same bits, as philox_normals and
 * random_normal compute the same operations on the same words).
 */
function sharedNormals(fn: string, wg: number): { fn: string; declarations: string[]; fill: string } {
  const declarations: string[] = [];
  let fill = '';
  if (wg % 4 !== 0) return { fn, declarations, fill };
  const seen = new Map<string, string>();
  const out = fn.replace(/random_normal\(i, (\d+)u, (v\d+)\)/g, (call, stream: string, seedVar: string) => {
    // The seed must be the same for every element: a read at a constant index.
    const def = new RegExp(`let ${seedVar}: i32 = ([A-Za-z_][A-Za-z0-9_]*\\[\\d+u?\\]);`).exec(fn);
    if (!def) return call;
    const key = `${stream}|${def[1]}`;
    let name = seen.get(key);
    if (!name) {
      name = `shared_normal_${seen.size}`;
      seen.set(key, name);
      declarations.push(`var<workgroup> ${name}: array<f32, ${wg}>;`);
      fill +=
        `  if (lid < ${wg / 4}u) {\n` +
        `    let z = philox_normals(philox4x32_10(vec4<u32>(base / 4u + lid, 0u, ${stream}u, 0u), vec2<u32>(bitcast<u32>(${def[1]}), 0u)));\n` +
        `    for (var q = 0u; q < 4u; q++) { ${name}[lid * 4u + q] = z[q]; }\n` +
        '  }\n';
    }
    return `${name}[i % ${wg}u]`;
  });
  return { fn: out, declarations, fill };
}

/** Largest K whose dot product is written out term by term (constant row offsets and coefficient slots). */
const UNROLL_MAX_RANK = 64;

/** Column j of c·B: the K rows in order, from 0.0 (unrolled for small K: every address but j's is a constant). */
function lowRankDot(K: number): string {
  if (K > UNROLL_MAX_RANK) {
    return `// Column j of c·B: the K rows in order, from 0.0.\nfn low_rank_dot(j: u32) -> f32 {\n  var acc = 0.0;\n  for (var k = 0u; k < ${K}u; k++) {\n    acc += in_0[k * params.cols + j] * low_rank_coef[k];\n  }\n  return acc;\n}`;
  }
  const terms = Array.from({ length: K }, (_, k) => `  acc += in_0[${k}u * params.cols + j] * low_rank_coef[${k}];`);
  return `// Column j of c·B: the K rows in order, from 0.0, written out.\nfn low_rank_dot(j: u32) -> f32 {\n  var acc = 0.0;\n${terms.join('\n')}\n  return acc;\n}`;
}

/**
 * The epilogue's statements that do not depend on the element (SWAG's K_eff = sum(filled) and
 * the scales made of it) computed once per workgroup: invocation 0 evaluates them before the
 * barrier into workgroup variables, which the per-element function then reads. A statement
 * depends on the element if it names `i` or a statement that does.
 */
function hoistUniform(fn: string): { fn: string; declarations: string[]; fill: string } {
  const lines = fn.split('\n');
  // `fn value(i: u32)`, or `fn value(i: u32, low_rank_value: f32)` four elements per invocation.
  const open = lines.findIndex((l) => /^fn value\(i: u32[,)]/.test(l));
  const close = lines.lastIndexOf('}');
  if (open < 0 || close <= open) return { fn, declarations: [], fill: '' };
  // Statements: a `let`/`var` line, with the `for` lines that follow a `var` (a reduction loop).
  const groups: { name: string | undefined; type: string | undefined; lines: string[] }[] = [];
  for (const line of lines.slice(open + 1, close)) {
    const def = /^\s*(?:let|var) (v\d+): (f32|i32|u32|bool)\s*=/.exec(line);
    if (def) groups.push({ name: def[1], type: def[2], lines: [line] });
    else if (/^\s*for \(/.test(line) && groups.length) groups[groups.length - 1]!.lines.push(line);
    else groups.push({ name: undefined, type: undefined, lines: [line] });
  }
  const dependent = new Set<string>();
  const uniform: typeof groups = [];
  const kept: typeof groups = [];
  for (const g of groups) {
    const text = g.lines.join('\n');
    const depends = !g.name || /\bi\b/.test(text) || /low_rank_dot|low_rank_value|shared_normal|return/.test(text) || [...dependent].some((v) => new RegExp(`\\b${v}\\b`).test(text));
    if (depends) {
      if (g.name) dependent.add(g.name);
      kept.push(g);
    } else uniform.push(g);
  }
  if (!uniform.length) return { fn, declarations: [], fill: '' };
  const keptText = kept.map((g) => g.lines.join('\n')).join('\n');
  const used = uniform.filter((g) => new RegExp(`\\b${g.name}\\b`).test(keptText));
  if (!used.length) return { fn, declarations: [], fill: '' };
  let body = keptText;
  for (const g of used) body = body.replace(new RegExp(`\\b${g.name}\\b`, 'g'), `hoisted_${g.name}`);
  const declarations = used.map((g) => `var<workgroup> hoisted_${g.name}: ${g.type};`);
  const hoistedFn = [
    '// The statements of value(i) that are the same for every element, once per workgroup.',
    'fn hoisted_values() {',
    ...uniform.flatMap((g) => g.lines),
    ...used.map((g) => `  hoisted_${g.name} = ${g.name};`),
    '}',
  ].join('\n');
  const out = [...lines.slice(0, open + 1), body, ...lines.slice(close)].join('\n');
  return { fn: `${hoistedFn}\n\n${out}`, declarations, fill: '  if (lid == 0u) { hoisted_values(); }\n' };
}

