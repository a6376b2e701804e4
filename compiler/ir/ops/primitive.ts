/**
 * The primitive ops: for each, its arity, attr schema and shape rule — every op the front end
 * lowers to and autodiff differentiates. The fused ops the passes make are in `fused.ts`, which
 * builds on this module (never the other way); `index.ts` joins both into the op table.
 *
 * Conventions:
 * - Elementwise ops broadcast their operands numpy-style; arithmetic requires f32 operands.
 * - Comparisons (gt, ge, lt, le, eq) return f32 0/1 and have no gradient.
 * - Axes are stored canonical (non-negative; reduction axes sorted, unique): the builder
 *   canonicalises, `verifyGraph` insists, so structurally equal nodes hash equal.
 * - Every extent is a positive integer: no zero-size tensors reach the GPU.
 * - `max`/`min` are elementwise; the reduction is `reduceMax`.
 * - `detach(x)` is x with no gradient (a stop-gradient): `differentiate` sends nothing through it,
 *   and constant folding replaces it by its operand, so no kernel ever sees it.
 * - `randomNormal(seed) {shape, stream}` draws standard normals from an i32 scalar seed: an
 *   elementwise op of its seed (so it fuses like dropout's mask) that has no gradient.
 */
import { broadcastShapes, shapesEqual } from '../shape.ts';
import type { TypeInfo } from '../types.ts';
import type { Attrs } from '../types.ts';
import { attrsIn, axisAttr, broadcastAll, defineOp, fail, requireAllF32, requireDType, shapeAttr, type AttrsFromSchema } from './spec.ts';

const unary = (op: string) => defineOp({
  kind: 'elementwise',
  arity: 1,
  attrs: {},
  infer: (inputs) => {
    requireAllF32(op, inputs);
    return { shape: inputs[0]!.shape, dtype: 'f32' };
  },
});

const binary = (op: string, commutative = false) => defineOp({
  kind: 'elementwise',
  arity: 2,
  attrs: {},
  commutative,
  infer: (inputs) => {
    requireAllF32(op, inputs);
    return { shape: broadcastAll(op, inputs, inputs.map((t) => t.shape)), dtype: 'f32' };
  },
});

const reduction = (op: string) => defineOp({
  kind: 'reduction',
  arity: 1,
  attrs: { axes: { kind: 'ints' }, keepDims: { kind: 'boolean', default: false } },
  canonicalize: (inputs, attrs) => {
    const rank = inputs[0]!.shape.length;
    const axes = [...new Set(attrs.axes.map((a) => axisAttr(op, inputs, a, rank)))].sort((x, y) => x - y);
    return { ...attrs, axes };
  },
  infer: (inputs, attrs) => {
    requireAllF32(op, inputs);
    const axes = attrs.axes;
    const keep = attrs.keepDims;
    const shape: number[] = [];
    inputs[0]!.shape.forEach((d, i) => {
      if (!axes.includes(i)) shape.push(d);
      else if (keep) shape.push(1);
    });
    return { shape, dtype: 'f32' };
  },
});

const rowwise = (op: string) => defineOp({
  kind: 'rowwise',
  arity: 1,
  attrs: { axis: { kind: 'int', default: -1 } },
  canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr(op, inputs, attrs.axis, inputs[0]!.shape.length) }),
  infer: (inputs) => {
    requireAllF32(op, inputs);
    if (inputs[0]!.shape.length === 0) fail(op, inputs, 'needs at least one axis');
    return { shape: inputs[0]!.shape, dtype: 'f32' };
  },
});

