/**
 * WGSL for a fused elementwise body: one invocation per output element, no loops.
 *
 * Every value in the body is computed at "the output element", seen through the index remaps
 * between it and the root: numpy broadcasting, broadcastTo, transpose, slice and size-1 reshapes
 * all map output coordinates affinely to a node's own coordinates. So every memory access — an
 * operand read, a dropout or randomNormal element index, an iota coordinate, a literal lookup — is
 * `offset + Σ c_d · stride_d` over the output coordinates c. Those affine forms are collected
 * first, the output's axes are merged wherever every form allows (a same-shape chain becomes
 * 1-D), and the kernel reads `in_k[i]` directly where a form is the identity. A node reached
 * through two different remaps is computed once per remap: recomputation, never a wrong index.
 *
 * A reduction of a small operand to a scalar (allowed in bodies) is a loop over the whole operand.
 *
 * Sizes, strides and offsets go in the uniform; which strides are zero and which accesses are
 * the identity are compiled in.
 */
import { FLAT_WORKGROUP_WGSL, packParams, type ParamField } from '../../../kernels/params.ts';
import { f32Literal } from '../../../kernels/elementwise/expr.ts';
import { BINARY_OPS, UNARY_OPS, helpersFor, renderBinary, renderUnary, type BinaryOp, type UnaryOp } from '../../../kernels/elementwise/ops.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { BindingKind, KernelSpec } from '../../../abi/kernel.ts';
import { inferBody, numel, printBody, type BodyArg, type FusedBody, type TypeInfo } from '../../ir/index.ts';
import { DROPOUT_BITS_WGSL, PHILOX_HELPER_WGSL, RANDOM_NORMAL_WGSL, dropoutThreshold } from './dropout.ts';

export const ELEMENTWISE_WORKGROUP = 256;

export interface EmittedKernel {
  readonly spec: KernelSpec;
  readonly uniform: Uint8Array;
  readonly workgroups: [number, number, number];
}

/** c_j = Σ_d rows[j][d]·c_d + off[j]: a node's coordinates as functions of the output's. */
interface Affine {
  readonly rows: readonly (readonly number[])[];
  readonly off: readonly number[];
}

/** An affine index over output coordinates, before axes are merged. */
interface IndexForm {
  readonly strides: readonly number[];
  readonly offset: number;
}

type WgslType = 'f32' | 'i32';

// The ops the one op → WGSL table renders (its `scale` and `affine` are no IR ops, so never match).
const UNARY: ReadonlySet<string> = new Set(UNARY_OPS);
const BINARY: ReadonlySet<string> = new Set(BINARY_OPS);
const COMPARE: Readonly<Record<string, string>> = { gt: '>', ge: '>=', lt: '<', le: '<=', eq: '==' };

