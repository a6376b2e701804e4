/**
 * Gradient rules (vector-Jacobian products), one per op, written with the builder so the
 * backward pass is ordinary IR that the same passes simplify, fuse and schedule.
 *
 * A rule gets the adjoint `grad` of the node's output and returns, per operand, its contribution
 * to that operand's adjoint (undefined where `needs[i]` is false or the operand is not
 * differentiable). Contributions may have the broadcast (output) shape: `differentiate` sums them
 * back to the operand's shape, so elementwise rules need not handle broadcasting.
 * `null` marks an op with no gradient (sources, comparisons, casts from i32).
 */
import type { GraphBuilder, Value } from './builder.ts';
import type { Node } from './graph.ts';
import { attrsOf, type OpName } from './ops/index.ts';

export interface GradientContext {
  readonly b: GraphBuilder;
  /** The forward node. */
  readonly node: Node;
  /** Its operands and its output, as values of the graph being built. */
  readonly inputs: readonly Value[];
  readonly output: Value;
  /** Adjoint of the output (same shape as the output). */
  readonly grad: Value;
  /** Which operands need a gradient. */
  readonly needs: readonly boolean[];
}

export type GradientRule = (ctx: GradientContext) => readonly (Value | undefined)[];

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** Shape with the reduced axes kept as extent 1 (the adjoint of a reduction broadcasts back). */
function keepShape(node: Node, input: Value): number[] {
  const axes = attrsOf(node, 'sum', 'mean', 'reduceMax').axes;
  return input.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reshapeIfNeeded(b: GraphBuilder, v: Value, shape: readonly number[]): Value {
  return v.shape.length === shape.length && v.shape.every((d, i) => d === shape[i]) ? v : b.reshape(v, shape);
}

/** Rules for a rowwise op's axis: keepDims sum along it. */
function sumAxis(b: GraphBuilder, v: Value, axis: number): Value {
  return b.sum(v, [axis], { keepDims: true });
}

export const GRADIENTS: { readonly [K in OpName]: GradientRule | null } = {
  input: null,
  constant: null,
  literal: null,
  iota: null,

  neg: ({ b, grad }) => [b.neg(grad)],
  exp: ({ b, grad, output }) => [b.mul(grad, output)],
  log: ({ b, grad, inputs: [x] }) => [b.div(grad, x!)],
  sqrt: ({ b, grad, output }) => [b.div(b.mul(grad, 0.5), output)],
  // d/dx x^(-1/2) = -½ x^(-3/2) = -½ y³
  rsqrt: ({ b, grad, output: y }) => [b.mul(grad, b.mul(b.mul(b.square(y), y), -0.5))],
  tanh: ({ b, grad, output: y }) => [b.mul(grad, b.sub(1, b.square(y)))],
  relu: ({ b, grad, inputs: [x] }) => [b.mul(grad, b.gt(x!, 0))],
  gelu: ({ b, grad, inputs: [x] }) => {
    // y = ½x(1 + t), t = tanh(c(x + a x³)); y' = ½(1 + t) + ½x(1 − t²)·c(1 + 3a x²)
    const x2 = b.square(x!);
    const inner = b.mul(b.add(x!, b.mul(b.mul(x2, x!), GELU_A)), SQRT_2_OVER_PI);
    const t = b.tanh(inner);
    const dinner = b.mul(b.add(b.mul(x2, 3 * GELU_A), 1), SQRT_2_OVER_PI);
    const dy = b.add(b.mul(b.add(t, 1), 0.5), b.mul(b.mul(b.mul(x!, 0.5), b.sub(1, b.square(t))), dinner));
    return [b.mul(grad, dy)];
  },
  sigmoid: ({ b, grad, output: y }) => [b.mul(grad, b.mul(y, b.sub(1, y)))],
  sin: ({ b, grad, inputs: [x] }) => [b.mul(grad, b.cos(x!))],
  cos: ({ b, grad, inputs: [x] }) => [b.neg(b.mul(grad, b.sin(x!)))],
  // sign(x) as (x > 0) − (x < 0): zero subgradient at the kink.
  abs: ({ b, grad, inputs: [x] }) => [b.mul(grad, b.sub(b.gt(x!, 0), b.lt(x!, 0)))],
  square: ({ b, grad, inputs: [x] }) => [b.mul(grad, b.mul(x!, 2))],
  reciprocal: ({ b, grad, output: y }) => [b.neg(b.mul(grad, b.square(y)))],
  // d/dx log(1 + eˣ) = σ(x)
  softplus: ({ b, grad, inputs: [x] }) => [b.mul(grad, b.sigmoid(x!))],
  // A stop-gradient: nothing flows back through it.
  detach: null,

  add: ({ grad, needs }) => [needs[0] ? grad : undefined, needs[1] ? grad : undefined],
  sub: ({ b, grad, needs }) => [needs[0] ? grad : undefined, needs[1] ? b.neg(grad) : undefined],
  mul: ({ b, grad, inputs: [x, y], needs }) => [needs[0] ? b.mul(grad, y!) : undefined, needs[1] ? b.mul(grad, x!) : undefined],
  div: ({ b, grad, inputs: [, y], output, needs }) => [
    needs[0] ? b.div(grad, y!) : undefined,
    needs[1] ? b.neg(b.div(b.mul(grad, output), y!)) : undefined,
  ],
  // Ties send the whole gradient to the first operand.
  max: ({ b, grad, inputs: [x, y], needs }) => [
    needs[0] ? b.mul(grad, b.ge(x!, y!)) : undefined,
    needs[1] ? b.mul(grad, b.lt(x!, y!)) : undefined,
  ],
  min: ({ b, grad, inputs: [x, y], needs }) => [
    needs[0] ? b.mul(grad, b.le(x!, y!)) : undefined,
    needs[1] ? b.mul(grad, b.gt(x!, y!)) : undefined,
  ],
  // d/da a^b = b·a^(b−1); d/db a^b = a^b·ln a (only built when the exponent needs a gradient).
  pow: ({ b, grad, inputs: [x, y], output, needs }) => [
    needs[0] ? b.mul(grad, b.mul(y!, b.pow(x!, b.sub(y!, 1)))) : undefined,
    needs[1] ? b.mul(grad, b.mul(output, b.log(x!))) : undefined,
  ],
  gt: null,
  ge: null,
  lt: null,
  le: null,
  eq: null,
  // Piecewise a − b·floor(a/b); used for ring-buffer slots, which are never differentiated.
  mod: null,
  select: ({ b, grad, inputs: [c], needs }) => [
    undefined,
    needs[1] ? b.select(c!, grad, 0) : undefined,
    needs[2] ? b.select(c!, 0, grad) : undefined,
  ],
  cast: null,
  // Same seed operand and stream: the same mask, the same scale.
  dropout: ({ b, grad, node, inputs: [, seed] }) => [
    b.dropout(grad, seed!, { p: attrsOf(node, 'dropout').p, stream: attrsOf(node, 'dropout').stream }),
    undefined,
  ],
  randomNormal: null,

  matmul: ({ b, grad, node, inputs: [x, y], needs }) => {
    const transA = attrsOf(node, 'matmul').transA;
    const transB = attrsOf(node, 'matmul').transB;
    // C = op(A)·op(B): d op(A) = G·op(B)ᵀ, d op(B) = op(A)ᵀ·G, transposed back where op transposes.
    const dA = !needs[0] ? undefined
      : transA ? b.matmul(y!, grad, { transA: transB, transB: true })
      : b.matmul(grad, y!, { transB: !transB });
    const dB = !needs[1] ? undefined
      : transB ? b.matmul(grad, x!, { transA: true, transB: transA })
      : b.matmul(x!, grad, { transA: !transA });
    return [dA, dB];
  },
  sum: ({ b, grad, node, inputs: [x] }) => [b.broadcastTo(reshapeIfNeeded(b, grad, keepShape(node, x!)), x!.shape)],
  mean: ({ b, grad, node, inputs: [x] }) => {
    const count = x!.shape.reduce((a, d) => a * d, 1) / node.shape.reduce((a, d) => a * d, 1);
    return [b.broadcastTo(b.mul(reshapeIfNeeded(b, grad, keepShape(node, x!)), 1 / count), x!.shape)];
  },
  // Split evenly among tied maxima (a valid subgradient; ties do not occur for generic inputs).
  reduceMax: ({ b, grad, node, inputs: [x], output }) => {
    const axes = attrsOf(node, 'sum', 'mean', 'reduceMax').axes;
    const keep = keepShape(node, x!);
    const mask = b.eq(x!, reshapeIfNeeded(b, output, keep));
    const count = b.sum(mask, axes, { keepDims: true });
    return [b.mul(mask, b.div(reshapeIfNeeded(b, grad, keep), count))];
  },

  reshape: ({ b, grad, inputs: [x] }) => [b.reshape(grad, x!.shape)],
  transpose: ({ b, grad, node }) => {
    const perm = attrsOf(node, 'transpose').perm;
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [b.transpose(grad, inverse)];
  },
  broadcastTo: ({ grad }) => [grad], // summed back to the operand shape by differentiate
  concat: ({ b, grad, node, inputs, needs }) => {
    const axis = attrsOf(node, 'concat').axis;
    let at = 0;
    return inputs.map((x, i) => {
      const start = at;
      at += x.shape[axis]!;
      return needs[i] ? b.slice(grad, axis, start, x.shape[axis]!) : undefined;
    });
  },
  slice: ({ b, grad, node, inputs: [x] }) => {
    const { axis, start, size } = attrsOf(node, 'slice');
    const extent = x!.shape[axis]!;
    const pad = (n: number): Value => b.zeros(x!.shape.map((d, i) => (i === axis ? n : d)));
    const parts: Value[] = [];
    if (start > 0) parts.push(pad(start));
    parts.push(grad);
    if (start + size < extent) parts.push(pad(extent - start - size));
    return [parts.length === 1 ? grad : b.concat(parts, axis)];
  },

  gather: ({ b, grad, inputs: [table, ids] }) => [b.scatterAdd(grad, ids!, table!.shape[0]!), undefined],
  scatterAdd: ({ b, grad, inputs: [, ids] }) => [b.gather(grad, ids!), undefined],

  // dx = t − y ⊙ Σ t, t = y ⊙ (g − Σ g⊙y). Exactly, Σ t = 0; in f32, rounding Σ g⊙y leaves
  // Σ t ≈ ε·Σ y|g|, which a consumer multiplies by the common part of what it pairs dx with
  // (attention's dq = dx @ k: the keys' shared bias). Removing y ⊙ Σ t puts dx back on Σ dx = 0.
  softmax: ({ b, grad, node, output: y }) => {
    const axis = attrsOf(node, 'softmax').axis;
    const t = b.mul(y, b.sub(grad, sumAxis(b, b.mul(grad, y), axis)));
    return [b.sub(t, b.mul(y, sumAxis(b, t, axis)))];
  },
  // dx = g − softmax(x)·Σ g, with softmax(x) = exp(y)
  logSoftmax: ({ b, grad, node, output: y }) => [b.sub(grad, b.mul(b.exp(y), sumAxis(b, grad, attrsOf(node, 'logSoftmax').axis)))],
  layerNorm: ({ b, grad, node, inputs: [x, gamma], needs }) => {
    // Recomputes x̂ from primitives; CSE and fusion share the work with the forward kernel.
    const axis = x!.shape.length - 1;
    const lead = x!.shape.map((_, i) => i).slice(0, -1);
    const xc = b.sub(x!, b.mean(x!, [axis], { keepDims: true }));
    const rstd = b.rsqrt(b.add(b.mean(b.square(xc), [axis], { keepDims: true }), attrsOf(node, 'layerNorm').eps));
    const xhat = b.mul(xc, rstd);
    let dx: Value | undefined;
    if (needs[0]) {
      // dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)), ĝ = g⊙γ
      const gh = b.mul(grad, gamma!);
      const m1 = b.mean(gh, [axis], { keepDims: true });
      const m2 = b.mean(b.mul(gh, xhat), [axis], { keepDims: true });
      dx = b.mul(rstd, b.sub(b.sub(gh, m1), b.mul(xhat, m2)));
    }
    return [
      dx,
      needs[1] ? b.sum(b.mul(grad, xhat), lead) : undefined,
      needs[2] ? b.sum(grad, lead) : undefined,
    ];
  },
  // d/dlogits = (softmax(logits) − onehot(labels))·g/n
  crossEntropy: ({ b, grad, inputs: [logits, labels] }) => {
    const [n, c] = logits!.shape as [number, number];
    const onehot = b.eq(b.reshape(b.cast(labels!), [n, 1]), b.iota([n, c], 1));
    return [b.mul(b.sub(b.softmax(logits!, 1), onehot), b.mul(grad, 1 / n)), undefined];
  },

  // Fusion runs after autodiff; `differentiate` refuses a graph whose gradient would cross these.
  fusedElementwise: null,
  fusedMatmul: null,
  fusedSoftmax: null,
  writeRow: null,
  fusedWriteRow: null,
  fusedLowRank: null,
};