/** The result type of op(a)·op(b) (batched, leading axes broadcast): the matmul shape rule. */
export function matmulType(op: string, inputs: readonly TypeInfo[], a: TypeInfo, b: TypeInfo, attrs: { readonly transA: boolean; readonly transB: boolean }): TypeInfo {
  requireAllF32(op, inputs);
  const [as, bs] = [a.shape, b.shape];
  if (as.length < 2 || bs.length < 2) fail(op, inputs, 'operands need rank ≥ 2');
  const [ar, ac] = [as[as.length - 2]!, as[as.length - 1]!];
  const [br, bc] = [bs[bs.length - 2]!, bs[bs.length - 1]!];
  const [m, ka] = attrs.transA ? [ac, ar] : [ar, ac];
  const [kb, n] = attrs.transB ? [bc, br] : [br, bc];
  if (ka !== kb) {
    fail(op, inputs, `inner dimensions differ: ${ka} vs ${kb} (transA: ${String(attrs.transA)}, transB: ${String(attrs.transB)})`);
  }
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  if (!batch) fail(op, inputs, 'batch dimensions do not broadcast');
  return { shape: [...batch, m, n], dtype: 'f32' };
}

/**
 * writeRow(buffer [K, ...], row [...], index []): the buffer with row `index` replaced by `row` —
 * exactly select(eq(iota [K, 1, ...] along 0, index), row, buffer): an index that is not a whole
 * number in [0, K) writes nothing. The ring buffer of a posterior's `last(K, e)`.
 */
export function writeRowType(op: string, inputs: readonly TypeInfo[], buffer: TypeInfo, row: TypeInfo, index: TypeInfo): TypeInfo {
  if (buffer.shape.length < 1) fail(op, inputs, 'the buffer needs a leading row axis');
  if (buffer.dtype !== row.dtype) fail(op, inputs, `the row is ${row.dtype}, the buffer ${buffer.dtype}`);
  if (!shapesEqual(row.shape, buffer.shape.slice(1))) fail(op, inputs, `the row must be [${buffer.shape.slice(1).join(', ')}] (a row of the buffer), got [${row.shape.join(', ')}]`);
  if (index.dtype !== 'f32' || index.shape.length !== 0) fail(op, inputs, 'the row index must be an f32 scalar');
  return buffer;
}

