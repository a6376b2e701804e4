/**
 * TypedExpr → IR nodes. One rule per front-end op name (the builtin table and the operators), in
 * `OP_RULES`; `OP_MAPPING` says in words what each becomes. Names, calls and dropout are the
 * scope's business (a fn body, an adapter on a layer, a posterior): `lowerExpr` asks the scope.
 *
 * Every node made for an expression carries that expression's span. Every lowered value's shape
 * is checked against the checker's type with the sizes bound: a disagreement is an internal
 * error, reported at the expression, never a wrong graph.
 */
import type { DType, GraphBuilder, Value } from '../ir/index.ts';
import type { Dim } from '../types/dim.ts';
import type { Ref, TypedExpr } from '../types/typed-program.ts';
import type { DimEnv } from './bindDims.ts';
import { LowerError } from './errors.ts';
import { foldScalar } from './foldScalar.ts';
import { irSpan } from './spans.ts';

export type CallExpr = Extract<TypedExpr, { kind: 'call' }>;
export type OpExpr = Extract<TypedExpr, { kind: 'op' }>;

/** What an expression's names and calls mean where it is lowered. */
export interface ExprScope {
  readonly b: GraphBuilder;
  readonly env: DimEnv;
  /** Scalar declaration parameters by name (constants by now). */
  scalar(name: string): number | undefined;
  /** A name that is not a scalar or a size: a graph input, a `let`, a statistic... */
  ref(ref: Ref, e: TypedExpr): Value;
  /** A call of a fn, a block instance or a linear layer, on lowered arguments. */
  call(e: CallExpr, args: Value[]): Value;
  /** `dropout(x, p)` with a constant rate: the identity at inference, a dropout node in training. */
  dropout(x: Value, p: number, e: TypedExpr): Value;
  /**
   * `normal([r, in])`: standard normal noise of this shape, drawn as this graph wants it (a fresh
   * Philox draw per step in training, its mean 0 at inference). Absent where the checker allows
   * no noise.
   */
  noise?(shape: number[], e: TypedExpr): Value;
}

/** What each front-end op becomes in the IR (documentation; `OP_RULES` is the implementation). */
export const OP_MAPPING: Readonly<Record<string, string>> = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  div: 'div',
  neg: 'neg',
  matmul: 'matmul (a transposed operand `W^T` folds into transA/transB; a vector operand is reshaped to a row/column and back)',
  transpose: 'transpose {perm}',
  sqrt: 'sqrt',
  rsqrt: 'rsqrt',
  exp: 'exp',
  log: 'log',
  tanh: 'tanh',
  relu: 'relu',
  gelu: 'gelu',
  sigmoid: 'sigmoid',
  sin: 'sin',
  cos: 'cos',
  abs: 'abs',
  sqr: 'square',
  softplus: 'softplus',
  detach: 'detach (no gradient; constant folding drops it after autodiff, so no kernel sees it)',
  normal: 'randomNormal(seed) {shape, stream} in training graphs (and forward with forwardDropout), the stream shared with dropout sites; a zero constant (its mean) at inference',
  pow: 'pow',
  max: 'max (two tensors); reduceMax {axes} (with an axis)',
  min: 'min (two tensors); neg(reduceMax(neg x)) (with an axis)',
  where: 'select(cond, a, b)',
  to_f32: 'cast (identity on f32)',
  sum: 'sum {axes, keepDims}',
  mean: 'mean {axes, keepDims}',
  reshape: 'reshape',
  permute: 'transpose {perm}',
  concat: 'concat {axis}',
  slice: 'slice {axis, start, size}',
  iota: 'iota {axis: 0}',
  softmax: 'softmax {axis}',
  log_softmax: 'logSoftmax {axis}',
  layer_norm: 'layerNorm {eps}',
  l2_normalize: 'x · rsqrt(max(sum(x², axis, keepDims), eps))',
  row_norm: 'sqrt(sum(square(x), last axis))',
  dropout: 'dropout(x, seed) {p, stream} in training graphs; nothing at inference or when p = 0',
  embedding: 'gather(table, ids)',
};

/** The lowering of one op: gets the expression and lowers its arguments as it needs them. */
type OpRule = (l: OpLowering) => Value;