function contiguous(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The map of an operand of shape `to` broadcast (numpy rules) into a node of shape `from`. */
function broadcastMap(map: Affine, from: readonly number[], to: readonly number[], rank: number): Affine {
  const lead = from.length - to.length;
  const zero = new Array<number>(rank).fill(0);
  return {
    rows: to.map((d, j) => (d === 1 ? zero : map.rows[j + lead]!)),
    off: to.map((d, j) => (d === 1 ? 0 : map.off[j + lead]!)),
  };
}

function mapKey(map: Affine): string {
  return `${map.rows.map((r) => r.join(',')).join(';')}|${map.off.join(',')}`;
}

/**
 * A body as a WGSL function of the flat output index, for a kernel to call: the elementwise
 * kernel writes `out[i] = f(i)`; row kernels call one to load their input (a prologue) or to
 * transform each value they write (an epilogue, where the value comes in as argument `s`).
 */
export interface BodyFunction {
  /** The function's text: `fn <name>(i: u32[, s: f32]) -> <type>`. */
  readonly fn: string;
  /** Uniform fields it reads (as `params.<name>`), with their values. */
  readonly fields: readonly (readonly [string, number])[];
  /** Storage arrays it reads, one per operand not passed as `s`, in operand order. */
  readonly arrays: readonly { readonly name: string; readonly dtype: 'f32' | 'i32'; readonly operand: number }[];
  /** Module-scope WGSL it needs (op helpers, Philox, literal tables); identical texts may be merged. */
  readonly helpers: readonly string[];
  readonly result: TypeInfo;
}

export interface BodyFunctionOptions {
  readonly name: string;
  /** Prefix of its uniform fields, arrays and tables (so several functions share one kernel). */
  readonly prefix: string;
  /** An operand passed in as `s: f32` instead of read from memory; it must be read element for element. */
  readonly provided?: number;
  /** The storage array holding operand k (default `<prefix>in_<k>`). */
  readonly arrayName?: (k: number) => string;
}

export function bodyFunction(body: FusedBody, operands: readonly TypeInfo[], options: BodyFunctionOptions): BodyFunction {
  const { prefix } = options;
  const arrayName = options.arrayName ?? ((k: number) => `${prefix}in_${k}`);
  const types = inferBody(body, operands);
  const result = types[types.length - 1]!;
  const outShape = result.shape;
  const R = outShape.length;

  const forms: IndexForm[] = [];
  const formIndex = new Map<string, number>();
  const form = (strides: readonly number[], offset: number): number => {
    const key = `${strides.join(',')}|${offset}`;
    let k = formIndex.get(key);
    if (k === undefined) {
      k = forms.push({ strides, offset }) - 1;
      formIndex.set(key, k);
    }
    return k;
  };
  /** The flat row-major index into a tensor of `shape` read through `map`. */
  const flatStrides = (shape: readonly number[], map: Affine): IndexForm => {
    const cs = contiguous(shape);
    const strides = new Array<number>(R).fill(0);
    let offset = 0;
    shape.forEach((_, j) => {
      map.rows[j]!.forEach((coef, d) => (strides[d]! += coef * cs[j]!));
      offset += map.off[j]! * cs[j]!;
    });
    return { strides, offset };
  };
  const flatForm = (shape: readonly number[], map: Affine): number => {
    const f = flatStrides(shape, map);
    return form(f.strides, f.offset);
  };
  const idx = (k: number) => `@idx${k}@`;

  const statements: string[] = [];
  const moduleScope: string[] = [];
  const memo = new Map<string, { expr: string; type: WgslType }>();
  let temp = 0;
  let usesDropout = false;
  let usesNormal = false;
  const bind = (expr: string, type: WgslType, key: string): { expr: string; type: WgslType } => {
    const name = `v${temp++}`;
    statements.push(`let ${name}: ${type} = ${expr};`);
    const v = { expr: name, type };
    memo.set(key, v);
    return v;
  };

  const argType = (a: BodyArg): TypeInfo => ('operand' in a ? operands[a.operand]! : 'result' in a ? types[a.result]! : { shape: [], dtype: 'f32' });
  const dense = contiguous(outShape);

  const value = (a: BodyArg, map: Affine): { expr: string; type: WgslType } => {
    if ('scalar' in a) return { expr: f32Literal(a.scalar), type: 'f32' };
    if ('operand' in a) {
      const t = operands[a.operand]!;
      if (a.operand === options.provided) {
        const f = flatStrides(t.shape, map);
        const identity = f.offset === 0 && t.shape.length === R && f.strides.every((st, d) => st === dense[d] || outShape[d] === 1);
        if (!identity) throw new Error(`${options.name}: operand $${a.operand} is passed in and must be read element for element`);
        return { expr: 's', type: 'f32' };
      }
      const k = flatForm(t.shape, map);
      const key = `$${a.operand}@${k}`;
      return memo.get(key) ?? bind(`${arrayName(a.operand)}[${idx(k)}]`, t.dtype, key);
    }
    return compute(a.result, map);
  };
  const compute = (i: number, map: Affine): { expr: string; type: WgslType } => {
    const key = `%${i}@${mapKey(map)}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const ins = body[i]!;
    const t = types[i]!;
    const operandMap = (k: number) => broadcastMap(map, t.shape, argType(ins.args[k]!).shape, R);
    const arg = (k: number) => value(ins.args[k]!, operandMap(k));
    switch (ins.op) {
      case 'constant': {
        const v = ins.attrs.value;
        return { expr: t.dtype === 'f32' ? f32Literal(v) : `i32(${v})`, type: t.dtype };
      }
      case 'iota': {
        const axis = ins.attrs.axis;
        const k = form(map.rows[axis]!, map.off[axis]!);
        return bind(`${t.dtype}(${idx(k)})`, t.dtype, key);
      }
      case 'literal': {
        const values = ins.attrs.values;
        const name = `${prefix}literal_${i}`;
        if (!moduleScope.some((l) => l.includes(`var<private> ${name}:`))) {
          const items = values.map((v) => (t.dtype === 'f32' ? f32Literal(v) : `i32(${v})`)).join(', ');
          moduleScope.push(`var<private> ${name}: array<${t.dtype}, ${values.length}> = array<${t.dtype}, ${values.length}>(${items});`);
        }
        return bind(`${name}[${idx(flatForm(t.shape, map))}]`, t.dtype, key);
      }
      case 'broadcastTo':
        return arg(0);
      case 'transpose': {
        const perm = ins.attrs.perm;
        const rows: (readonly number[])[] = new Array(perm.length);
        const off: number[] = new Array(perm.length);
        perm.forEach((p, j) => {
          rows[p] = map.rows[j]!;
          off[p] = map.off[j]!;
        });
        return value(ins.args[0]!, { rows, off });
      }
      case 'slice': {
        const axis = ins.attrs.axis;
        return value(ins.args[0]!, { rows: map.rows, off: map.off.map((o, j) => (j === axis ? o + ins.attrs.start : o)) });
      }
      case 'reshape': {
        // Extent-1 axes in or out only: the other axes correspond in order.
        const from = argType(ins.args[0]!).shape;
        const kept = t.shape.map((d, j) => j).filter((j) => t.shape[j] !== 1);
        const zero = new Array<number>(R).fill(0);
        let next = 0;
        const rows = from.map((d) => (d === 1 ? zero : map.rows[kept[next++]!]!));
        next = 0;
        const off = from.map((d) => (d === 1 ? 0 : map.off[kept[next++]!]!));
        return value(ins.args[0]!, { rows, off });
      }
      case 'cast':
        return bind(`f32(${arg(0).expr})`, 'f32', key);
      case 'select':
        return bind(`select(${arg(2).expr}, ${arg(1).expr}, ${arg(0).expr} != 0.0)`, t.dtype, key);
      case 'dropout': {
        usesDropout = true;
        const p = ins.attrs.p;
        const x = arg(0).expr;
        const seed = arg(1).expr;
        const k = flatForm(t.shape, map);
        const keep = `(dropout_bits(${idx(k)}, ${ins.attrs.stream}u, ${seed}) >> 9u) >= ${dropoutThreshold(p)}u`;
        return bind(`select(0.0, ${x} * ${f32Literal(1 / (1 - p))}, ${keep})`, 'f32', key);
      }
      case 'sum':
      case 'mean':
      case 'reduceMax': {
        // A small operand reduced whole (ir/ops/body.ts's isBodyReduction): a loop in every invocation,
        // in index order from the first element, independent of the output element.
        const a = ins.args[0]!;
        if (!('operand' in a)) throw new Error(`${options.name}: ${ins.op} must read an operand`);
        const count = numel(operands[a.operand]!.shape);
        const scalarKey = `%${i}@whole`;
        const hit = memo.get(scalarKey);
        if (hit) return hit;
        const name = `v${temp++}`;
        const array = arrayName(a.operand);
        const step = ins.op === 'reduceMax' ? `${name} = max(${name}, ${array}[r]);` : `${name} = ${name} + ${array}[r];`;
        statements.push(`var ${name}: f32 = ${array}[0];`, `for (var r = 1u; r < ${count}u; r++) { ${step} }`);
        if (ins.op === 'mean') statements.push(`${name} = ${name} / ${f32Literal(count)};`);
        const v = { expr: name, type: 'f32' as WgslType };
        memo.set(scalarKey, v);
        return v;
      }
      case 'randomNormal': {
        usesNormal = true;
        const seed = arg(0).expr;
        const k = flatForm(t.shape, map);
        return bind(`random_normal(${idx(k)}, ${ins.attrs.stream}u, ${seed})`, 'f32', key);
      }
      case 'mod': {
        // Floored remainder, corrected by one step where a / b rounds across a whole number
        // (exact for whole numbers below 2^24, where a − b·q is computed exactly).
        const [a, b] = [arg(0).expr, arg(1).expr];
        const r = bind(`${a} - ${b} * floor(${a} / ${b})`, 'f32', `${key}#raw`);
        return bind(`select(select(${r.expr}, ${r.expr} - ${b}, abs(${r.expr}) >= abs(${b})), ${r.expr} + ${b}, ${r.expr} != 0.0 && ((${r.expr} < 0.0) != (${b} < 0.0)))`, 'f32', key);
      }
      default: {
        if (UNARY.has(ins.op)) return bind(renderUnary(ins.op as UnaryOp, arg(0).expr), 'f32', key);
        if (BINARY.has(ins.op)) return bind(renderBinary(ins.op as BinaryOp, arg(0).expr, arg(1).expr), 'f32', key);
        const cmp = COMPARE[ins.op];
        if (cmp) return bind(`select(0.0, 1.0, ${arg(0).expr} ${cmp} ${arg(1).expr})`, 'f32', key);
        throw new Error(`fusedElementwise: no WGSL for "${ins.op}"`);
      }
    }
  };

  const identity: Affine = { rows: outShape.map((_, j) => outShape.map((__, d) => (d === j ? 1 : 0))), off: outShape.map(() => 0) };
  const root = compute(body.length - 1, identity);
  statements.push(`return ${root.expr};`);

  // Merge output axes wherever every index form walks them as one.
  const groups: number[][] = [];
  for (let d = 0; d < R; d++) {
    if (outShape[d] === 1) continue;
    const last = groups[groups.length - 1];
    const inner = last?.[last.length - 1];
    const merges = last !== undefined && forms.every((f) => f.strides[inner!] === f.strides[d]! * outShape[d]!);
    if (merges) last.push(d);
    else groups.push([d]);
  }
  const sizes = groups.map((gr) => gr.reduce((p, d) => p * outShape[d]!, 1));
  const collapsed = forms.map((f) => ({ offset: f.offset, strides: groups.map((gr) => f.strides[gr[gr.length - 1]!]!) }));
  const rank = sizes.length;
  const merged = contiguous(sizes);

  const fields: [string, number][] = [];
  let needCoords = false;
  const indexExpr = collapsed.map((f, k) => {
    if (f.offset === 0 && f.strides.every((st, d) => st === merged[d])) return 'i';
    const terms: string[] = [];
    if (f.offset !== 0) {
      fields.push([`${prefix}off${k}`, f.offset]);
      terms.push(`params.${prefix}off${k}`);
    }
    f.strides.forEach((st, d) => {
      if (st === 0) return;
      needCoords = true;
      fields.push([`${prefix}stride${k}_${d}`, st]);
      terms.push(`c${d} * params.${prefix}stride${k}_${d}`);
    });
    return terms.length ? terms.join(' + ') : '0u';
  });
  const lines: string[] = [];
  if (needCoords) {
    for (let d = rank - 1; d >= 1; d--) fields.unshift([`${prefix}size${d}`, sizes[d]!]);
    lines.push('var rest = i;');
    for (let d = rank - 1; d >= 1; d--) lines.push(`let c${d} = rest % params.${prefix}size${d};`, `rest = rest / params.${prefix}size${d};`);
    lines.push('let c0 = rest;');
  }
  lines.push(...statements.map((st) => st.replace(/@idx(\d+)@/g, (_, k: string) => indexExpr[Number(k)]!)));
  const signature = `fn ${options.name}(i: u32${options.provided !== undefined ? ', s: f32' : ''}) -> ${result.dtype}`;
  const fnText = `// ${printBody(body)}\n${signature} {\n${lines.map((l) => `  ${l}`).join('\n')}\n}`;
  const helpers = [...moduleScope, ...helpersFor(fnText).map((h) => h.trim())];
  if (usesDropout || usesNormal) helpers.push(PHILOX_HELPER_WGSL);
  if (usesDropout) helpers.push(DROPOUT_BITS_WGSL);
  if (usesNormal) helpers.push(RANDOM_NORMAL_WGSL);
  const arrays = operands
    .map((t, k) => ({ name: arrayName(k), dtype: t.dtype, operand: k }))
    .filter((a) => a.operand !== options.provided);
  return { fn: fnText, fields, arrays, helpers, result };
}