/** The primitive ops. */
export const PRIMITIVE_OPS = {
  input: defineOp({
    kind: 'source',
    arity: 0,
    attrs: {
      name: { kind: 'string' },
      role: { kind: 'role', default: 'input' },
      shape: { kind: 'ints', printed: false },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    infer: (inputs, attrs) => ({ shape: shapeAttr('input', inputs, attrs.shape), dtype: attrs.dtype }),
  }),
  constant: defineOp({
    kind: 'source',
    arity: 0,
    attrs: {
      value: { kind: 'number' },
      shape: { kind: 'ints', default: [], printed: false },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    infer: (inputs, attrs) => {
      const dtype = attrs.dtype;
      if (dtype === 'i32' && !Number.isInteger(attrs.value)) fail('constant', inputs, `i32 constant ${String(attrs.value)} is not an integer`);
      return { shape: shapeAttr('constant', inputs, attrs.shape), dtype };
    },
  }),
  literal: defineOp({
    kind: 'source',
    arity: 0,
    attrs: {
      values: { kind: 'numbers' },
      shape: { kind: 'ints', printed: false },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    infer: (inputs, attrs) => {
      const shape = shapeAttr('literal', inputs, attrs.shape);
      const values = attrs.values;
      if (values.length !== shape.reduce((a, b) => a * b, 1)) fail('literal', inputs, `${values.length} values for the shape`, [shape]);
      if (attrs.dtype === 'i32' && !values.every(Number.isInteger)) fail('literal', inputs, 'i32 literal with non-integer values');
      return { shape, dtype: attrs.dtype };
    },
  }),
  iota: defineOp({
    kind: 'source',
    arity: 0,
    attrs: {
      shape: { kind: 'ints', printed: false },
      axis: { kind: 'int' },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('iota', inputs, attrs.axis, attrs.shape.length) }),
    infer: (inputs, attrs) => ({ shape: shapeAttr('iota', inputs, attrs.shape), dtype: attrs.dtype }),
  }),

  neg: unary('neg'),
  exp: unary('exp'),
  log: unary('log'),
  sqrt: unary('sqrt'),
  rsqrt: unary('rsqrt'),
  tanh: unary('tanh'),
  relu: unary('relu'),
  gelu: unary('gelu'),
  sigmoid: unary('sigmoid'),
  sin: unary('sin'),
  cos: unary('cos'),
  abs: unary('abs'),
  square: unary('square'),
  reciprocal: unary('reciprocal'),
  softplus: unary('softplus'),
  detach: unary('detach'),

  add: binary('add', true),
  sub: binary('sub'),
  mul: binary('mul', true),
  div: binary('div'),
  max: binary('max', true),
  min: binary('min', true),
  pow: binary('pow'),
  mod: binary('mod'),
  gt: binary('gt'),
  ge: binary('ge'),
  lt: binary('lt'),
  le: binary('le'),
  eq: binary('eq', true),

  select: defineOp({
    kind: 'elementwise',
    arity: 3,
    attrs: {},
    infer: (inputs) => {
      requireDType('select', inputs, 0, 'f32', 'condition');
      if (inputs[1]!.dtype !== inputs[2]!.dtype) fail('select', inputs, `branches differ in dtype (${inputs[1]!.dtype} vs ${inputs[2]!.dtype})`);
      return { shape: broadcastAll('select', inputs, inputs.map((t) => t.shape)), dtype: inputs[1]!.dtype };
    },
  }),
  cast: defineOp({
    kind: 'elementwise',
    arity: 1,
    attrs: { to: { kind: 'dtype', default: 'f32' } },
    infer: (inputs, attrs) => {
      // Only i32 → f32: token ids and labels into arithmetic. Nothing needs the reverse yet.
      if (attrs.to !== 'f32') fail('cast', inputs, `cast to ${String(attrs.to)} is not supported`);
      requireDType('cast', inputs, 0, 'i32');
      return { shape: inputs[0]!.shape, dtype: 'f32' };
    },
  }),
  dropout: defineOp({
    kind: 'elementwise',
    arity: 2,
    attrs: { p: { kind: 'number' }, stream: { kind: 'int', default: 0 } },
    infer: (inputs, attrs) => {
      requireDType('dropout', inputs, 0, 'f32');
      requireDType('dropout', inputs, 1, 'i32', 'seed');
      if (inputs[1]!.shape.length !== 0) fail('dropout', inputs, 'seed must be a scalar');
      const p = attrs.p;
      if (!(p >= 0 && p < 1)) fail('dropout', inputs, `p = ${p} outside [0, 1)`);
      return { shape: inputs[0]!.shape, dtype: 'f32' };
    },
  }),
  randomNormal: defineOp({
    kind: 'elementwise',
    arity: 1,
    attrs: { shape: { kind: 'ints', printed: false }, stream: { kind: 'int', default: 0 } },
    infer: (inputs, attrs) => {
      requireDType('randomNormal', inputs, 0, 'i32', 'seed');
      if (inputs[0]!.shape.length !== 0) fail('randomNormal', inputs, 'seed must be a scalar');
      if (!(attrs.stream >= 0)) fail('randomNormal', inputs, `stream ${String(attrs.stream)} must be non-negative`);
      return { shape: shapeAttr('randomNormal', inputs, attrs.shape), dtype: 'f32' };
    },
  }),

  matmul: defineOp({
    kind: 'matmul',
    arity: 2,
    attrs: { transA: { kind: 'boolean', default: false }, transB: { kind: 'boolean', default: false } },
    infer: (inputs, attrs) => matmulType('matmul', inputs, inputs[0]!, inputs[1]!, attrs),
  }),
  sum: reduction('sum'),
  mean: reduction('mean'),
  reduceMax: reduction('reduceMax'),

  reshape: defineOp({
    kind: 'layout',
    arity: 1,
    attrs: { shape: { kind: 'ints', printed: false } },
    canonicalize: (inputs, attrs) => {
      // One -1 extent is inferred from the element count.
      const shape = [...attrs.shape];
      const hole = shape.indexOf(-1);
      if (hole >= 0) {
        const known = shape.reduce((p, d, i) => (i === hole ? p : p * d), 1);
        const total = inputs[0]!.shape.reduce((p, d) => p * d, 1);
        if (known <= 0 || total % known !== 0) fail('reshape', inputs, 'cannot infer the -1 extent', [shape]);
        shape[hole] = total / known;
      }
      return { ...attrs, shape };
    },
    infer: (inputs, attrs) => {
      const shape = shapeAttr('reshape', inputs, attrs.shape);
      const from = inputs[0]!.shape.reduce((p, d) => p * d, 1);
      if (shape.reduce((p, d) => p * d, 1) !== from) fail('reshape', inputs, 'element counts differ', [shape]);
      return { shape, dtype: inputs[0]!.dtype };
    },
  }),
  transpose: defineOp({
    kind: 'layout',
    arity: 1,
    attrs: { perm: { kind: 'ints' } },
    infer: (inputs, attrs) => {
      const perm = attrs.perm;
      const rank = inputs[0]!.shape.length;
      const sorted = [...perm].sort((x, y) => x - y);
      if (perm.length !== rank || !sorted.every((p, i) => p === i)) {
        fail('transpose', inputs, `perm [${perm.join(', ')}] is not a permutation of rank ${rank}`);
      }
      return { shape: perm.map((p) => inputs[0]!.shape[p]!), dtype: inputs[0]!.dtype };
    },
  }),
  broadcastTo: defineOp({
    kind: 'layout',
    arity: 1,
    attrs: { shape: { kind: 'ints', printed: false } },
    infer: (inputs, attrs) => {
      const shape = shapeAttr('broadcastTo', inputs, attrs.shape);
      const b = broadcastShapes(inputs[0]!.shape, shape);
      if (!b || !shapesEqual(b, shape)) fail('broadcastTo', inputs, 'operand does not broadcast to the target', [shape]);
      return { shape, dtype: inputs[0]!.dtype };
    },
  }),
  concat: defineOp({
    kind: 'layout',
    arity: 'variadic',
    attrs: { axis: { kind: 'int' } },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('concat', inputs, attrs.axis, inputs[0]!.shape.length) }),
    infer: (inputs, attrs) => {
      const axis = attrs.axis;
      const first = inputs[0]!;
      if (axis < 0 || axis >= first.shape.length) fail('concat', inputs, `axis ${axis} out of range`);
      let total = 0;
      for (const t of inputs) {
        if (t.dtype !== first.dtype) fail('concat', inputs, 'operands differ in dtype');
        if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
          fail('concat', inputs, `operands differ off axis ${axis}`);
        }
        total += t.shape[axis]!;
      }
      const shape = [...first.shape];
      shape[axis] = total;
      return { shape, dtype: first.dtype };
    },
  }),
  slice: defineOp({
    kind: 'layout',
    arity: 1,
    attrs: { axis: { kind: 'int' }, start: { kind: 'int' }, size: { kind: 'int' } },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('slice', inputs, attrs.axis, inputs[0]!.shape.length) }),
    infer: (inputs, attrs) => {
      const [axis, start, size] = [attrs.axis, attrs.start, attrs.size];
      const shape = [...inputs[0]!.shape];
      if (axis < 0 || axis >= shape.length) fail('slice', inputs, `axis ${axis} out of range`);
      if (start < 0 || size < 1 || start + size > shape[axis]!) {
        fail('slice', inputs, `[${start}, ${start + size}) outside extent ${shape[axis]} of axis ${axis}`);
      }
      shape[axis] = size;
      return { shape, dtype: inputs[0]!.dtype };
    },
  }),

  gather: defineOp({
    kind: 'indexing',
    arity: 2,
    attrs: {},
    infer: (inputs) => {
      const [table, ids] = inputs as [TypeInfo, TypeInfo];
      if (table.shape.length !== 2) fail('gather', inputs, 'table must be [rows, d]');
      requireDType('gather', inputs, 1, 'i32', 'ids');
      return { shape: [...ids.shape, table.shape[1]!], dtype: table.dtype };
    },
  }),
  scatterAdd: defineOp({
    kind: 'indexing',
    arity: 2,
    attrs: { rows: { kind: 'int' } },
    infer: (inputs, attrs) => {
      const [updates, ids] = inputs as [TypeInfo, TypeInfo];
      requireDType('scatterAdd', inputs, 0, 'f32', 'updates');
      requireDType('scatterAdd', inputs, 1, 'i32', 'ids');
      if (updates.shape.length !== ids.shape.length + 1 || !ids.shape.every((d, i) => d === updates.shape[i])) {
        fail('scatterAdd', inputs, 'updates must be [...ids, d]');
      }
      const rows = attrs.rows;
      if (!Number.isInteger(rows) || rows < 1) fail('scatterAdd', inputs, `rows = ${rows} must be a positive integer`);
      return { shape: [rows, updates.shape[updates.shape.length - 1]!], dtype: 'f32' };
    },
  }),

  softmax: rowwise('softmax'),
  logSoftmax: rowwise('logSoftmax'),
  layerNorm: defineOp({
    kind: 'rowwise',
    arity: 3,
    attrs: { eps: { kind: 'number', default: 1e-5 } },
    infer: (inputs, attrs) => {
      requireAllF32('layerNorm', inputs);
      const [x, gamma, beta] = inputs as [TypeInfo, TypeInfo, TypeInfo];
      if (x.shape.length === 0) fail('layerNorm', inputs, 'normalises the last axis; operand is a scalar');
      const d = x.shape[x.shape.length - 1]!;
      if (!shapesEqual(gamma.shape, [d]) || !shapesEqual(beta.shape, [d])) fail('layerNorm', inputs, `gamma and beta must be [${d}]`);
      if (!(attrs.eps > 0)) fail('layerNorm', inputs, 'eps must be positive');
      return { shape: x.shape, dtype: 'f32' };
    },
  }),
  crossEntropy: defineOp({
    kind: 'loss',
    arity: 2,
    attrs: {},
    infer: (inputs) => {
      const [logits, labels] = inputs as [TypeInfo, TypeInfo];
      requireDType('crossEntropy', inputs, 0, 'f32', 'logits');
      requireDType('crossEntropy', inputs, 1, 'i32', 'labels');
      if (logits.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0]) {
        fail('crossEntropy', inputs, 'expects logits [n, c] and labels [n]');
      }
      return { shape: [], dtype: 'f32' };
    },
  }),

  writeRow: defineOp({
    kind: 'indexing',
    arity: 3,
    attrs: {},
    infer: (inputs) => writeRowType('writeRow', inputs, inputs[0]!, inputs[1]!, inputs[2]!),
  }),
};

/** A primitive op's name. */
export type PrimitiveOpName = keyof typeof PRIMITIVE_OPS;

/** True when `op` names a primitive op. */
export function isPrimitiveOp(op: string): op is PrimitiveOpName {
  return Object.prototype.hasOwnProperty.call(PRIMITIVE_OPS, op);
}

/** The attrs of primitive op `K`, typed by its schema. */
export type PrimitiveAttrs<K extends PrimitiveOpName> = AttrsFromSchema<(typeof PRIMITIVE_OPS)[K]['attrs']>;

/** A primitive node's (or body instruction's) attrs, typed: see `attrsOf` in index.ts. */
export function primitiveAttrs<K extends PrimitiveOpName>(node: { readonly op: string; readonly attrs: Attrs }, ...ops: readonly K[]): PrimitiveAttrs<K> {
  return attrsIn(PRIMITIVE_OPS, node, ops);
}
