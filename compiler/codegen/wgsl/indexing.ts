/**
 * Indexing kernels: gather (embedding lookup) and its gradient scatterAdd, plus the region copy
 * that lays a concat's operands side by side. Copies move raw 32-bit words, so one kernel serves
 * f32 and i32 data alike.
 *
 * scatterAdd is deterministic: each output element loops over the ids in order and adds the
 * updates of the rows that hit it (no float atomics in WGSL, and the same sum every run). Long
 * id lists are split into chunks of at most SCATTER_CHUNK ids, each writing its own partial
 * table (llvmpipe's loop limit), summed afterwards.
 */
import { MAX_LOOP_ITERATIONS_PER_INVOCATION } from '../../../kernels/limits.ts';
import { FLAT_WORKGROUP_WGSL, packParams } from '../../../kernels/params.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { EmittedKernel } from './elementwise.ts';

const WORKGROUP = 256;

/** Ids one scatterAdd invocation loops over at most. */
export const SCATTER_CHUNK = Math.floor(MAX_LOOP_ITERATIONS_PER_INVOCATION / 2);

const ENTRY = `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * ${WORKGROUP}u + lid;`;

/** out[r, j] = table[ids[r], j] (0 for an id outside the table). Bindings: table, ids, out, uniform. */
export function gatherKernel(ids: number, d: number, rows: number, label: string, maxWorkgroups: number): EmittedKernel {
  const wgsl = `// swaglet gather: out[r, j] = table[ids[r], j], 32-bit words
struct Params {
  n: u32,
  d: u32,
  rows: u32,
}
@group(0) @binding(0) var<storage, read> table: array<u32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

${ENTRY}
  if (i >= params.n * params.d) { return; }
  let id = ids[i / params.d];
  if (id < 0i || u32(id) >= params.rows) {
    out[i] = 0u;
  } else {
    out[i] = table[u32(id) * params.d + i % params.d];
  }
}
`;
  return {
    spec: { label, wgsl, bindings: ['read', 'read', 'read_write', 'uniform'] },
    uniform: packParams([{ u32: ids }, { u32: d }, { u32: rows }]),
    workgroups: foldGrid(ceilDiv(ids * d, WORKGROUP), maxWorkgroups),
  };
}

/**
 * out[offset + r·d + j] = Σ over ids i in [begin, end) with ids[i] = r of updates[i, j].
 * Bindings: updates, ids, out, uniform.
 */
export function scatterAddKernel(rows: number, d: number, begin: number, end: number, offset: number, label: string, maxWorkgroups: number): EmittedKernel {
  const wgsl = `// swaglet scatterAdd: out[r, j] = Σ_{i: ids[i] = r} updates[i, j], ids in order (deterministic)
struct Params {
  rows: u32,
  d: u32,
  begin: u32,
  end: u32,
  offset: u32,
}
@group(0) @binding(0) var<storage, read> updates: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

${ENTRY}
  if (i >= params.rows * params.d) { return; }
  let r = i32(i / params.d);
  let j = i % params.d;
  var acc = 0.0;
  for (var k = params.begin; k < params.end; k++) {
    if (ids[k] == r) { acc += updates[k * params.d + j]; }
  }
  out[params.offset + i] = acc;
}
`;
  return {
    spec: { label, wgsl, bindings: ['read', 'read', 'read_write', 'uniform'] },
    uniform: packParams([{ u32: rows }, { u32: d }, { u32: begin }, { u32: end }, { u32: offset }]),
    workgroups: foldGrid(ceilDiv(rows * d, WORKGROUP), maxWorkgroups),
  };
}

/**
 * Writes one concat operand — [outer, extent, inner] — into its place along the axis of the
 * output [outer, total, inner], starting at `start`. With `fill`, writes that word instead of
 * reading a source (a constant operand). Bindings: [src], dst, uniform.
 */
export function regionCopyKernel(dims: { outer: number; extent: number; inner: number; total: number; start: number }, fill: number | undefined, label: string, maxWorkgroups: number): EmittedKernel {
  const n = dims.outer * dims.extent * dims.inner;
  const source = fill === undefined;
  const wgsl = `// swaglet concat part: ${source ? 'copy an operand' : 'fill a constant'} into [outer, start..start+extent, inner] of the output, 32-bit words
struct Params {
  n: u32,
  extent_inner: u32,
  total_inner: u32,
  start_inner: u32,
  word: u32,
}
${source ? '@group(0) @binding(0) var<storage, read> src: array<u32>;\n' : ''}@group(0) @binding(${source ? 1 : 0}) var<storage, read_write> dst: array<u32>;
@group(0) @binding(${source ? 2 : 1}) var<uniform> params: Params;
${FLAT_WORKGROUP_WGSL.trim()}

${ENTRY}
  if (i >= params.n) { return; }
  let o = i / params.extent_inner;
  let at = o * params.total_inner + params.start_inner + i % params.extent_inner;
  dst[at] = ${source ? 'src[i]' : 'params.word'};
}
`;
  const word = fill === undefined ? 0 : fill;
  return {
    spec: { label, wgsl, bindings: source ? ['read', 'read_write', 'uniform'] : ['read_write', 'uniform'] },
    uniform: packParams([{ u32: n }, { u32: dims.extent * dims.inner }, { u32: dims.total * dims.inner }, { u32: dims.start * dims.inner }, { u32: word }]),
    workgroups: foldGrid(ceilDiv(n, WORKGROUP), maxWorkgroups),
  };
}
