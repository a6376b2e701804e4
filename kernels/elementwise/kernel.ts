import type { Device } from '../../runtime/device.ts';
import { KernelError, ShapeError, formatShape } from '../../runtime/errors.ts';
import { ceilDiv, foldGrid } from '../../runtime/grid.ts';
import type { BindingKind, KernelSpec } from '../../runtime/kernel.ts';
import { type Tensor, sizeOf } from '../../runtime/tensor.ts';
import { FLAT_WORKGROUP_WGSL, type ParamField, packParams } from '../params.ts';
import { type InputAccess, broadcastShapes, broadcastStrides, collapseLayout, inputAccess } from './broadcast.ts';
import { BUILTINS, type ExprNode, renderExpr, validateExpr } from './expr.ts';
import { helpersFor } from './ops.ts';

/** Everything the kernel text depends on; sizes, strides and scalar values live in the uniform. */
export interface ElementwiseConfig {
  /** WGSL expression over the input names and scalar names (`s0`, `s1`, …). */
  expr: string;
  names: readonly string[];
  access: readonly InputAccess[];
  /** Rank of the collapsed iteration space (1..6). */
  rank: number;
  scalarCount: number;
  /** Index of the input that is also the output (bound once, read_write), or -1. */
  inPlace: number;
  workgroupSize: number;
}

export const ELEMENTWISE_WORKGROUP = 256;

/** Default input names, by position. */
export const INPUT_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;

/** Uniform fields, in WGSL declaration order (the launcher packs the same order). */
function paramFields(config: ElementwiseConfig): { name: string; type: 'u32' | 'f32' }[] {
  const fields: { name: string; type: 'u32' | 'f32' }[] = [{ name: 'n', type: 'u32' }];
  const needsCoords = config.access.includes('strided');
  if (needsCoords) for (let d = 1; d < config.rank; d++) fields.push({ name: `size_${d}`, type: 'u32' });
  config.access.forEach((mode, k) => {
    if (mode === 'strided') for (let d = 0; d < config.rank; d++) fields.push({ name: `stride_${config.names[k]}_${d}`, type: 'u32' });
  });
  for (let s = 0; s < config.scalarCount; s++) fields.push({ name: `s${s}`, type: 'f32' });
  return fields;
}

/** WGSL text of an elementwise kernel: one invocation per output element. */
export function elementwiseWgsl(config: ElementwiseConfig): string {
  const { names, access, rank, inPlace } = config;
  const fields = paramFields(config);
  const lines: string[] = [];
  lines.push(`// swaglet elementwise: out = ${config.expr}`);
  lines.push(`struct Params {\n${fields.map((f) => `  ${f.name}: ${f.type},`).join('\n')}\n}`);
  const bindings: string[] = [];
  names.forEach((name, k) => {
    if (k !== inPlace) bindings.push(`@group(0) @binding(${bindings.length}) var<storage, read> in_${name}: array<f32>;`);
  });
  bindings.push(`@group(0) @binding(${bindings.length}) var<storage, read_write> out: array<f32>;`);
  bindings.push(`@group(0) @binding(${bindings.length}) var<uniform> params: Params;`);
  lines.push(bindings.join('\n'));
  lines.push(FLAT_WORKGROUP_WGSL.trim());
  lines.push(...helpersFor(config.expr).map((h) => h.trim()));
  const body: string[] = [];
  body.push(`  let i = flat_workgroup(wid, nwg) * ${config.workgroupSize}u + lid;`);
  body.push('  if (i >= params.n) { return; }');
  if (access.includes('strided')) {
    // Coordinates of output element i in the collapsed iteration space, innermost last.
    body.push('  var rest = i;');
    for (let d = rank - 1; d >= 1; d--) {
      body.push(`  let c${d} = rest % params.size_${d};`);
      body.push(`  rest = rest / params.size_${d};`);
    }
    body.push('  let c0 = rest;');
  }
  names.forEach((name, k) => {
    const source = k === inPlace ? 'out' : `in_${name}`;
    if (access[k] === 'same') body.push(`  let ${name} = ${source}[i];`);
    else if (access[k] === 'scalar') body.push(`  let ${name} = ${source}[0];`);
    else {
      const offset = Array.from({ length: rank }, (_, d) => `c${d} * params.stride_${name}_${d}`).join(' + ');
      body.push(`  let ${name} = ${source}[${offset}];`);
    }
  });
  for (let s = 0; s < config.scalarCount; s++) body.push(`  let s${s} = params.s${s};`);
  body.push(`  out[i] = ${config.expr};`);
  lines.push(
    `@compute @workgroup_size(${config.workgroupSize})\n` +
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,\n' +
      '        @builtin(local_invocation_index) lid: u32) {\n' +
      `${body.join('\n')}\n}`,
  );
  return `${lines.join('\n\n')}\n`;
}

export function elementwiseSpec(config: ElementwiseConfig): KernelSpec {
  const bindings: BindingKind[] = [...config.names.filter((_, k) => k !== config.inPlace).map((): BindingKind => 'read'), 'read_write', 'uniform'];
  return { label: `elementwise(${config.expr})`, wgsl: elementwiseWgsl(config), bindings };
}

