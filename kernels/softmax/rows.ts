/**
 * The skeleton the softmax and cross-entropy kernels share: per row, one statistic accumulated
 * over the columns (a log-sum-exp pair or a plain sum), then an optional pass writing the row.
 * Two kernel shapes, chosen by `planRows`: a loop per row, or a workgroup per row whose
 * invocations take strided columns and combine partials in a shared-memory tree.
 */
import type { KernelSpec } from '../../runtime/kernel.ts';
import { LimitError, ShapeError, formatShape } from '../../runtime/errors.ts';
import { broadcastStrides, collapseLayout } from '../elementwise/broadcast.ts';
import { FLAT_WORKGROUP_WGSL, type ParamField } from '../params.ts';
import { MAX_LOOP_ITERATIONS_PER_INVOCATION } from '../limits.ts';

export type RowStrategy = 'thread' | 'workgroup';

export const ROW_THREAD_WORKGROUP = 64;
export const ROW_TREE_WORKGROUP = 128;

/** Loop iterations one invocation runs over a row of `cols` for `passes` column loops. */
function rowIterations(strategy: RowStrategy, cols: number, passes: number): number {
  const perThread = strategy === 'thread' ? cols : Math.ceil(cols / ROW_TREE_WORKGROUP);
  return passes * perThread + Math.ceil(perThread / 64) + Math.log2(ROW_TREE_WORKGROUP);
}

/**
 * Loop per row when rows are plentiful or short, a workgroup per row otherwise (a pure function
 * of the sizes). On llvmpipe barriers are dear, so loops win unless there are too few rows to
 * occupy the cores; either way a loop must stay within llvmpipe's per-invocation loop limit.
 */
export function planRows(rows: number, cols: number, passes: number, target: 'gpu' | 'cpu' = 'gpu'): RowStrategy {
  if (rowIterations('workgroup', cols, passes) > MAX_LOOP_ITERATIONS_PER_INVOCATION) {
    throw new LimitError(`rows of ${cols} columns are longer than one workgroup can loop over (${MAX_LOOP_ITERATIONS_PER_INVOCATION} iterations per invocation)`);
  }
  const loopFits = rowIterations('thread', cols, passes) <= MAX_LOOP_ITERATIONS_PER_INVOCATION;
  if (!loopFits) return 'workgroup';
  if (target === 'cpu') return rows >= 256 || cols <= 1024 ? 'thread' : 'workgroup';
  return cols <= 64 || rows >= 65536 ? 'thread' : 'workgroup';
}

/**
 * How a kernel finds one row of an operand broadcast against [rows, cols] (x's leading dims
 * flattened to rows): a row offset from the collapsed leading dims, and a stride along columns.
 */
export interface RowOperandLayout {
  sizes: number[];
  strides: number[];
  colStride: number;
}

/** Layout of `shape` broadcast (numpy rules) to `xShape`; ShapeError names both shapes. */
export function rowOperandLayout(shape: readonly number[], xShape: readonly number[], what: string): RowOperandLayout {
  let strides: number[];
  try {
    strides = broadcastStrides(shape, xShape);
  } catch {
    throw new ShapeError(`${what} of shape ${formatShape(shape)} does not broadcast to the input's shape ${formatShape(xShape)}`);
  }
  const lead = collapseLayout(xShape.slice(0, -1), [strides.slice(0, -1)]);
  return { sizes: lead.shape, strides: lead.strides[0]!, colStride: strides[strides.length - 1]! };
}

/** Uniform fields of a row operand named `name`, in declaration order. */
export function rowOperandFields(name: string, rank: number): [string, 'u32'][] {
  return [
    ...Array.from({ length: rank - 1 }, (_, d) => `${name}_size_${d + 1}`),
    ...Array.from({ length: rank }, (_, d) => `${name}_stride_${d}`),
    `${name}_col_stride`,
  ].map((field) => [field, 'u32']);
}

export function rowOperandValues(layout: RowOperandLayout): ParamField[] {
  return [...layout.sizes.slice(1), ...layout.strides, layout.colStride].map((u32) => ({ u32 }));
}

/** WGSL `fn <name>_row_offset(row)`: the operand's offset of row `row`, unrolled over its rank. */
export function rowOffsetWgsl(name: string, rank: number): string {
  const lines = [`fn ${name}_row_offset(row: u32) -> u32 {`, '  var rest = row;', '  var offset = 0u;'];
  for (let d = rank - 1; d >= 1; d--) {
    lines.push(`  offset += (rest % params.${name}_size_${d}) * params.${name}_stride_${d};`);
    lines.push(`  rest = rest / params.${name}_size_${d};`);
  }
  lines.push(`  return offset + rest * params.${name}_stride_0;`, '}');
  return lines.join('\n');
}

/** The per-row statistic: a (max, Σ exp(x − max)) pair, or a plain sum. */
export type RowStatistic = 'logsumexp' | 'sum';

