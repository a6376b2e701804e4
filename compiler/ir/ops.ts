/**
 * The op table: for every op, its arity, attr schema and shape rule. What an op computes lives in
 * `evaluateOp.ts` and how gradients flow through it in `gradients.ts`; both are keyed by `OpName`
 * so the type checker makes sure every op has an entry in each.
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
import { IRShapeError } from './errors.ts';
import type { AttrValue, Attrs, DType, Shape } from './graph.ts';
import { inferBody, parseBody } from './fusedBody.ts';
import { broadcastShapes, isValidShape, normalizeAxis, shapesEqual } from './shape.ts';

/** Every op the IR knows. */
export type OpName =
  // sources
  | 'input' | 'constant' | 'literal' | 'iota'
  // elementwise unary
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'relu' | 'gelu' | 'sigmoid'
  | 'sin' | 'cos' | 'abs' | 'square' | 'reciprocal' | 'softplus'
  // the identity whose gradient is zero (a stop-gradient; constant folding removes it after autodiff)
  | 'detach'
  // elementwise binary and comparisons
  | 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow' | 'mod'
  | 'gt' | 'ge' | 'lt' | 'le' | 'eq'
  | 'select' | 'cast' | 'dropout' | 'randomNormal'
  // contraction and reductions
  | 'matmul' | 'sum' | 'mean' | 'reduceMax'
  // layout
  | 'reshape' | 'transpose' | 'broadcastTo' | 'concat' | 'slice'
  // indexing
  | 'gather' | 'scatterAdd'
  // row-wise normalisations and losses
  | 'softmax' | 'logSoftmax' | 'layerNorm' | 'crossEntropy'
  // made by the fusion passes (compiler/passes/fuse*.ts), after autodiff
  | 'fusedElementwise' | 'fusedMatmul' | 'fusedSoftmax'
  // in-place ring-buffer row writes (compiler/passes/fuseRingBufferWrite.ts)
  | 'writeRow' | 'fusedWriteRow'
  // a low-rank combination with its elementwise epilogue (compiler/passes/fuseLowRankSample.ts)
  | 'fusedLowRank';

/**
 * Broad families, for passes that treat ops alike (fusion groups elementwise ops; the scheduler
 * gives matmuls and row-wise ops their own kernels).
 */
export type OpKind =
  | 'source' | 'elementwise' | 'matmul' | 'reduction' | 'layout' | 'indexing' | 'rowwise' | 'loss' | 'fused';