interface OpLowering {
  readonly e: OpExpr;
  readonly b: GraphBuilder;
  readonly scope: ExprScope;
  /** The i-th argument, lowered. */
  arg(i: number): Value;
  /** The i-th argument as an f32 tensor operand (a folded scalar becomes an f32 constant). */
  f32(i: number): Value;
}

function attrNum(e: OpExpr, name: string): number {
  const v = e.attrs[name];
  if (typeof v !== 'number') throw new LowerError('internal', `${e.op}: attribute ${name} is ${JSON.stringify(v)}, expected a number`, e.span);
  return v;
}

function attrInts(e: OpExpr, name: string): number[] {
  const v = e.attrs[name];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new LowerError('internal', `${e.op}: attribute ${name} is not a list of numbers`, e.span);
  return v as number[];
}

const isDim = (v: unknown): v is Dim => typeof v === 'object' && v !== null && !Array.isArray(v) && 'terms' in v;

function attrDim(e: OpExpr, name: string): Dim {
  const v = e.attrs[name];
  if (!isDim(v)) throw new LowerError('internal', `${e.op}: attribute ${name} is not a size`, e.span);
  return v;
}

function attrDims(e: OpExpr, name: string): Dim[] {
  const v = e.attrs[name];
  if (!Array.isArray(v) || !v.every(isDim)) throw new LowerError('internal', `${e.op}: attribute ${name} is not a list of sizes`, e.span);
  return v;
}

/** Reduction axes: the checker records -1 for "all axes". */
function reductionAxes(e: OpExpr, x: Value): number[] {
  const axis = attrNum(e, 'axis');
  return axis === -1 ? x.shape.map((_, i) => i) : [axis];
}

function keepDims(e: OpExpr): boolean {
  return e.attrs.keepdims === true;
}

const unary = (op: 'neg' | 'sqrt' | 'rsqrt' | 'exp' | 'log' | 'tanh' | 'relu' | 'gelu' | 'sigmoid' | 'sin' | 'cos' | 'abs' | 'square' | 'softplus' | 'detach'): OpRule => (l) => l.b.node(op, [l.f32(0)]);

