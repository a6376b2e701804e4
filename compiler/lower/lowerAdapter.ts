/**
 * Adapters in place. An adapter is lowered where it sits: on a layer of a finetune (its `W` is the
 * layer's frozen weight, its tensors `<layer>.<name>`), or alone on a linear shape the request
 * gives (`W` is a frozen input named after the target, the tensors keep their own names) — the
 * form the adapter tests and the kernel benchmarks use.
 *
 * Its sizes: the target pattern's names (`out`, `in`) from the weight's shape, its size parameters
 * (`r`) from the finetune's arguments or the request or their defaults, then its derived sizes.
 */
import type { Span as SourceSpan } from '../syntax/span.ts';
import { dimSymbol } from '../types/dim.ts';
import type { CheckedProgram, TypedAdapter, TypedDeclParam } from '../types/typed-program.ts';
import { type BindingLayer, DimEnv, bindDeclParams, bindDerived, bindFnDims, checkRequestSizes } from './bindDims.ts';
import { LowerError } from './errors.ts';
import type { NetworkPlan, OwnerScope, TensorPlan } from './plan.ts';

export interface AdapterPlacement {
  readonly adapter: TypedAdapter;
  /** Path prefix of the adapter's tensors: '' alone, 'fc1.' on layer fc1. */
  readonly prefix: string;
  /** Full path of the target weight: the target's name alone (`W`), `fc1.weight` on a layer. */
  readonly target: string;
  readonly out: number;
  readonly in: number;
  /** The layer's path, when on a layer. */
  readonly layer?: string;
  /** Where the adapter's size parameters come from, first wins. */
  readonly dims: readonly BindingLayer[];
  /** Scalar arguments (defaults fill the rest). */
  readonly scalars: Readonly<Record<string, number>>;
  readonly span: SourceSpan;
}

/** Scalars of a declaration: given values, else defaults; a scalar with neither is an error. */
export function bindScalars(params: readonly TypedDeclParam[], given: Readonly<Record<string, number>>, what: string, span?: SourceSpan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of params) {
    if (p.kind !== 'scalar') continue;
    const v = given[p.name] ?? p.default;
    if (v === undefined) throw new LowerError('bad-request', `the scalar ${p.name} of ${what} has no value and no default; give it in the request: scalars: { ${p.name}: … }`, span);
    if (!Number.isFinite(v)) throw new LowerError('bad-request', `the scalar ${p.name} of ${what} is ${v}; it must be finite`, span);
    if (p.elem === 'i32' && !Number.isInteger(v)) throw new LowerError('bad-request', `the scalar ${p.name} of ${what} is i32, but is given ${v}`, span);
    out[p.name] = v;
  }
  return out;
}

/** The adapter's scope on one weight: sizes bound and checked against the target pattern. */
export function adapterScope(p: AdapterPlacement): OwnerScope & { decl: TypedAdapter } {
  const a = p.adapter;
  const what = p.layer ? `adapter ${a.name} on ${p.layer}` : `adapter ${a.name}`;
  const env = new DimEnv(what, undefined, p.span);
  const params = new Set(a.params.filter((x) => x.kind === 'dim').map((x) => x.name));
  const weight = p.layer ? `the weight of ${p.layer}` : 'the linear shape of the request';
  const pairs = [
    [a.target.out, p.out],
    [a.target.in, p.in],
  ] as const;
  for (const [want, got] of pairs) {
    const sym = dimSymbol(want);
    if (sym && !params.has(sym) && !env.has(sym)) env.bind(sym, got, weight, p.span);
  }
  bindDeclParams(env, what, a.params, p.dims, p.span);
  const outV = env.eval(a.target.out, `the target ${a.target.name}`, p.span);
  const inV = env.eval(a.target.in, `the target ${a.target.name}`, p.span);
  if (outV !== p.out || inV !== p.in) {
    throw new LowerError(
      'bad-request',
      `${what} needs ${a.target.name}: [${a.target.out.text}, ${a.target.in.text}] = [${outV}, ${inV}], but ${weight} is [${p.out}, ${p.in}]`,
      p.span,
    );
  }
  bindDerived(env, what, a.derived, p.span);
  const scalars = bindScalars(a.params, p.scalars, what, p.span);
  return { decl: a, what, prefix: p.prefix, env, scalars, target: p.target, span: p.span };
}