/** The type of a value: static shape and dtype. */
export interface TypeInfo {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** Attr value kinds the schema checks. */
export type AttrKind = 'int' | 'number' | 'boolean' | 'string' | 'ints' | 'numbers' | 'dtype' | 'role';

export interface AttrSpec {
  readonly kind: AttrKind;
  /** Filled in by the builder when omitted; the printer leaves attrs equal to it out. */
  readonly default?: AttrValue;
  /** False for attrs the printed type already shows (a reshape's target shape, ...). */
  readonly printed?: boolean;
}

/** One op's entry in the table. */
export interface OpSpec {
  readonly kind: OpKind;
  /** Operand count; `'variadic'` means one or more (concat). */
  readonly arity: number | 'variadic';
  /** Attr schema, in print order. */
  readonly attrs: Readonly<Record<string, AttrSpec>>;
  /** a ∘ b = b ∘ a: CSE may sort the operands. */
  readonly commutative?: boolean;
  /**
   * Brings attrs into canonical form given the operand types (negative axes → non-negative,
   * reduction axes sorted). Throws IRShapeError for axes out of range.
   */
  readonly canonicalize?: (inputs: readonly TypeInfo[], attrs: Attrs) => Attrs;
  /** The shape rule: the result type, or an IRShapeError naming the op and the shapes. */
  readonly infer: (inputs: readonly TypeInfo[], attrs: Attrs) => TypeInfo;
}

function fail(op: OpName, inputs: readonly TypeInfo[], detail: string, extra: Shape[] = []): never {
  throw new IRShapeError(op, [...inputs.map((t) => t.shape), ...extra], detail);
}

function requireDType(op: OpName, inputs: readonly TypeInfo[], index: number, dtype: DType, what = `operand ${index}`): void {
  if (inputs[index]!.dtype !== dtype) fail(op, inputs, `${what} must be ${dtype}, got ${inputs[index]!.dtype}`);
}

function requireAllF32(op: OpName, inputs: readonly TypeInfo[]): void {
  inputs.forEach((_, i) => requireDType(op, inputs, i, 'f32'));
}

function broadcastAll(op: OpName, inputs: readonly TypeInfo[], shapes: readonly Shape[]): number[] {
  let out: number[] = [...shapes[0]!];
  for (const s of shapes.slice(1)) {
    const b = broadcastShapes(out, s);
    if (!b) fail(op, inputs, 'operands do not broadcast');
    out = b;
  }
  return out;
}

function axisAttr(op: OpName, inputs: readonly TypeInfo[], axis: AttrValue, rank: number): number {
  const a = normalizeAxis(axis as number, rank);
  if (a === undefined) fail(op, inputs, `axis ${String(axis)} out of range for rank ${rank}`);
  return a;
}

function shapeAttr(op: OpName, inputs: readonly TypeInfo[], shape: AttrValue): number[] {
  if (!isValidShape(shape)) fail(op, inputs, `invalid shape attr ${JSON.stringify(shape)} (extents must be positive integers)`);
  return [...shape];
}

const unary = (op: OpName): OpSpec => ({
  kind: 'elementwise',
  arity: 1,
  attrs: {},
  infer: (inputs) => {
    requireAllF32(op, inputs);
    return { shape: inputs[0]!.shape, dtype: 'f32' };
  },
});

const binary = (op: OpName, commutative = false): OpSpec => ({
  kind: 'elementwise',
  arity: 2,
  attrs: {},
  commutative,
  infer: (inputs) => {
    requireAllF32(op, inputs);
    return { shape: broadcastAll(op, inputs, inputs.map((t) => t.shape)), dtype: 'f32' };
  },
});

const reduction = (op: OpName): OpSpec => ({
  kind: 'reduction',
  arity: 1,
  attrs: { axes: { kind: 'ints' }, keepDims: { kind: 'boolean', default: false } },
  canonicalize: (inputs, attrs) => {
    const rank = inputs[0]!.shape.length;
    const axes = [...new Set((attrs.axes as number[]).map((a) => axisAttr(op, inputs, a, rank)))].sort((x, y) => x - y);
    return { ...attrs, axes };
  },
  infer: (inputs, attrs) => {
    requireAllF32(op, inputs);
    const axes = attrs.axes as number[];
    const keep = attrs.keepDims as boolean;
    const shape: number[] = [];
    inputs[0]!.shape.forEach((d, i) => {
      if (!axes.includes(i)) shape.push(d);
      else if (keep) shape.push(1);
    });
    return { shape, dtype: 'f32' };
  },
});

const rowwise = (op: OpName): OpSpec => ({
  kind: 'rowwise',
  arity: 1,
  attrs: { axis: { kind: 'int', default: -1 } },
  canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr(op, inputs, attrs.axis!, inputs[0]!.shape.length) }),
  infer: (inputs) => {
    requireAllF32(op, inputs);
    if (inputs[0]!.shape.length === 0) fail(op, inputs, 'needs at least one axis');
    return { shape: inputs[0]!.shape, dtype: 'f32' };
  },
});