export interface RowKernelParts {
  label: string;
  strategy: RowStrategy;
  /** Uniform fields after `rows` and `cols`: [name, type]. */
  fields: readonly (readonly [string, 'u32' | 'f32'])[];
  /** Binding declarations, `@group(0) @binding(i)` in order. */
  bindings: readonly string[];
  /** Extra module-scope WGSL (helper functions). */
  helpers: readonly string[];
  statistic: RowStatistic;
  /** Statements run once per row before the columns (`row`, `base` = row·cols are in scope). */
  prologue: string;
  /** WGSL expression for column `c`'s contribution: an f32 (sum) or a logit (logsumexp; −inf = excluded). */
  element: string;
  /** Statements once the statistic `acc` is known; `writer` is true in exactly one invocation per row. */
  epilogue: string;
  /** Statements per column `c` of the output pass, or empty for no output pass. */
  write: string;
}

/** Assembles a row kernel. Every column loop sums in blocks of 64, as the reductions do. */
export function rowKernelWgsl(parts: RowKernelParts): string {
  const thread = parts.strategy === 'thread';
  const wg = thread ? ROW_THREAD_WORKGROUP : ROW_TREE_WORKGROUP;
  const lse = parts.statistic === 'logsumexp';
  const type = lse ? 'vec2<f32>' : 'f32';
  const identity = lse ? 'vec2<f32>(neg_inf, 0.0)' : '0.0';
  const combine = (a: string, b: string) => (lse ? `merge_lse(${a}, ${b})` : `${a} + ${b}`);
  const element = lse ? `vec2<f32>(${parts.element}, 1.0)` : parts.element;
  const start = thread ? '0u' : 'lid';
  const step = thread ? '1u' : `${wg}u`;
  const fields = [['rows', 'u32'], ['cols', 'u32'], ...parts.fields].map(([n, t]) => `  ${n}: ${t},`).join('\n');
  const mergeLse = lse
    ? `
// Combines two (max, Σ exp(x − max)) pairs with one exp; an empty pair has max −inf.
fn merge_lse(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  if (b.x > a.x) { return vec2<f32>(b.x, a.y * exp(a.x - b.x) + b.y); }
  if (b.x == bitcast<f32>(neg_inf_bits)) { return a; }
  return vec2<f32>(a.x, a.y + b.y * exp(b.x - a.x));
}
`
    : '';
  const tree = thread
    ? ''
    : `
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = ${combine('partial[lid]', 'partial[lid + s]')}; }
    workgroupBarrier();
  }
  acc = partial[0];`;
  const write = parts.write
    ? `
  for (var c = ${start}; c < params.cols; c += ${step}) {
${indent(parts.write, 4)}
  }`
    : '';
  return `// swaglet ${parts.label}: one ${thread ? 'invocation' : 'workgroup'} per row
struct Params {
${fields}
}
${parts.bindings.join('\n')}
// -inf as a runtime value: WGSL rejects infinities in constant expressions.
var<private> neg_inf_bits: u32 = 0xff800000u;
${FLAT_WORKGROUP_WGSL.trim()}
${mergeLse}${parts.helpers.join('\n')}
${thread ? '' : `var<workgroup> partial: array<${type}, ${wg}>;\n`}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let neg_inf = bitcast<f32>(neg_inf_bits);
  let row = ${thread ? `flat_workgroup(wid, nwg) * ${wg}u + lid` : 'flat_workgroup(wid, nwg)'};
  // ${thread ? 'Each invocation owns a row.' : 'Uniform per workgroup, so every invocation reaches the barriers.'}
  if (row >= params.rows) { return; }
  let base = row * params.cols;
  let writer = ${thread ? 'true' : 'lid == 0u'};
${indent(parts.prologue, 2)}
  var acc = ${identity};
  var c = ${start};
  while (c < params.cols) {
    var block = ${identity};
    let block_end = min(c + 64u * ${step}, params.cols);
    for (; c < block_end; c += ${step}) {
      block = ${combine('block', element)};
    }
    acc = ${combine('acc', 'block')};
  }${tree}
${indent(parts.epilogue, 2)}${write}
}
`;
}

/** Indents a snippet written flush left (its own relative indentation is kept). */
function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => pad + line.trimEnd())
    .join('\n');
}

/** rows × cols of a tensor viewed as a matrix of its last axis. */
export function rowsAndCols(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length === 0) throw new ShapeError('a row operation needs a tensor of rank ≥ 1, got a scalar');
  const cols = shape[shape.length - 1]!;
  return { rows: shape.slice(0, -1).reduce((p, d) => p * d, 1), cols };
}

const specCache = new Map<string, KernelSpec>();

/** A row kernel's spec, built once per key: the WGSL text is the same for every call of a config. */
export function cachedSpec(key: string, make: () => KernelSpec): KernelSpec {
  let spec = specCache.get(key);
  if (!spec) {
    spec = make();
    specCache.set(key, spec);
  }
  return spec;
}
