/**
 * The fused ops the passes make (compiler/passes/fuse*.ts), after autodiff: for each, its arity,
 * attr schema and shape rule. A fused op's bodies are programs of primitive ops (`body.ts`), and
 * its shape rule runs theirs, so this module builds on `primitive.ts` and `body.ts`; nothing
 * below imports it. None has a gradient: differentiate first, then fuse.
 */
import { broadcastShapes, shapesEqual } from '../shape.ts';
import type { TypeInfo } from '../types.ts';
import { inferBody, parseBody } from './body.ts';
import { matmulType, writeRowType } from './primitive.ts';
import { axisAttr, defineOp, fail, type AttrsFromSchema } from './spec.ts';

/** Activations a fusedMatmul may apply last (each as the op of the same name computes it). */
export const MATMUL_ACTIVATIONS: readonly string[] = ['', 'relu', 'gelu', 'tanh', 'sigmoid'];

/** Operand positions of a fusedMatmul, from its attrs: a, b, then a2, b2, bias, rowBias when present. */
export function fusedMatmulOperands(attrs: { readonly concat: boolean; readonly bias: boolean; readonly rowBias: boolean }): { a2?: number; b2?: number; bias?: number; rowBias?: number; count: number } {
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

/** The attrs fusedMatmul's shape rule reads. */
interface FusedMatmulAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly concat: boolean;
  readonly bias: boolean;
  readonly rowBias: boolean;
  readonly activation: string;
}

/**
 * fusedMatmul: act(scale·(alpha·(op(A)·op(B) + concatScale·A2·B2ᵀ) + bias + rowBias)) — the
 * matmul kernel with its epilogue (bias along N, bias along M, scale, activation) and the
 * concatenated inner dimension of the LoRA form [x | s·u]·[W | B]ᵀ.
 */
function fusedMatmulType(inputs: readonly TypeInfo[], attrs: FusedMatmulAttrs): TypeInfo {
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
  if (!MATMUL_ACTIVATIONS.includes(attrs.activation)) fail(op, inputs, `unknown activation "${String(attrs.activation)}"`);
  return { shape, dtype: 'f32' };
}

/**
 * fusedLowRank(B [K, N], reads...) {coef, epilogue}: dot = c·B, [1, N], with the coefficients
 * c ([K] or [1, K]) computed by the `coef` body over the reads, then the `epilogue` body over
 * [dot, ...reads] ($0 the product, $k read k − 1) gives the result.
 */
/** Most rows K of a fusedLowRank factor (its kernel holds one coefficient per invocation of a 256-wide workgroup). */
export const MAX_LOW_RANK = 256;

export function fusedLowRankTypes(op: string, inputs: readonly TypeInfo[], attrs: { readonly coef: string }): { coef: TypeInfo; dot: TypeInfo } {
  const b = inputs[0]!;
  if (b.dtype !== 'f32' || b.shape.length !== 2) fail(op, inputs, 'the low-rank factor must be an f32 matrix [K, N]');
  const types = inferBody(parseBody(attrs.coef), inputs.slice(1));
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
export function fusedSoftmaxInput(inputs: readonly TypeInfo[], attrs: { readonly prologue: string }): TypeInfo {
  if (attrs.prologue === '') return inputs[0]!;
  const types = inferBody(parseBody(attrs.prologue), inputs);
  return types[types.length - 1]!;
}

/** The fused ops. */
export const FUSED_OPS = {
  fusedElementwise: defineOp({
    kind: 'fused',
    arity: 'variadic',
    attrs: { body: { kind: 'string' } },
    infer: (inputs, attrs) => {
      const types = inferBody(parseBody(attrs.body), inputs);
      return types[types.length - 1]!;
    },
  }),
  fusedSoftmax: defineOp({
    kind: 'fused',
    arity: 'variadic',
    attrs: {
      axis: { kind: 'int', default: -1 },
      log: { kind: 'boolean', default: false },
      prologue: { kind: 'string', default: '' },
      epilogue: { kind: 'string', default: '' },
    },
    canonicalize: (inputs, attrs) => ({ ...attrs, axis: axisAttr('fusedSoftmax', inputs, attrs.axis, fusedSoftmaxInput(inputs, attrs).shape.length) }),
    infer: (inputs, attrs) => {
      const x = fusedSoftmaxInput(inputs, attrs);
      if (x.dtype !== 'f32' || x.shape.length === 0) fail('fusedSoftmax', inputs, 'the softmax input must be an f32 tensor of rank ≥ 1');
      const axis = attrs.axis;
      if (axis < 0 || axis >= x.shape.length) fail('fusedSoftmax', inputs, `axis ${axis} out of range`);
      if (attrs.epilogue === '') return x;
      const types = inferBody(parseBody(attrs.epilogue), [x, ...inputs]);
      const out = types[types.length - 1]!;
      if (!shapesEqual(out.shape, x.shape)) fail('fusedSoftmax', inputs, 'the epilogue must keep the softmax shape');
      return out;
    },
  }),
  fusedWriteRow: defineOp({
    kind: 'fused',
    arity: 'variadic',
    attrs: { row: { kind: 'string' }, index: { kind: 'string' } },
    infer: (inputs, attrs) => {
      const reads = inputs.slice(1);
      const row = inferBody(parseBody(attrs.row), reads);
      const index = inferBody(parseBody(attrs.index), reads);
      return writeRowType('fusedWriteRow', inputs, inputs[0]!, row[row.length - 1]!, index[index.length - 1]!);
    },
  }),
  fusedLowRank: defineOp({
    kind: 'fused',
    arity: 'variadic',
    attrs: { coef: { kind: 'string' }, epilogue: { kind: 'string' } },
    infer: (inputs, attrs) => {
      const { dot } = fusedLowRankTypes('fusedLowRank', inputs, attrs);
      const types = inferBody(parseBody(attrs.epilogue), [dot, ...inputs.slice(1)]);
      return types[types.length - 1]!;
    },
  }),
  fusedMatmul: defineOp({
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
  }),
};

/** A fused op's name. */
export type FusedOpName = keyof typeof FUSED_OPS;

/** The typed attrs of a fused op. */
export type FusedAttrs<K extends FusedOpName> = AttrsFromSchema<(typeof FUSED_OPS)[K]['attrs']>;
