/**
 * Lowering fn bodies: a `Frame` is one activation of a fn (its arguments, its `let`s, its sizes)
 * inside a scope (a declaration in place). Names resolve to graph inputs by full path; calls go
 * to fns of the same declaration, to fns of block instances, or to linear layers — where a layer
 * with an adapter attached becomes the adapter's `forward` with `W` bound to that layer's frozen
 * weight, then `+ bias`.
 */
import type { GraphBuilder, Value } from '../ir/index.ts';
import { dimSymbol } from '../types/dim.ts';
import type { Ref, TypedExpr, TypedFn } from '../types/typed-program.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import type { DimEnv } from './bindDims.ts';
import { LowerError } from './errors.ts';
import { type CallExpr, type ExprScope, lowerExpr } from './lowerExpr.ts';
import type { LinearPlan, OwnerScope } from './plan.ts';
import { irSpan, showSpan } from './spans.ts';

/** What frames share while one graph is built. */
export interface NetworkContext {
  readonly b: GraphBuilder;
  /** The graph input (or value) of a tensor, by full path. */
  tensor(path: string, at: SourceSpan): Value;
  readonly linears: ReadonlyMap<string, LinearPlan>;
  readonly attachments: ReadonlyMap<string, OwnerScope>;
  readonly instances: ReadonlyMap<string, OwnerScope>;
  /** `dropout(x, p)` as this graph wants it (identity at inference). */
  dropout(x: Value, p: number, at: SourceSpan): Value;
  /** `normal(shape)` as this graph wants it (a Philox draw while training, zeros at inference). */
  noise(shape: number[], at: SourceSpan): Value;
  /** Nesting depth of calls, a guard against runaway recursion. */
  depth: number;
}

const MAX_DEPTH = 64;

/** One activation of a fn. */
export class Frame implements ExprScope {
  readonly locals = new Map<number, Value>();

  constructor(
    readonly ctx: NetworkContext,
    readonly scope: OwnerScope,
    readonly env: DimEnv,
    readonly inputs: ReadonlyMap<string, Value>,
  ) {}

  get b(): GraphBuilder {
    return this.ctx.b;
  }

  scalar(name: string): number | undefined {
    return this.scope.scalars[name];
  }

  ref(ref: Ref, e: TypedExpr): Value {
    switch (ref.kind) {
      case 'input': {
        const v = this.inputs.get(ref.name);
        if (!v) throw new LowerError('internal', `no argument ${ref.name} in this fn`, e.span);
        return v;
      }
      case 'local': {
        const v = this.locals.get(ref.id);
        if (!v) throw new LowerError('internal', `let ${ref.name} is used before it is lowered`, e.span);
        return v;
      }
      case 'param':
      case 'frozen':
        return this.ctx.tensor(this.scope.prefix + ref.path, e.span);
      case 'target':
        if (!this.scope.target) throw new LowerError('internal', `${ref.name} names an adapter target outside an adapter`, e.span);
        return this.ctx.tensor(this.scope.target, e.span);
      case 'scalar':
        throw new LowerError('bad-request', `the scalar ${ref.name} has no value in ${this.scope.what}`, e.span);
      default:
        throw new LowerError('internal', `a ${ref.kind} reference inside a fn`, e.span);
    }
  }

  call(e: CallExpr, args: Value[]): Value {
    const c = e.callee;
    switch (c.kind) {
      case 'fn': {
        const fn = findFn(this.scope, c.name, e);
        const env = this.scope.env.child(`fn ${c.name} of ${this.scope.what}`, fn.span);
        bindCallDims(env, fn, e, this.env, args);
        return callFn(this.ctx, this.scope, fn, env, args, e.span);
      }
      case 'block': {
        const path = this.scope.prefix + c.path;
        const inst = this.ctx.instances.get(path);
        if (!inst) throw new LowerError('internal', `no block instance ${path}`, e.span);
        const fn = findFn(inst, c.fn, e);
        const env = inst.env.child(`fn ${c.fn} of ${inst.what}`, fn.span);
        bindCallDims(env, fn, e, this.env, args);
        return callFn(this.ctx, inst, fn, env, args, e.span);
      }
      case 'linear':
        return lowerLinear(this.ctx, this.scope.prefix + c.path, args[0]!, e.span);
    }
  }

  dropout(x: Value, p: number, e: TypedExpr): Value {
    return this.ctx.dropout(x, p, e.span);
  }

  noise(shape: number[], e: TypedExpr): Value {
    return this.ctx.noise(shape, e.span);
  }
}

