/**
 * Constant folding and algebraic simplification.
 *
 * 1. Small constant subgraphs: an op whose operands are all constants (filled `constant`s,
 *    `literal`s, small `iota`s) and whose result has at most `maxElements` elements is evaluated
 *    by the interpreter and replaced by a `constant` (all elements equal) or a `literal`.
 * 2. Filled tensors of any size: elementwise, layout and reduction ops over filled constants give
 *    a filled constant (zeros from autodiff, broadcast scalars), computed from one element.
 * 3. Identities that hold for every input, NaN and ±Inf included:
 *    x+0, 0+x, x−0, x·1, 1·x, x/1, x^1 → x;  0−x, x·(−1) → −x;  −(−x) → x;
 *    x^2 → x², x^0.5 → √x, x^−1 → 1/x (also safer on the GPU: WGSL `pow` is undefined for x < 0);
 *    dropout with p = 0, detach (a stop-gradient: the identity after autodiff), reshape/broadcastTo to the same shape, identity transposes, full slices,
 *    one-operand concats, reductions over no axes → their operand (reshaped where needed);
 *    reshape∘reshape → one reshape; transpose∘transpose → one transpose;
 *    select with a constant condition → the chosen branch.
 *    (x + 0 → x differs only for x = −0, whose sign we do not preserve.)
 *    Where the identity's result is smaller than the op's (x + 0 with a broadcast 0), the operand
 *    is broadcast to the op's shape.
 * 4. Not done by default, because they are wrong for NaN or ±Inf operands: x·0 → 0 and x − x → 0.
 *    `assumeFinite: true` enables them (fast-math style).
 * Results that would not be finite are left unfolded (constants must be finite).
 */
import {
  GraphBuilder, IREvaluationError, OPS, attrsOf, evaluateOp, numel, rewriteGraph, shapesEqual,
  type Graph, type Node, type Shape, type TensorData, type Value,
} from '../ir/index.ts';

export interface ConstantFoldOptions {
  /** Largest result (in elements) folded into a literal. Default 64. */
  readonly maxElements?: number;
  /** Enables x·0 → 0 and x − x → 0, which are wrong for NaN/Inf operands. Default false. */
  readonly assumeFinite?: boolean;
}

/** Ops that map filled operands to a filled result, computable from one element. */
function foldsUniformly(op: Node['op']): boolean {
  const kind = OPS[op].kind;
  return (kind === 'elementwise' && op !== 'dropout' && op !== 'randomNormal') || kind === 'layout' || kind === 'reduction';
}