const specCache = new Map<string, KernelSpec>();

function cachedSpec(config: ElementwiseConfig): KernelSpec {
  const key = JSON.stringify(config);
  let spec = specCache.get(key);
  if (!spec) {
    spec = elementwiseSpec(config);
    specCache.set(key, spec);
  }
  return spec;
}

/** The kernel's own identifiers and the WGSL keywords an input name could plausibly hit. */
const RESERVED_NAMES = new Set([
  'i', 'rest', 'params', 'out', 'main', 'wid', 'nwg', 'lid',
  'let', 'var', 'fn', 'if', 'else', 'for', 'loop', 'while', 'switch', 'case', 'default', 'break', 'continue', 'return',
  'const', 'struct', 'alias', 'override', 'discard', 'enable', 'true', 'false', 'bool', 'u32', 'i32', 'f32', 'f16', 'array', 'ptr',
]);

export interface ElementwiseExprOptions {
  inputs: readonly Tensor[];
  /** A WGSL expression over the input names (`a`, `b`, … unless `names` is given) and `s0`, `s1`, …, or an op tree. */
  expr: string | ExprNode;
  /** Output shape; defaults to the broadcast of the input shapes, which must broadcast to it. */
  outShape?: readonly number[];
  /** Uniform f32 values, named `s0`, `s1`, … in `expr`: changing them reuses the pipeline. */
  scalars?: readonly number[];
  names?: readonly string[];
  /** Write here instead of a new tensor. It may be one of the inputs if that input has the output's shape (in place). */
  out?: Tensor;
}

/**
 * out[i] = expr(inputs broadcast to out at i): any chain of elementwise ops as one kernel.
 * Records one dispatch; returns the output tensor (f32).
 */
export async function elementwiseExpr(device: Device, options: ElementwiseExprOptions): Promise<Tensor> {
  const { inputs, scalars = [] } = options;
  const names = options.names ?? INPUT_NAMES.slice(0, inputs.length);
  if (names.length !== inputs.length) throw new KernelError(`elementwise: ${inputs.length} inputs but ${names.length} names`);
  const maxInputs = device.limits.maxStorageBuffersPerShaderStage - 1;
  if (inputs.length > Math.min(maxInputs, 7)) throw new KernelError(`elementwise: at most ${Math.min(maxInputs, 7)} inputs per kernel, got ${inputs.length}`);
  for (const name of names) {
    // Lower-case letters and digits only: the kernel's own names all contain '_' or are listed here.
    if (!/^[a-z][a-z0-9]*$/.test(name) || RESERVED_NAMES.has(name) || BUILTINS.has(name) || /^[sc]\d+$/.test(name)) throw new KernelError(`elementwise: '${name}' cannot name an input`);
  }
  for (const t of inputs) if (t.dtype !== 'f32') throw new KernelError(`elementwise: inputs must be f32, got ${t}`);
  const expr = typeof options.expr === 'string' ? options.expr : renderExpr(options.expr);
  validateExpr(expr, [...names, ...scalars.map((_, s) => `s${s}`)]);

  const outShape = options.outShape ? [...options.outShape] : broadcastShapes(inputs.map((t) => t.shape));
  if (options.out && (options.out.size !== sizeOf(outShape) || options.out.dtype !== 'f32')) {
    throw new ShapeError(`elementwise: out ${options.out} does not match the result shape ${formatShape(outShape)}`);
  }
  const n = sizeOf(outShape);
  const out = options.out ?? device.empty(outShape);
  if (n === 0) return out;
  const layout = collapseLayout(outShape, inputs.map((t) => broadcastStrides(t.shape, outShape)));
  const access = inputs.map((_, k) => inputAccess(layout, k));
  const inPlace = inputs.findIndex((t) => t.buffer === out.buffer);
  if (inPlace >= 0 && (access[inPlace] !== 'same' || inputs.some((t, k) => k !== inPlace && t.buffer === out.buffer))) {
    throw new KernelError(`elementwise: the output may alias only one input, and only one of the output's shape ${formatShape(outShape)}`);
  }
  const config: ElementwiseConfig = { expr, names, access, rank: layout.shape.length, scalarCount: scalars.length, inPlace, workgroupSize: ELEMENTWISE_WORKGROUP };
  const kernel = await device.kernel(cachedSpec(config));

  const values: ParamField[] = paramFields(config).map((field) => {
    if (field.name === 'n') return { u32: n };
    const size = /^size_(\d+)$/.exec(field.name);
    if (size) return { u32: layout.shape[Number(size[1])]! };
    const stride = /^stride_(\w+)_(\d+)$/.exec(field.name);
    if (stride) return { u32: layout.strides[names.indexOf(stride[1]!)]![Number(stride[2])]! };
    return { f32: scalars[Number(field.name.slice(1))]! };
  });
  const args = [...inputs.filter((_, k) => k !== inPlace), out, packParams(values)];
  device.dispatch(kernel, args, foldGrid(ceilDiv(n, ELEMENTWISE_WORKGROUP), device.limits.maxComputeWorkgroupsPerDimension));
  return out;
}