/** The result type of op(a)·op(b) (batched, leading axes broadcast): the matmul shape rule. */
function matmulType(op: OpName, inputs: readonly TypeInfo[], a: TypeInfo, b: TypeInfo, attrs: Attrs): TypeInfo {
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

/** Activations a fusedMatmul may apply last (each as the op of the same name computes it). */
export const MATMUL_ACTIVATIONS: readonly string[] = ['', 'relu', 'gelu', 'tanh', 'sigmoid'];

/** Operand positions of a fusedMatmul, from its attrs: a, b, then a2, b2, bias, rowBias when present. */
export function fusedMatmulOperands(attrs: Attrs): { a2?: number; b2?: number; bias?: number; rowBias?: number; count: number } {
  let at = 2;
  const out: { a2?: number; b2?: number; bias?: number; rowBias?: number; count: number } = { count: 0 };
  if (attrs.concat) {
    out.a2 = at++;
    out.b2 = at++;
  }
  if (attrs.bias) out.bias = at++;
  if (attrs.rowBias) out.rowBias = at++;
  out.count = at;
  return out;
}

/**
 * fusedMatmul: act(scale·(alpha·(op(A)·op(B) + concatScale·A2·B2ᵀ) + bias + rowBias)) — the
 * matmul kernel with its epilogue (bias along N, bias along M, scale, activation) and the
 * concatenated inner dimension of the LoRA form [x | s·u]·[W | B]ᵀ.
 */
function fusedMatmulType(inputs: readonly TypeInfo[], attrs: Attrs): TypeInfo {
  const op = 'fusedMatmul';
  const slots = fusedMatmulOperands(attrs);
  if (inputs.length !== slots.count) fail(op, inputs, `expects ${slots.count} operands for its attrs, got ${inputs.length}`);
  const out = matmulType(op, inputs, inputs[0]!, inputs[1]!, attrs);
  const rank = out.shape.length;
  const [m, n] = [out.shape[rank - 2]!, out.shape[rank - 1]!];
  let shape = out.shape;
  if (slots.a2 !== undefined) {
    const pair = matmulType(op, inputs, inputs[slots.a2]!, inputs[slots.b2!]!, { transA: false, transB: true });
    const pr = pair.shape.length;
    if (pair.shape[pr - 2] !== m || pair.shape[pr - 1] !== n) fail(op, inputs, `A2·B2ᵀ is [${pair.shape.join(', ')}], the product is [${out.shape.join(', ')}]`);
    const b = broadcastShapes(out.shape, pair.shape);
    if (!b) fail(op, inputs, 'the concatenated pair does not broadcast with the product');
    shape = b;
  }
  // A bias along N is [..., N] with every other extent 1; one along M is [..., M, 1].
  const isVector = (t: TypeInfo, last: number[]): boolean =>
    t.shape.length >= last.length && t.shape.length <= shape.length
    && t.shape.slice(t.shape.length - last.length).every((d, i) => d === last[i])
    && t.shape.slice(0, t.shape.length - last.length).every((d) => d === 1);
  if (slots.bias !== undefined && !isVector(inputs[slots.bias]!, [n])) fail(op, inputs, `bias must be [${n}] (one value per column)`);
  if (slots.rowBias !== undefined && !isVector(inputs[slots.rowBias]!, [m, 1])) fail(op, inputs, `rowBias must be [${m}, 1] (one value per row)`);
  if (!MATMUL_ACTIVATIONS.includes(attrs.activation as string)) fail(op, inputs, `unknown activation "${String(attrs.activation)}"`);
  return { shape, dtype: 'f32' };
}


/**
 * writeRow(buffer [K, ...], row [...], index []): the buffer with row `index` replaced by `row` —
 * exactly select(eq(iota [K, 1, ...] along 0, index), row, buffer): an index that is not a whole
 * number in [0, K) writes nothing. The ring buffer of a posterior's `last(K, e)`.
 */
function writeRowType(op: OpName, inputs: readonly TypeInfo[], buffer: TypeInfo, row: TypeInfo, index: TypeInfo): TypeInfo {
  if (buffer.shape.length < 1) fail(op, inputs, 'the buffer needs a leading row axis');
  if (buffer.dtype !== row.dtype) fail(op, inputs, `the row is ${row.dtype}, the buffer ${buffer.dtype}`);
  if (!shapesEqual(row.shape, buffer.shape.slice(1))) fail(op, inputs, `the row must be [${buffer.shape.slice(1).join(', ')}] (a row of the buffer), got [${row.shape.join(', ')}]`);
  if (index.dtype !== 'f32' || index.shape.length !== 0) fail(op, inputs, 'the row index must be an f32 scalar');
  return buffer;
}

/**
 * fusedLowRank(B [K, N], reads...) {coef, epilogue}: dot = c·B, [1, N], with the coefficients
 * c ([K] or [1, K]) computed by the `coef` body over the reads, then the `epilogue` body over
 * [dot, ...reads] ($0 the product, $k read k − 1) gives the result.
 */
/** Most rows K of a fusedLowRank factor (its kernel holds one coefficient per invocation of a 256-wide workgroup). */
export const MAX_LOW_RANK = 256;

export function fusedLowRankTypes(op: OpName, inputs: readonly TypeInfo[], attrs: Attrs): { coef: TypeInfo; dot: TypeInfo } {
  const b = inputs[0]!;
  if (b.dtype !== 'f32' || b.shape.length !== 2) fail(op, inputs, 'the low-rank factor must be an f32 matrix [K, N]');
  const types = inferBody(parseBody(attrs.coef as string), inputs.slice(1));
  const coef = types[types.length - 1]!;
  const K = b.shape[0]!;
  if (K > MAX_LOW_RANK) fail(op, inputs, `rank ${K} exceeds ${MAX_LOW_RANK}`);
  const cs = coef.shape;
  if (coef.dtype !== 'f32' || !((cs.length === 1 && cs[0] === K) || (cs.length === 2 && cs[0] === 1 && cs[1] === K))) {
    fail(op, inputs, `the coefficients must be f32 [${K}] or [1, ${K}], got ${coef.dtype} [${cs.join(', ')}]`);
  }
  return { coef, dot: { shape: [1, b.shape[1]!], dtype: 'f32' } };
}

/**
 * fusedSoftmax: softmax (or logSoftmax, `log`) along `axis` with an elementwise prologue computing
 * its input from the operands (`prologue` body; '' = operand 0 is the input) and an epilogue
 * applied to each result (`epilogue` body over [result, ...operands]; '' = none).
 */
export function fusedSoftmaxInput(inputs: readonly TypeInfo[], attrs: Attrs): TypeInfo {
  if (attrs.prologue === '') return inputs[0]!;
  const types = inferBody(parseBody(attrs.prologue as string), inputs);
  return types[types.length - 1]!;
}

/** The op table. */
export const OPS: { readonly [K in OpName]: OpSpec } = {
  input: {
    kind: 'source',
    arity: 0,
    attrs: {
      name: { kind: 'string' },
      role: { kind: 'role', default: 'input' },
      shape: { kind: 'ints', printed: false },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    infer: (inputs, attrs) => ({ shape: shapeAttr('input', inputs, attrs.shape!), dtype: attrs.dtype as DType }),
  },
  constant: {
    kind: 'source',
    arity: 0,
    attrs: {
      value: { kind: 'number' },
      shape: { kind: 'ints', default: [], printed: false },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    infer: (inputs, attrs) => {
      const dtype = attrs.dtype as DType;
      if (dtype === 'i32' && !Number.isInteger(attrs.value)) fail('constant', inputs, `i32 constant ${String(attrs.value)} is not an integer`);
      return { shape: shapeAttr('constant', inputs, attrs.shape!), dtype };
    },
  },
  literal: {
    kind: 'source',
    arity: 0,
    attrs: {
      values: { kind: 'numbers' },
      shape: { kind: 'ints', printed: false },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    infer: (inputs, attrs) => {
      const shape = shapeAttr('literal', inputs, attrs.shape!);
      const values = attrs.values as number[];
      if (values.length !== shape.reduce((a, b) => a * b, 1)) fail('literal', inputs, `${values.length} values for the shape`, [shape]);
      if (attrs.dtype === 'i32' && !values.every(Number.isInteger)) fail('literal', inputs, 'i32 literal with non-integer values');
      return { shape, dtype: attrs.dtype as DType };
    },
  },
  iota: {
    kind: 'source',
    arity: 0,
    attrs: {
      shape: { kind: 'ints', printed: false },
      axis: { kind: 'int' },
      dtype: { kind: 'dtype', default: 'f32', printed: false },
    },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('iota', inputs, attrs.axis!, (attrs.shape as number[]).length) }),
    infer: (inputs, attrs) => ({ shape: shapeAttr('iota', inputs, attrs.shape!), dtype: attrs.dtype as DType }),
  },

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

  select: {
    kind: 'elementwise',
    arity: 3,
    attrs: {},
    infer: (inputs) => {
      requireDType('select', inputs, 0, 'f32', 'condition');
      if (inputs[1]!.dtype !== inputs[2]!.dtype) fail('select', inputs, `branches differ in dtype (${inputs[1]!.dtype} vs ${inputs[2]!.dtype})`);
      return { shape: broadcastAll('select', inputs, inputs.map((t) => t.shape)), dtype: inputs[1]!.dtype };
    },
  },
  cast: {
    kind: 'elementwise',
    arity: 1,
    attrs: { to: { kind: 'dtype', default: 'f32' } },
    infer: (inputs, attrs) => {
      // Only i32 → f32: token ids and labels into arithmetic. Nothing needs the reverse yet.
      if (attrs.to !== 'f32') fail('cast', inputs, `cast to ${String(attrs.to)} is not supported`);
      requireDType('cast', inputs, 0, 'i32');
      return { shape: inputs[0]!.shape, dtype: 'f32' };
    },
  },
  dropout: {
    kind: 'elementwise',
    arity: 2,
    attrs: { p: { kind: 'number' }, stream: { kind: 'int', default: 0 } },
    infer: (inputs, attrs) => {
      requireDType('dropout', inputs, 0, 'f32');
      requireDType('dropout', inputs, 1, 'i32', 'seed');
      if (inputs[1]!.shape.length !== 0) fail('dropout', inputs, 'seed must be a scalar');
      const p = attrs.p as number;
      if (!(p >= 0 && p < 1)) fail('dropout', inputs, `p = ${p} outside [0, 1)`);
      return { shape: inputs[0]!.shape, dtype: 'f32' };
    },
  },
  randomNormal: {
    kind: 'elementwise',
    arity: 1,
    attrs: { shape: { kind: 'ints', printed: false }, stream: { kind: 'int', default: 0 } },
    infer: (inputs, attrs) => {
      requireDType('randomNormal', inputs, 0, 'i32', 'seed');
      if (inputs[0]!.shape.length !== 0) fail('randomNormal', inputs, 'seed must be a scalar');
      if (!((attrs.stream as number) >= 0)) fail('randomNormal', inputs, `stream ${String(attrs.stream)} must be non-negative`);
      return { shape: shapeAttr('randomNormal', inputs, attrs.shape!), dtype: 'f32' };
    },
  },

  matmul: {
    kind: 'matmul',
    arity: 2,
    attrs: { transA: { kind: 'boolean', default: false }, transB: { kind: 'boolean', default: false } },
    infer: (inputs, attrs) => matmulType('matmul', inputs, inputs[0]!, inputs[1]!, attrs),
  },
  sum: reduction('sum'),
  mean: reduction('mean'),
  reduceMax: reduction('reduceMax'),

  reshape: {
    kind: 'layout',
    arity: 1,
    attrs: { shape: { kind: 'ints', printed: false } },
    canonicalize: (inputs, attrs) => {
      // One -1 extent is inferred from the element count.
      const shape = [...(attrs.shape as number[])];
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
      const shape = shapeAttr('reshape', inputs, attrs.shape!);
      const from = inputs[0]!.shape.reduce((p, d) => p * d, 1);
      if (shape.reduce((p, d) => p * d, 1) !== from) fail('reshape', inputs, 'element counts differ', [shape]);
      return { shape, dtype: inputs[0]!.dtype };
    },
  },
  transpose: {
    kind: 'layout',
    arity: 1,
    attrs: { perm: { kind: 'ints' } },
    infer: (inputs, attrs) => {
      const perm = attrs.perm as number[];
      const rank = inputs[0]!.shape.length;
      const sorted = [...perm].sort((x, y) => x - y);
      if (perm.length !== rank || !sorted.every((p, i) => p === i)) {
        fail('transpose', inputs, `perm [${perm.join(', ')}] is not a permutation of rank ${rank}`);
      }
      return { shape: perm.map((p) => inputs[0]!.shape[p]!), dtype: inputs[0]!.dtype };
    },
  },
  broadcastTo: {
    kind: 'layout',
    arity: 1,
    attrs: { shape: { kind: 'ints', printed: false } },
    infer: (inputs, attrs) => {
      const shape = shapeAttr('broadcastTo', inputs, attrs.shape!);
      const b = broadcastShapes(inputs[0]!.shape, shape);
      if (!b || !shapesEqual(b, shape)) fail('broadcastTo', inputs, 'operand does not broadcast to the target', [shape]);
      return { shape, dtype: inputs[0]!.dtype };
    },
  },
  concat: {
    kind: 'layout',
    arity: 'variadic',
    attrs: { axis: { kind: 'int' } },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('concat', inputs, attrs.axis!, inputs[0]!.shape.length) }),
    infer: (inputs, attrs) => {
      const axis = attrs.axis as number;
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
  },
  slice: {
    kind: 'layout',
    arity: 1,
    attrs: { axis: { kind: 'int' }, start: { kind: 'int' }, size: { kind: 'int' } },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('slice', inputs, attrs.axis!, inputs[0]!.shape.length) }),
    infer: (inputs, attrs) => {
      const [axis, start, size] = [attrs.axis as number, attrs.start as number, attrs.size as number];
      const shape = [...inputs[0]!.shape];
      if (axis < 0 || axis >= shape.length) fail('slice', inputs, `axis ${axis} out of range`);
      if (start < 0 || size < 1 || start + size > shape[axis]!) {
        fail('slice', inputs, `[${start}, ${start + size}) outside extent ${shape[axis]} of axis ${axis}`);
      }
      shape[axis] = size;
      return { shape, dtype: inputs[0]!.dtype };
    },
  },

  gather: {
    kind: 'indexing',
    arity: 2,
    attrs: {},
    infer: (inputs) => {
      const [table, ids] = inputs as [TypeInfo, TypeInfo];
      if (table.shape.length !== 2) fail('gather', inputs, 'table must be [rows, d]');
      requireDType('gather', inputs, 1, 'i32', 'ids');
      return { shape: [...ids.shape, table.shape[1]!], dtype: table.dtype };
    },
  },
  scatterAdd: {
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
      const rows = attrs.rows as number;
      if (!Number.isInteger(rows) || rows < 1) fail('scatterAdd', inputs, `rows = ${rows} must be a positive integer`);
      return { shape: [rows, updates.shape[updates.shape.length - 1]!], dtype: 'f32' };
    },
  },

  softmax: rowwise('softmax'),
  logSoftmax: rowwise('logSoftmax'),
  layerNorm: {
    kind: 'rowwise',
    arity: 3,
    attrs: { eps: { kind: 'number', default: 1e-5 } },
    infer: (inputs, attrs) => {
      requireAllF32('layerNorm', inputs);
      const [x, gamma, beta] = inputs as [TypeInfo, TypeInfo, TypeInfo];
      if (x.shape.length === 0) fail('layerNorm', inputs, 'normalises the last axis; operand is a scalar');
      const d = x.shape[x.shape.length - 1]!;
      if (!shapesEqual(gamma.shape, [d]) || !shapesEqual(beta.shape, [d])) fail('layerNorm', inputs, `gamma and beta must be [${d}]`);
      if (!((attrs.eps as number) > 0)) fail('layerNorm', inputs, 'eps must be positive');
      return { shape: x.shape, dtype: 'f32' };
    },
  },
  crossEntropy: {
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
  },

  fusedElementwise: {
    kind: 'fused',
    arity: 'variadic',
    attrs: { body: { kind: 'string' } },
    infer: (inputs, attrs) => {
      const types = inferBody(parseBody(attrs.body as string), inputs);
      return types[types.length - 1]!;
    },
  },
  fusedSoftmax: {
    kind: 'fused',
    arity: 'variadic',
    attrs: {
      axis: { kind: 'int', default: -1 },
      log: { kind: 'boolean', default: false },
      prologue: { kind: 'string', default: '' },
      epilogue: { kind: 'string', default: '' },
    },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('fusedSoftmax', inputs, attrs.axis!, fusedSoftmaxInput(inputs, attrs).shape.length) }),
    infer: (inputs, attrs) => {
      const x = fusedSoftmaxInput(inputs, attrs);
      if (x.dtype !== 'f32' || x.shape.length === 0) fail('fusedSoftmax', inputs, 'the softmax input must be an f32 tensor of rank ≥ 1');
      const axis = attrs.axis as number;
      if (axis < 0 || axis >= x.shape.length) fail('fusedSoftmax', inputs, `axis ${axis} out of range`);
      if (attrs.epilogue === '') return x;
      const types = inferBody(parseBody(attrs.epilogue as string), [x, ...inputs]);
      const out = types[types.length - 1]!;
      if (!shapesEqual(out.shape, x.shape)) fail('fusedSoftmax', inputs, 'the epilogue must keep the softmax shape');
      return out;
    },
  },
  writeRow: {
    kind: 'indexing',
    arity: 3,
    attrs: {},
    infer: (inputs) => writeRowType('writeRow', inputs, inputs[0]!, inputs[1]!, inputs[2]!),
  },
  fusedWriteRow: {
    kind: 'fused',
    arity: 'variadic',
    attrs: { row: { kind: 'string' }, index: { kind: 'string' } },
    infer: (inputs, attrs) => {
      const reads = inputs.slice(1);
      const row = inferBody(parseBody(attrs.row as string), reads);
      const index = inferBody(parseBody(attrs.index as string), reads);
      return writeRowType('fusedWriteRow', inputs, inputs[0]!, row[row.length - 1]!, index[index.length - 1]!);
    },
  },
  fusedLowRank: {
    kind: 'fused',
    arity: 'variadic',
    attrs: { coef: { kind: 'string' }, epilogue: { kind: 'string' } },
    infer: (inputs, attrs) => {
      const { dot } = fusedLowRankTypes('fusedLowRank', inputs, attrs);
      const types = inferBody(parseBody(attrs.epilogue as string), [dot, ...inputs.slice(1)]);
      return types[types.length - 1]!;
    },
  },
  fusedMatmul: {
    kind: 'matmul',
    arity: 'variadic',
    attrs: {
      transA: { kind: 'boolean', default: false },
      transB: { kind: 'boolean', default: false },
      concat: { kind: 'boolean', default: false },
      concatScale: { kind: 'number', default: 1 },
      bias: { kind: 'boolean', default: false },
      rowBias: { kind: 'boolean', default: false },
      alpha: { kind: 'number', default: 1 },
      scale: { kind: 'number', default: 1 },
      activation: { kind: 'string', default: '' },
    },
    infer: (inputs, attrs) => fusedMatmulType(inputs, attrs),
  },
};

/** True when `value` is a valid attr of the given kind. */
export function attrMatchesKind(kind: AttrKind, value: AttrValue | undefined): boolean {
  switch (kind) {
    case 'int':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'ints':
      return Array.isArray(value) && value.every((v) => Number.isInteger(v));
    case 'numbers':
      return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v));
    case 'dtype':
      return value === 'f32' || value === 'i32';
    case 'role':
      return value === 'input' || value === 'param' || value === 'frozen' || value === 'state';
  }
}

/** True when `op` names an op in the table. */
export function isOpName(op: string): op is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, op);
}

/** The spec of an op. */
export function opSpec(op: OpName): OpSpec {
  return OPS[op];
}