export function foldConstants(g: Graph, options: ConstantFoldOptions = {}): Graph {
  const maxElements = options.maxElements ?? 64;
  const assumeFinite = options.assumeFinite ?? false;

  return rewriteGraph(g, (node, ctx) => {
    const b = ctx.builder;
    const src = ctx.inputs.map((v) => b.nodeOf(v));
    const fill = (i: number): number | undefined => (src[i]?.op === 'constant' ? attrsOf(src[i]!, 'constant').value : undefined);
    const isFill = (i: number, value: number): boolean => fill(i) === value;
    // The operand itself, stretched to this node's shape if the op broadcast it.
    const as = (i: number): Value => {
      const v = ctx.inputs[i]!;
      return shapesEqual(v.shape, node.shape) ? v : b.broadcastTo(v, node.shape);
    };

    // A literal whose elements are all equal is a filled constant.
    if (node.op === 'literal') {
      const values = attrsOf(node, 'literal').values;
      if (values.every((v) => v === values[0])) return b.constant(values[0]!, node.shape, node.dtype);
      return undefined;
    }
    if (node.op === 'constant' || node.op === 'iota' || node.op === 'input') return undefined;

    // 1. Small constant subgraphs: evaluate.
    const known = src.every((n) => n.op === 'constant' || n.op === 'literal' || (n.op === 'iota' && numel(n.shape) <= maxElements));
    if (known && node.op !== 'dropout' && node.op !== 'randomNormal' && numel(node.shape) <= maxElements && src.every((n) => numel(n.shape) <= maxElements)) {
      const inputs = src.map((n) => ({ shape: n.shape, dtype: n.dtype, data: evaluateOp(n, []) }));
      let data: TensorData | undefined;
      try {
        data = evaluateOp(node, inputs);
      } catch (e) {
        // e.g. a constant id outside a gather table: leave it for the runtime to report.
        if (!(e instanceof IREvaluationError)) throw e;
      }
      const folded = data && emitConstant(b, data, node.shape, node.dtype);
      if (folded) return folded;
    }

    // 2. Filled operands of any size.
    if (src.length > 0 && src.every((n) => n.op === 'constant') && foldsUniformly(node.op)) {
      const value = uniformResult(node, src);
      if (value !== undefined && Number.isFinite(value)) return b.constant(value, node.shape, node.dtype);
    }

    // 3. Identities.
    const x = ctx.inputs[0]!;
    switch (node.op) {
      case 'add':
        if (isFill(1, 0)) return as(0);
        if (isFill(0, 0)) return as(1);
        break;
      case 'sub':
        if (isFill(1, 0)) return as(0);
        if (isFill(0, 0)) return b.neg(as(1));
        if (assumeFinite && ctx.inputs[0]!.id === ctx.inputs[1]!.id) return b.zeros(node.shape);
        break;
      case 'mul':
        if (isFill(1, 1)) return as(0);
        if (isFill(0, 1)) return as(1);
        if (isFill(1, -1)) return b.neg(as(0));
        if (isFill(0, -1)) return b.neg(as(1));
        if (assumeFinite && (isFill(0, 0) || isFill(1, 0))) return b.zeros(node.shape);
        break;
      case 'div':
        if (isFill(1, 1)) return as(0);
        break;
      case 'pow':
        if (isFill(1, 1)) return as(0);
        if (isFill(1, 2)) return b.square(as(0));
        if (isFill(1, 0.5)) return b.sqrt(as(0));
        if (isFill(1, -1)) return b.reciprocal(as(0));
        break;
      case 'neg':
        if (src[0]!.op === 'neg') return b.value(src[0]!.inputs[0]!);
        break;
      case 'select': {
        const c = fill(0);
        if (c !== undefined) return as(c !== 0 ? 1 : 2);
        break;
      }
      case 'dropout':
        if (node.attrs.p === 0) return x;
        break;
      // A stop-gradient is the identity once gradients are taken (simplify runs after autodiff).
      case 'detach':
        return x;
      case 'reshape':
        if (shapesEqual(x.shape, node.shape)) return x;
        if (src[0]!.op === 'reshape') {
          const base = b.value(src[0]!.inputs[0]!);
          return shapesEqual(base.shape, node.shape) ? base : b.reshape(base, node.shape);
        }
        break;
      case 'broadcastTo':
        if (shapesEqual(x.shape, node.shape)) return x;
        break;
      case 'transpose': {
        const perm = attrsOf(node, 'transpose').perm;
        if (perm.every((p, i) => p === i)) return x;
        if (src[0]!.op === 'transpose') {
          const inner = attrsOf(src[0]!, 'transpose').perm;
          const composed = perm.map((p) => inner[p]!);
          const base = b.value(src[0]!.inputs[0]!);
          return composed.every((p, i) => p === i) ? base : b.transpose(base, composed);
        }
        break;
      }
      case 'slice':
        if (shapesEqual(x.shape, node.shape)) return x;
        break;
      case 'concat':
        if (ctx.inputs.length === 1) return x;
        break;
      case 'sum':
      case 'mean':
      case 'reduceMax': {
        const axes = attrsOf(node, 'sum', 'mean', 'reduceMax').axes;
        // Reducing only extent-1 axes moves no data: a reshape (or nothing).
        if (axes.every((a) => x.shape[a] === 1)) return shapesEqual(x.shape, node.shape) ? x : b.reshape(x, node.shape);
        break;
      }
    }
    return undefined;
  });
}

/** A constant (all equal) or literal for folded data; undefined when some value is not finite. */
function emitConstant(b: GraphBuilder, data: TensorData, shape: Shape, dtype: Node['dtype']): Value | undefined {
  const values = Array.from(data);
  if (!values.every(Number.isFinite)) return undefined;
  if (values.every((v) => v === values[0])) return b.constant(values[0]!, shape, dtype);
  return b.literal(values, shape, dtype);
}

/** The single element value of an op over filled operands (see `foldsUniformly`). */
function uniformResult(node: Node, src: readonly Node[]): number | undefined {
  const value = (i: number): number => attrsOf(src[i]!, 'constant').value;
  if (OPS[node.op].kind === 'layout') {
    // concat of differing fills is not uniform.
    return src.every((n) => n.attrs.value === src[0]!.attrs.value) ? value(0) : undefined;
  }
  if (node.op === 'sum') return value(0) * (numel(src[0]!.shape) / numel(node.shape));
  if (node.op === 'mean' || node.op === 'reduceMax') return value(0);
  // Elementwise: evaluate on one-element operands.
  const inputs = src.map((n) => ({ shape: [] as number[], dtype: n.dtype, data: evaluateOp({ ...n, shape: [] }, []) }));
  return evaluateOp({ ...node, shape: [] }, inputs)[0];
}