/** The adapter's own tensors, full paths and numeric shapes, in declaration order. */
export function adapterTensors(scope: OwnerScope & { decl: TypedAdapter }): TensorPlan[] {
  return scope.decl.tensors.map((t) => ({
    path: scope.prefix + t.path,
    shape: scope.env.shape(t.type.shape, `the shape of ${t.path}`, t.span),
    dtype: t.type.elem,
    role: t.trainable ? 'param' : 'frozen',
    init: t.init,
    span: t.span,
    owner: scope,
  }));
}

export interface AdapterRequest {
  kind: 'adapter';
  /** The adapter's name. */
  name: string;
  /** The target weight's shape `[out, in]`. */
  linear: { out: number; in: number };
  /** Sizes: the adapter's size parameters (`r`) and the entry fn's (`n`). */
  dims?: Record<string, number>;
  scalars?: Record<string, number>;
  /** The entry fn; `forward` by default. */
  fn?: string;
}

/** The plan of one adapter alone on a linear shape: inputs `x`, `W` (frozen) and its tensors. */
export function planAdapter(program: CheckedProgram, req: AdapterRequest): NetworkPlan {
  const adapter = program.adapters.find((a) => a.name === req.name);
  if (!adapter) {
    throw new LowerError('bad-request', `no adapter ${req.name}; the program has ${program.adapters.map((a) => a.name).join(', ') || 'none'}`);
  }
  checkRequestSizes(req.dims, `adapter ${req.name}`);
  checkRequestSizes({ out: req.linear.out, in: req.linear.in }, `the linear shape for adapter ${req.name}`);
  const fn = adapter.fns.find((f) => f.name === (req.fn ?? 'forward'));
  if (!fn) throw new LowerError('bad-request', `adapter ${adapter.name} has no fn ${req.fn ?? 'forward'}`, adapter.span);
  checkKnownNames(req.dims, [...adapter.params.filter((x) => x.kind === 'dim').map((x) => x.name), ...fn.dims], `dims for adapter ${adapter.name}`);
  checkKnownNames(req.scalars, adapter.params.filter((x) => x.kind === 'scalar').map((x) => x.name), `scalars for adapter ${adapter.name}`);
  const root = adapterScope({
    adapter,
    prefix: '',
    target: adapter.target.name,
    out: req.linear.out,
    in: req.linear.in,
    dims: [{ source: 'the request', values: req.dims ?? {} }],
    scalars: req.scalars ?? {},
    span: adapter.span,
  });
  const fnEnv = root.env.child(`fn ${fn.name} of ${root.what}`, fn.span);
  bindFnDims(fnEnv, `fn ${fn.name} of ${root.what}`, fn.dims, req.dims, fn.span);
  const own = adapterTensors(root);
  const weight: TensorPlan = { path: adapter.target.name, shape: [req.linear.out, req.linear.in], dtype: 'f32', role: 'frozen', init: { kind: 'load' }, span: adapter.span, owner: root };
  return {
    kind: 'adapter',
    name: adapter.name,
    root,
    fn,
    fnEnv,
    data: fn.params.map((p) => ({ name: p.name, shape: fnEnv.shape(p.type.shape, `argument ${p.name}`, fn.span), dtype: p.type.elem, span: fn.span })),
    tensors: [...own.filter((t) => t.role === 'param'), ...own.filter((t) => t.role === 'frozen'), weight],
    linears: new Map(),
    attachments: new Map(),
    instances: new Map(),
    span: adapter.span,
  };
}

/** A request naming a size or scalar the declaration does not have is a mistake worth reporting. */
export function checkKnownNames(values: Readonly<Record<string, number>> | undefined, known: readonly string[], what: string): void {
  for (const k of Object.keys(values ?? {})) {
    if (!known.includes(k)) throw new LowerError('bad-request', `the request gives ${k} in ${what}, which has no such name (it has ${known.join(', ') || 'none'})`);
  }
}