const binary = (op: 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow'): OpRule => (l) => l.b.node(op, [l.f32(0), l.f32(1)]);

/** True for `x^T` (the operator) or a transpose swapping only the last two axes. */
function lastTwoSwap(e: TypedExpr): e is OpExpr {
  if (e.kind !== 'op' || e.op !== 'transpose') return false;
  const perm = e.attrs.perm;
  if (!Array.isArray(perm) || perm.length < 2) return false;
  const n = perm.length;
  return perm.every((p, i) => (i < n - 2 ? p === i : i === n - 2 ? p === n - 1 : p === n - 2));
}

function lowerMatmul(l: OpLowering): Value {
  const { b, scope, e } = l;
  let [ae, be] = e.args as [TypedExpr, TypedExpr];
  const transA = lastTwoSwap(ae);
  if (transA) ae = (ae as OpExpr).args[0]!;
  const transB = lastTwoSwap(be);
  if (transB) be = (be as OpExpr).args[0]!;
  let a = lowerExpr(ae, scope);
  let bb = lowerExpr(be, scope);
  b.span = irSpan(e.span);
  const rowVector = a.shape.length === 1;
  const colVector = bb.shape.length === 1;
  if (rowVector) a = b.reshape(a, [1, a.shape[0]!]);
  if (colVector) bb = b.reshape(bb, [bb.shape[0]!, 1]);
  let y = b.matmul(a, bb, { transA, transB });
  if (rowVector || colVector) {
    const shape = y.shape.slice();
    if (colVector) shape.splice(shape.length - 1, 1);
    if (rowVector) shape.splice(shape.length - (colVector ? 1 : 2), 1);
    y = b.reshape(y, shape);
  }
  return y;
}

function lowerReduceMax(l: OpLowering, negate: boolean): Value {
  const x = l.f32(0);
  const axes = reductionAxes(l.e, x);
  const keep = keepDims(l.e);
  if (!negate) return l.b.reduceMax(x, axes, { keepDims: keep });
  return l.b.neg(l.b.reduceMax(l.b.neg(x), axes, { keepDims: keep }));
}

function lowerDropout(l: OpLowering): Value {
  const x = l.f32(0);
  const p = foldScalar(l.e.args[1]!, l.scope);
  if (p === undefined) throw new LowerError('unsupported', 'dropout needs a rate known at compile time (a constant or a scalar parameter)', l.e.args[1]!.span);
  if (!(p >= 0 && p < 1)) throw new LowerError('bad-request', `dropout rate ${p} is outside [0, 1)`, l.e.args[1]!.span);
  return l.scope.dropout(x, p, l.e);
}

/** The rules, by front-end op name. */
export const OP_RULES: Readonly<Record<string, OpRule>> = {
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  pow: binary('pow'),
  neg: unary('neg'),
  sqrt: unary('sqrt'),
  rsqrt: unary('rsqrt'),
  exp: unary('exp'),
  log: unary('log'),
  tanh: unary('tanh'),
  relu: unary('relu'),
  gelu: unary('gelu'),
  sigmoid: unary('sigmoid'),
  sin: unary('sin'),
  cos: unary('cos'),
  abs: unary('abs'),
  sqr: unary('square'),
  softplus: unary('softplus'),
  detach: unary('detach'),
  normal: (l) => {
    const shape = l.scope.env.shape(attrDims(l.e, 'shape'), 'the shape of normal', l.e.span);
    if (!l.scope.noise) throw new LowerError('internal', 'noise outside a forward pass', l.e.span);
    return l.scope.noise(shape, l.e);
  },
  max: (l) => (l.e.args.length === 2 ? binary('max')(l) : lowerReduceMax(l, false)),
  min: (l) => (l.e.args.length === 2 ? binary('min')(l) : lowerReduceMax(l, true)),
  matmul: lowerMatmul,
  transpose: (l) => l.b.transpose(l.arg(0), attrInts(l.e, 'perm')),
  permute: (l) => l.b.transpose(l.arg(0), attrInts(l.e, 'perm')),
  where: (l) => {
    const cond = l.f32(0);
    // A folded scalar branch takes the other branch's element type (`where(m, ids, 0)`).
    const branch = (i: number, other: number): Value => {
      const e = l.e.args[i]!;
      const folded = e.type.weak ? foldScalar(e, l.scope) : undefined;
      const dtype = l.e.args[other]!.type.weak ? 'f32' : l.e.args[other]!.type.elem;
      return folded !== undefined ? constantOf(e, folded, l.b, dtype) : l.arg(i);
    };
    const a = branch(1, 2);
    const bv = branch(2, 1);
    l.b.span = irSpan(l.e.span);
    return l.b.select(cond, a, bv);
  },
  to_f32: (l) => {
    const x = l.arg(0);
    return x.dtype === 'i32' ? l.b.cast(x) : x;
  },
  sum: (l) => {
    const x = l.f32(0);
    return l.b.sum(x, reductionAxes(l.e, x), { keepDims: keepDims(l.e) });
  },
  mean: (l) => {
    const x = l.f32(0);
    return l.b.mean(x, reductionAxes(l.e, x), { keepDims: keepDims(l.e) });
  },
  reshape: (l) => {
    const x = l.arg(0);
    const shape = attrDims(l.e, 'shape');
    return l.b.reshape(x, l.scope.env.shape(shape, 'reshape', l.e.span));
  },
  concat: (l) => l.b.concat(l.e.args.map((_, i) => l.arg(i)), attrNum(l.e, 'axis')),
  slice: (l) => {
    const x = l.arg(0);
    const env = l.scope.env;
    const start = env.eval(attrDim(l.e, 'start'), 'the start of slice', l.e.span);
    const size = env.extent(attrDim(l.e, 'size'), 'the size of slice', l.e.span);
    return l.b.slice(x, attrNum(l.e, 'axis'), start, size);
  },
  iota: (l) => l.b.iota([l.scope.env.extent(attrDim(l.e, 'n'), 'iota', l.e.span)], 0),
  softmax: (l) => l.b.softmax(l.f32(0), attrNum(l.e, 'axis')),
  log_softmax: (l) => l.b.logSoftmax(l.f32(0), attrNum(l.e, 'axis')),
  layer_norm: (l) => l.b.layerNorm(l.f32(0), l.f32(1), l.f32(2), { eps: attrNum(l.e, 'eps') }),
  l2_normalize: (l) => {
    const x = l.f32(0);
    const sq = l.b.sum(l.b.square(x), [attrNum(l.e, 'axis')], { keepDims: true });
    return l.b.mul(x, l.b.rsqrt(l.b.max(sq, attrNum(l.e, 'eps'))));
  },
  row_norm: (l) => {
    const x = l.f32(0);
    return l.b.sqrt(l.b.sum(l.b.square(x), [x.shape.length - 1]));
  },
  dropout: lowerDropout,
  embedding: (l) => l.b.gather(l.f32(0), l.arg(1)),
};

/** A folded scalar as a constant node of the expression's element type (weak integers become f32). */
function constantOf(e: TypedExpr, value: number, b: GraphBuilder, dtype?: DType): Value {
  if (!Number.isFinite(value)) {
    throw new LowerError('unsupported', `this scalar evaluates to ${value}; IR constants must be finite`, e.span);
  }
  const elem: DType = dtype ?? (e.type.elem === 'i32' && !e.type.weak ? 'i32' : 'f32');
  if (elem === 'i32' && !Number.isInteger(value)) throw new LowerError('unsupported', `the i32 scalar evaluates to ${value}, not a whole number`, e.span);
  b.span = irSpan(e.span);
  return b.constant(value, [], elem);
}

const ARITHMETIC = new Set(['add', 'sub', 'mul', 'div', 'neg', 'pow', 'max', 'min', 'sum']);

/** Lowers one expression in a scope. */
export function lowerExpr(e: TypedExpr, scope: ExprScope): Value {
  const b = scope.b;
  const folded = e.type.shape.length === 0 ? foldScalar(e, scope) : undefined;
  let v: Value;
  if (folded !== undefined) {
    v = constantOf(e, folded, b);
  } else {
    switch (e.kind) {
      case 'const':
        v = constantOf(e, e.value, b);
        break;
      case 'ref':
        v = scope.ref(e.ref, e);
        break;
      case 'call': {
        const args = e.args.map((a) => lowerExpr(a, scope));
        b.span = irSpan(e.span);
        v = scope.call(e, args);
        break;
      }
      case 'op': {
        const rule = OP_RULES[e.op];
        if (!rule) throw new LowerError('unsupported', `the op ${e.op} has no lowering to the IR`, e.span);
        if (ARITHMETIC.has(e.op) && e.args.some((a) => a.type.elem === 'i32' && !a.type.weak)) {
          throw new LowerError('unsupported', `${e.op} on i32 values: the IR computes in f32 only; convert with to_f32(...)`, e.span);
        }
        const cache = new Map<number, Value>();
        const arg = (i: number): Value => {
          let a = cache.get(i);
          if (!a) {
            a = lowerExpr(e.args[i]!, scope);
            cache.set(i, a);
          }
          b.span = irSpan(e.span);
          return a;
        };
        const f32 = (i: number): Value => {
          const ae = e.args[i]!;
          const folded = ae.type.shape.length === 0 ? foldScalar(ae, scope) : undefined;
          if (folded !== undefined && !cache.has(i)) {
            const c = constantOf(ae, folded, b, 'f32');
            cache.set(i, c);
          }
          return arg(i);
        };
        v = rule({ e, b, scope, arg, f32 });
        break;
      }
    }
  }
  checkShape(e, v, scope.env);
  return v;
}

/** The lowered value must have the checker's shape, sizes bound. */
function checkShape(e: TypedExpr, v: Value, env: DimEnv): void {
  const want = env.shape(e.type.shape, 'the type of this expression', e.span);
  if (want.length !== v.shape.length || want.some((d, i) => d !== v.shape[i])) {
    throw new LowerError('internal', `lowered to [${v.shape.join(', ')}] but the checker typed it [${want.join(', ')}] (${e.type.shape.map((d) => d.text).join(', ')})`, e.span);
  }
  if (!e.type.weak && e.type.elem !== v.dtype) {
    throw new LowerError('internal', `lowered to ${v.dtype} but the checker typed it ${e.type.elem}`, e.span);
  }
}