function findFn(scope: OwnerScope, name: string, e: TypedExpr): TypedFn {
  const fn = scope.decl.fns.find((f) => f.name === name);
  if (!fn) throw new LowerError('internal', `${scope.what} has no fn ${name}`, e.span);
  return fn;
}

/** Binds a called fn's own sizes (`b`, `t`) from the checker's bindings, evaluated at the caller. */
function bindCallDims(env: DimEnv, fn: TypedFn, e: CallExpr, caller: DimEnv, args: Value[]): void {
  const at = `call at ${showSpan(e.span)}`;
  for (const d of fn.dims) {
    const given = e.bindings[d];
    if (given) env.bind(d, caller.eval(given, `the size ${d} of ${fn.name}`, e.span), at, e.span);
  }
  bindFromArgs(env, fn, args, at, e.span);
}

/** Binds a fn's own sizes still unbound from its arguments' extents (`n` of an adapter's forward). */
export function bindFromArgs(env: DimEnv, fn: TypedFn, args: readonly Value[], source: string, span: SourceSpan): void {
  fn.params.forEach((p, i) => {
    p.type.shape.forEach((d, j) => {
      const sym = dimSymbol(d);
      const got = args[i]?.shape[j];
      if (sym && fn.dims.includes(sym) && got !== undefined && !env.lookup(sym)) env.bind(sym, got, source, span);
    });
  });
}

/** Runs a fn body on lowered arguments; returns the value of its `return`. */
export function callFn(ctx: NetworkContext, scope: OwnerScope, fn: TypedFn, env: DimEnv, args: readonly Value[], at: SourceSpan): Value {
  if (ctx.depth > MAX_DEPTH) throw new LowerError('unsupported', `calls nest deeper than ${MAX_DEPTH} levels`, at);
  if (args.length !== fn.params.length) throw new LowerError('internal', `${fn.name} takes ${fn.params.length} arguments, got ${args.length}`, at);
  const inputs = new Map<string, Value>();
  fn.params.forEach((p, i) => {
    const want = env.shape(p.type.shape, `argument ${p.name} of ${fn.name}`, at);
    const got = args[i]!;
    if (want.length !== got.shape.length || want.some((d, k) => d !== got.shape[k]) || (p.type.elem !== got.dtype && !p.type.weak)) {
      throw new LowerError('internal', `argument ${p.name} of ${fn.name} should be ${p.type.elem}[${want.join(', ')}], got ${got.dtype}[${got.shape.join(', ')}]`, at);
    }
    inputs.set(p.name, got);
  });
  const frame = new Frame(ctx, scope, env, inputs);
  ctx.depth++;
  try {
    for (const s of fn.body) {
      const before = ctx.b.size;
      const v = lowerExpr(s.value, frame);
      if (s.kind === 'return') return v;
      if (v.id >= before) ctx.b.named(v, s.name);
      frame.locals.set(s.id, v);
    }
  } finally {
    ctx.depth--;
  }
  throw new LowerError('internal', `fn ${fn.name} has no return`, fn.span);
}

/**
 * A linear layer on `x: [..., in]`: leading axes flattened to rows, then `x @ weight^T` or the
 * attached adapter's forward (W = this layer's weight), rows restored, `+ bias`.
 */
export function lowerLinear(ctx: NetworkContext, path: string, x: Value, at: SourceSpan): Value {
  const b = ctx.b;
  const lin = ctx.linears.get(path);
  if (!lin) throw new LowerError('internal', `no linear layer ${path}`, at);
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((p, d) => p * d, 1);
  b.span = irSpan(at);
  const x2 = x.shape.length === 2 ? x : b.reshape(x, [rows, lin.in]);
  const adapter = ctx.attachments.get(path);
  let y: Value;
  if (adapter) {
    const fwd = adapter.decl.fns.find((f) => f.name === 'forward');
    if (!fwd) throw new LowerError('internal', `${adapter.what} has no forward`, at);
    const env = adapter.env.child(`forward of ${adapter.what}`, fwd.span);
    bindFromArgs(env, fwd, [x2], `the rows of the input of ${path}`, at);
    y = callFn(ctx, adapter, fwd, env, [x2], at);
    b.span = irSpan(at);
  } else {
    y = b.matmul(x2, ctx.tensor(`${path}.weight`, at), { transB: true });
  }
  if (x.shape.length !== 2) y = b.reshape(y, [...lead, lin.out]);
  if (lin.bias) y = b.add(y, ctx.tensor(`${path}.bias`, at));
  return y;
}