/** Module-scope texts in first-seen order, each once (several functions may need the same helper). */
export function uniqueHelpers(...lists: (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}

/** Builds the kernel for `body` over operands of the given types: out[i] = value(i). */
export function elementwiseKernel(body: FusedBody, operands: readonly TypeInfo[], label: string, maxWorkgroupsPerDimension: number): EmittedKernel {
  const f = bodyFunction(body, operands, { name: 'value', prefix: '' });
  const n = numel(f.result.shape);
  const fields: (readonly [string, number])[] = [['n', n], ...f.fields];
  const bindings: string[] = f.arrays.map((a, k) => `@group(0) @binding(${k}) var<storage, read> ${a.name}: array<${a.dtype}>;`);
  bindings.push(`@group(0) @binding(${f.arrays.length}) var<storage, read_write> out: array<${f.result.dtype}>;`);
  bindings.push(`@group(0) @binding(${f.arrays.length + 1}) var<uniform> params: Params;`);
  const wgsl = [
    `// swaglet fusedElementwise: ${printBody(body)}\n` +
      `// operands: ${operands.map((t, k) => `$${k} ${t.dtype}`).join(', ') || 'none'}; one invocation per output element (${f.result.dtype})`,
    `struct Params {\n${fields.map(([name]) => `  ${name}: u32,`).join('\n')}\n}`,
    bindings.join('\n'),
    FLAT_WORKGROUP_WGSL.trim(),
    ...f.helpers,
    f.fn,
    `@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,\n        @builtin(local_invocation_index) lid: u32) {\n` +
      `  let i = flat_workgroup(wid, nwg) * ${ELEMENTWISE_WORKGROUP}u + lid;\n  if (i >= params.n) { return; }\n  out[i] = value(i);\n}`,
  ].join('\n\n');
  const kinds: BindingKind[] = [...operands.map((): BindingKind => 'read'), 'read_write', 'uniform'];
  return {
    spec: { label, wgsl: `${wgsl}\n`, bindings: kinds },
    uniform: packParams(fields.map(([, v]): ParamField => ({ u32: v }))),
    workgroups: foldGrid(ceilDiv(n, ELEMENTWISE_WORKGROUP), maxWorkgroupsPerDimension),
  };
}
