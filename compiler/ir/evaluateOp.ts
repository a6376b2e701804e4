/**
 * What each op computes: the f64 reference semantics, on row-major typed arrays (Float64Array
 * for f32 values, Int32Array for i32). Every generated kernel is checked against this.
 */
import { IREvaluationError } from './errors.ts';
import type { Attrs, DType, Shape } from './graph.ts';
import { hashDropoutUniform, type DropoutUniform } from './dropoutMask.ts';
import { hashNormal, type NormalGenerator } from './normalDraw.ts';
import { parseBody, type FusedBody } from './ops/body.ts';
import { fusedLowRankTypes, fusedMatmulOperands, fusedSoftmaxInput } from './ops/fused.ts';
import { OPS, type AttrsOf, type OpName } from './ops/index.ts';
import { broadcastOffsets, stridedOffsets, stridesOf } from './shape.ts';

/** Element storage: f32 values are held in f64 (the reference is more precise than the GPU). */
export type TensorData = Float64Array | Int32Array;

/** A value with its type, as the evaluators see operands. */
export interface TypedTensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: TensorData;
}

/** The parts of a node an evaluator needs. */
export interface OpApplication {
  readonly op: OpName;
  readonly attrs: Attrs;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface EvaluateOptions {
  /** The dropout mask generator (see dropoutMask.ts). */
  readonly dropoutUniform?: DropoutUniform;
  /** The standard normal generator of `randomNormal` (see normalDraw.ts). */
  readonly normal?: NormalGenerator;
}

/** An op's application with its attrs typed by the op's schema, as its evaluator sees it. */
interface TypedApplication<K extends OpName> {
  readonly op: K;
  readonly attrs: AttrsOf<K>;
  readonly shape: Shape;
  readonly dtype: DType;
}

type Evaluator<K extends OpName = OpName> = (inputs: readonly TypedTensor[], node: TypedApplication<K>, options: EvaluateOptions) => TensorData;

/** Any op's evaluator, called with untyped attrs (method syntax: its parameters are checked both ways). */
type AnyEvaluator = { evaluate(inputs: readonly TypedTensor[], node: OpApplication, options: EvaluateOptions): TensorData }['evaluate'];

function size(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

function alloc(dtype: DType, n: number): TensorData {
  return dtype === 'i32' ? new Int32Array(n) : new Float64Array(n);
}


/** Applies `axis` lanes: calls fn(base, stride, length) for every 1-D lane along `axis`. */
function forEachLane(shape: Shape, axis: number, fn: (base: number, stride: number, len: number) => void): void {
  const len = shape[axis]!;
  const inner = size(shape.slice(axis + 1));
  const outer = size(shape.slice(0, axis));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) fn(o * len * inner + i, inner, len);
}

function unary(f: (x: number) => number): Evaluator {
  return ([x]) => {
    const a = x!.data;
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = f(a[i]!);
    return out;
  };
}

function nary(f: (...xs: number[]) => number): Evaluator {
  return (inputs, node) => {
    const n = size(node.shape);
    const offsets = inputs.map((t) => broadcastOffsets(t.shape, node.shape));
    const out = alloc(node.dtype, n);
    const args = new Array<number>(inputs.length);
    for (let e = 0; e < n; e++) {
      for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]!.data[offsets[k]![e]!]!;
      out[e] = f(...args);
    }
    return out;
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (as in GPT-2 and BERT implementations). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

function reduce(init: number, step: (acc: number, x: number) => number, finish?: (acc: number, count: number) => number): Evaluator<'sum' | 'mean' | 'reduceMax'> {
  return ([x], node) => {
    const axes = node.attrs.axes;
    const keepShape = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    // For each input element, where it lands in the (keep-dims) output.
    const target = broadcastOffsets(keepShape, x!.shape);
    const out = new Float64Array(size(keepShape)).fill(init);
    for (let e = 0; e < x!.data.length; e++) out[target[e]!] = step(out[target[e]!]!, x!.data[e]!);
    if (finish) {
      const count = x!.data.length / out.length;
      for (let i = 0; i < out.length; i++) out[i] = finish(out[i]!, count);
    }
    return out;
  };
}

function rowwise(f: (data: TensorData, out: Float64Array, base: number, stride: number, len: number) => void): Evaluator<'softmax' | 'logSoftmax'> {
  return ([x], node) => {
    const out = new Float64Array(x!.data.length);
    forEachLane(x!.shape, node.attrs.axis, (base, stride, len) => f(x!.data, out, base, stride, len));
    return out;
  };
}

function laneMax(data: TensorData, base: number, stride: number, len: number): number {
  let m = -Infinity;
  for (let j = 0; j < len; j++) m = Math.max(m, data[base + j * stride]!);
  return m;
}

/** act(scale·(alpha·(op(A)·op(B) + s·A2·B2ᵀ) + bias + rowBias)), composed from the plain evaluators. */
const fusedMatmul: Evaluator<'fusedMatmul'> = (inputs, node, options) => {
  const at = fusedMatmulOperands(node.attrs);
  const product = (a: TypedTensor, b: TypedTensor, transA: boolean, transB: boolean): TypedTensor => {
    const shape = broadcastMatmulShape(a.shape, b.shape, transA, transB);
    return { shape, dtype: 'f32', data: EVALUATORS.matmul([a, b], { op: 'matmul', attrs: { transA, transB }, shape, dtype: 'f32' }, options) };
  };
  const terms: TypedTensor[] = [product(inputs[0]!, inputs[1]!, node.attrs.transA, node.attrs.transB)];
  const s = node.attrs.concatScale;
  const alpha = node.attrs.alpha;
  const scale = node.attrs.scale;
  const pair = at.a2 !== undefined ? product(inputs[at.a2]!, inputs[at.b2!]!, false, true) : undefined;
  const bias = at.bias !== undefined ? inputs[at.bias]! : undefined;
  const rowBias = at.rowBias !== undefined ? inputs[at.rowBias]! : undefined;
  const operands = [terms[0]!, pair, bias, rowBias].filter((t): t is TypedTensor => t !== undefined);
  const offsets = operands.map((t) => broadcastOffsets(t.shape, node.shape));
  const activation = ACTIVATIONS[node.attrs.activation]!;
  const out = new Float64Array(size(node.shape));
  for (let e = 0; e < out.length; e++) {
    let k = 0;
    let v = operands[k]!.data[offsets[k++]![e]!]!;
    if (pair) v += s * pair.data[offsets[k++]![e]!]!;
    v *= alpha;
    if (bias) v += bias.data[offsets[k++]![e]!]!;
    if (rowBias) v += rowBias.data[offsets[k++]![e]!]!;
    out[e] = activation(v * scale);
  }
  return out;
};

/** The output shape of a (batched, broadcasting) matmul. */
function broadcastMatmulShape(as: Shape, bs: Shape, transA: boolean, transB: boolean): number[] {
  const m = transA ? as[as.length - 1]! : as[as.length - 2]!;
  const n = transB ? bs[bs.length - 2]! : bs[bs.length - 1]!;
  const [ab, bb] = [as.slice(0, -2), bs.slice(0, -2)];
  const rank = Math.max(ab.length, bb.length);
  const batch = Array.from({ length: rank }, (_, i) => Math.max(ab[ab.length - rank + i] ?? 1, bb[bb.length - rank + i] ?? 1));
  return [...batch, m, n];
}

const ACTIVATIONS: Readonly<Record<string, (x: number) => number>> = {
  '': (x) => x,
  relu: (x) => (x > 0 ? x : 0),
  gelu: geluTanh,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

const EVALUATORS: { readonly [K in OpName]: Evaluator<K> } = {
  input: () => {
    throw new IREvaluationError('input nodes are fed, not evaluated');
  },
  constant: (_, node) => alloc(node.dtype, size(node.shape)).fill(node.attrs.value),
  literal: (_, node) => (node.dtype === 'i32' ? Int32Array : Float64Array).from(node.attrs.values),
  iota: (_, node) => {
    const axis = node.attrs.axis;
    const len = node.shape[axis]!;
    const inner = size(node.shape.slice(axis + 1));
    const out = alloc(node.dtype, size(node.shape));
    for (let e = 0; e < out.length; e++) out[e] = Math.floor(e / inner) % len;
    return out;
  },

  neg: unary((x) => -x),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  rsqrt: unary((x) => 1 / Math.sqrt(x)),
  tanh: unary(Math.tanh),
  relu: unary((x) => (x > 0 ? x : 0)),
  gelu: unary(geluTanh),
  sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  abs: unary(Math.abs),
  square: unary((x) => x * x),
  reciprocal: unary((x) => 1 / x),
  // log(1 + eˣ) without overflow: max(x, 0) + log1p(e^−|x|).
  softplus: unary((x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
  detach: unary((x) => x),

  add: nary((a, b) => a + b),
  sub: nary((a, b) => a - b),
  mul: nary((a, b) => a * b),
  div: nary((a, b) => a / b),
  max: nary((a, b) => Math.max(a, b)),
  min: nary((a, b) => Math.min(a, b)),
  pow: nary(Math.pow),
  gt: nary((a, b) => (a > b ? 1 : 0)),
  ge: nary((a, b) => (a >= b ? 1 : 0)),
  lt: nary((a, b) => (a < b ? 1 : 0)),
  le: nary((a, b) => (a <= b ? 1 : 0)),
  eq: nary((a, b) => (a === b ? 1 : 0)),
  // Floored: the result has the sign of b (n mod K of a ring buffer's slot).
  mod: nary((a, b) => a - b * Math.floor(a / b)),
  select: nary((c, a, b) => (c !== 0 ? a : b)),
  cast: ([x]) => Float64Array.from(x!.data),
  dropout: ([x, seed], node, options) => {
    const p = node.attrs.p;
    const stream = node.attrs.stream;
    const uniform = options.dropoutUniform ?? hashDropoutUniform;
    const s = seed!.data[0]!;
    const scale = 1 / (1 - p);
    const out = new Float64Array(x!.data.length);
    for (let i = 0; i < out.length; i++) out[i] = uniform(s, stream, i) >= p ? x!.data[i]! * scale : 0;
    return out;
  },
  randomNormal: ([seed], node, options) => {
    const stream = node.attrs.stream;
    const normal = options.normal ?? hashNormal;
    const s = seed!.data[0]!;
    const out = new Float64Array(size(node.shape));
    for (let i = 0; i < out.length; i++) out[i] = normal(s, stream, i);
    return out;
  },

  matmul: ([a, b], node) => {
    const { transA, transB } = node.attrs;
    const as = a!.shape;
    const bs = b!.shape;
    const [ar, ac] = [as[as.length - 2]!, as[as.length - 1]!];
    const [br, bc] = [bs[bs.length - 2]!, bs[bs.length - 1]!];
    const m = transA ? ac : ar;
    const k = transA ? ar : ac;
    const n = transB ? br : bc;
    const batchShape = node.shape.slice(0, -2);
    const aBatch = broadcastOffsets(as.slice(0, -2), batchShape);
    const bBatch = broadcastOffsets(bs.slice(0, -2), batchShape);
    const out = new Float64Array(size(node.shape));
    // Element strides of the effective (transposed) operands.
    const [aRow, aCol] = transA ? [1, ac] : [ac, 1];
    const [bRow, bCol] = transB ? [1, bc] : [bc, 1];
    for (let t = 0; t < aBatch.length; t++) {
      const aBase = aBatch[t]! * ar * ac;
      const bBase = bBatch[t]! * br * bc;
      const oBase = t * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += a!.data[aBase + i * aRow + p * aCol]! * b!.data[bBase + p * bRow + j * bCol]!;
          out[oBase + i * n + j] = acc;
        }
      }
    }
    return out;
  },
  sum: reduce(0, (acc, x) => acc + x),
  mean: reduce(0, (acc, x) => acc + x, (acc, count) => acc / count),
  reduceMax: reduce(-Infinity, (acc, x) => Math.max(acc, x)),

  reshape: ([x]) => x!.data.slice(),
  transpose: ([x], node) => {
    const perm = node.attrs.perm;
    const inStrides = stridesOf(x!.shape);
    const offsets = stridedOffsets(node.shape, perm.map((p) => inStrides[p]!));
    const out = alloc(node.dtype, offsets.length);
    for (let e = 0; e < offsets.length; e++) out[e] = x!.data[offsets[e]!]!;
    return out;
  },
  broadcastTo: ([x], node) => {
    const offsets = broadcastOffsets(x!.shape, node.shape);
    const out = alloc(node.dtype, offsets.length);
    for (let e = 0; e < offsets.length; e++) out[e] = x!.data[offsets[e]!]!;
    return out;
  },
  concat: (inputs, node) => {
    const axis = node.attrs.axis;
    const outStrides = stridesOf(node.shape);
    const out = alloc(node.dtype, size(node.shape));
    let at = 0;
    for (const t of inputs) {
      const offsets = stridedOffsets(t.shape, outStrides);
      const base = at * outStrides[axis]!;
      for (let e = 0; e < offsets.length; e++) out[base + offsets[e]!] = t.data[e]!;
      at += t.shape[axis]!;
    }
    return out;
  },
  slice: ([x], node) => {
    const { axis, start } = node.attrs;
    const inStrides = stridesOf(x!.shape);
    const offsets = stridedOffsets(node.shape, inStrides);
    const base = start * inStrides[axis]!;
    const out = alloc(node.dtype, offsets.length);
    for (let e = 0; e < offsets.length; e++) out[e] = x!.data[base + offsets[e]!]!;
    return out;
  },

  gather: ([table, ids], node) => {
    const [rows, d] = table!.shape as [number, number];
    const out = alloc(node.dtype, size(node.shape));
    for (let i = 0; i < ids!.data.length; i++) {
      const id = ids!.data[i]!;
      if (id < 0 || id >= rows) throw new IREvaluationError(`gather: id ${id} outside table of ${rows} rows`);
      for (let j = 0; j < d; j++) out[i * d + j] = table!.data[id * d + j]!;
    }
    return out;
  },
  scatterAdd: ([updates, ids], node) => {
    const [rows, d] = node.shape as [number, number];
    const out = new Float64Array(rows * d);
    for (let i = 0; i < ids!.data.length; i++) {
      const id = ids!.data[i]!;
      if (id < 0 || id >= rows) throw new IREvaluationError(`scatterAdd: id ${id} outside ${rows} rows`);
      for (let j = 0; j < d; j++) out[id * d + j] += updates!.data[i * d + j]!;
    }
    return out;
  },

  softmax: rowwise((x, out, base, stride, len) => {
    const m = laneMax(x, base, stride, len);
    let total = 0;
    for (let j = 0; j < len; j++) total += out[base + j * stride] = Math.exp(x[base + j * stride]! - m);
    for (let j = 0; j < len; j++) out[base + j * stride]! /= total;
  }),
  logSoftmax: rowwise((x, out, base, stride, len) => {
    const m = laneMax(x, base, stride, len);
    let total = 0;
    for (let j = 0; j < len; j++) total += Math.exp(x[base + j * stride]! - m);
    const lse = m + Math.log(total);
    for (let j = 0; j < len; j++) out[base + j * stride] = x[base + j * stride]! - lse;
  }),
  layerNorm: ([x, gamma, beta], node) => {
    const eps = node.attrs.eps;
    const d = x!.shape[x!.shape.length - 1]!;
    const out = new Float64Array(x!.data.length);
    for (let base = 0; base < out.length; base += d) {
      let mu = 0;
      for (let j = 0; j < d; j++) mu += x!.data[base + j]!;
      mu /= d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (x!.data[base + j]! - mu) ** 2;
      const rstd = 1 / Math.sqrt(v / d + eps);
      for (let j = 0; j < d; j++) out[base + j] = (x!.data[base + j]! - mu) * rstd * gamma!.data[j]! + beta!.data[j]!;
    }
    return out;
  },
  crossEntropy: ([logits, labels]) => {
    const [n, c] = logits!.shape as [number, number];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const label = labels!.data[i]!;
      if (label < 0 || label >= c) throw new IREvaluationError(`crossEntropy: label ${label} outside ${c} classes`);
      const m = laneMax(logits!.data, i * c, 1, c);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(logits!.data[i * c + j]! - m);
      total += m + Math.log(s) - logits!.data[i * c + label]!;
    }
    return Float64Array.of(total / n);
  },

  writeRow: ([buffer, row, index]) => writeRow(buffer!, row!.data, index!.data[0]!),
  fusedWriteRow: ([buffer, ...reads], node, options) =>
    writeRow(buffer!, evaluateBody(parseBody(node.attrs.row), reads, options), evaluateBody(parseBody(node.attrs.index), reads, options)[0]!),
  fusedLowRank: ([b, ...reads], node, options) => {
    const [K, N] = b!.shape as [number, number];
    const { dot } = fusedLowRankTypes('fusedLowRank', [b!, ...reads], node.attrs);
    const coef = evaluateBody(parseBody(node.attrs.coef), reads, options);
    const data = new Float64Array(N);
    for (let j = 0; j < K; j++) for (let i = 0; i < N; i++) data[i]! += coef[j]! * b!.data[j * N + i]!;
    return evaluateBody(parseBody(node.attrs.epilogue), [{ ...dot, data }, ...reads], options);
  },
  fusedElementwise: (inputs, node, options) => evaluateBody(parseBody(node.attrs.body), inputs, options),
  fusedMatmul,
  fusedSoftmax: (inputs, node, options) => {
    const x: TypedTensor = node.attrs.prologue === ''
      ? inputs[0]!
      : { ...fusedSoftmaxInput(inputs, node.attrs), data: evaluateBody(parseBody(node.attrs.prologue), inputs, options) };
    const op = node.attrs.log ? 'logSoftmax' : 'softmax';
    const y: TypedTensor = { shape: x.shape, dtype: 'f32', data: DISPATCH[op]([x], { op, attrs: { axis: node.attrs.axis }, shape: x.shape, dtype: 'f32' }, options) };
    if (node.attrs.epilogue === '') return y.data;
    return evaluateBody(parseBody(node.attrs.epilogue), [y, ...inputs], options);
  },
};

const DISPATCH: { readonly [K in OpName]: AnyEvaluator } = EVALUATORS;

/** The buffer with row `index` replaced (nothing written unless index is a whole number in [0, K)). */
function writeRow(buffer: TypedTensor, row: TensorData, index: number): TensorData {
  const out = buffer.data.slice();
  const K = buffer.shape[0]!;
  if (Number.isInteger(index) && index >= 0 && index < K) out.set(row, index * row.length);
  return out;
}

/** Computes one op on its operand values. */
export function evaluateOp(node: OpApplication, inputs: readonly TypedTensor[], options: EvaluateOptions = {}): TensorData {
  return DISPATCH[node.op](inputs, node, options);
}

/** What a fused body computes: each instruction through the reference evaluator. */
export function evaluateBody(body: FusedBody, operands: readonly TypedTensor[], options: EvaluateOptions): TensorData {
  const results: TypedTensor[] = [];
  for (const ins of body) {
    const inputs = ins.args.map((a): TypedTensor => {
      if ('operand' in a) return operands[a.operand]!;
      if ('result' in a) return results[a.result]!;
      return { shape: [], dtype: 'f32', data: Float64Array.of(a.scalar) };
    });
    const type = OPS[ins.op].infer(inputs, ins.attrs);
    results.push({ ...type, data: evaluateOp({ op: ins.op, attrs: ins.attrs, shape: type.shape, dtype: type.dtype }, inputs, options) });
  }
  return results[results.length - 1]!.data;
}
