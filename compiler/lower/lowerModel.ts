/**
 * Models and finetunes in place. A model's scopes: the model itself with its sizes bound (request,
 * then the finetune's arguments, then defaults), every block instance with the sizes its instance
 * gives (`d ↦ d1`) and its derived sizes checked (`dh = d / h` must divide), every linear layer
 * with numeric shape. A finetune adds an adapter scope per adapted layer: the linear call there
 * becomes the adapter's forward with `W` bound to the layer's frozen weight, then `+ bias`.
 */
import type { Span as SourceSpan } from '../syntax/span.ts';
import type { CheckedProgram, TypedAdapter, TypedBlock, TypedFinetune, TypedFn, TypedTensor } from '../types/typed-program.ts';
import { type BindingLayer, DimEnv, bindDeclParams, bindDerived, bindFnDims, checkRequestSizes } from './bindDims.ts';
import { LowerError } from './errors.ts';
import { adapterScope, adapterTensors, bindScalars, checkKnownNames } from './lowerAdapter.ts';
import type { DataInputPlan, LinearPlan, NetworkPlan, OwnerScope, TensorPlan } from './plan.ts';
import { showSpan } from './spans.ts';

export interface ModelRequest {
  kind: 'model';
  name: string;
  /** The model's sizes (overriding defaults) and the entry fn's per-call sizes (`b`, `t`, `n`). */
  dims?: Record<string, number>;
  scalars?: Record<string, number>;
  fn?: string;
}

export interface FinetuneRequest {
  kind: 'finetune';
  name: string;
  /** As for a model; these override the finetune's own arguments too (small sizes for tests). */
  dims?: Record<string, number>;
  scalars?: Record<string, number>;
  fn?: string;
  /** Overrides of the posterior's arguments (`K`), or false to leave the posterior out. */
  posterior?: { dims?: Record<string, number>; scalars?: Record<string, number> } | false;
  /**
   * Examples per `collectLinears` call (default 1): each tap input holds that many examples' rows
   * stacked, so one call adds them all (a product over the stacked rows sums over the examples).
   */
  linearsExamples?: number;
}

type BlockScope = OwnerScope & { decl: TypedBlock };

interface ModelScopes {
  root: BlockScope;
  instances: Map<string, BlockScope>;
  tensors: Map<string, { t: TypedTensor; owner: BlockScope }>;
  linears: Map<string, LinearPlan & { owner: BlockScope }>;
}

function modelScopes(program: CheckedProgram, model: TypedBlock, layers: readonly BindingLayer[], scalars: Readonly<Record<string, number>>, span: SourceSpan): ModelScopes {
  const what = `model ${model.name}`;
  const env = new DimEnv(what, undefined, span);
  bindDeclParams(env, what, model.params, layers, span);
  bindDerived(env, what, model.derived, model.span);
  const root: BlockScope = { decl: model, what, prefix: '', env, scalars: bindScalars(model.params, scalars, what, span), span: model.span };
  const out: ModelScopes = { root, instances: new Map(), tensors: new Map(), linears: new Map() };
  const walk = (scope: BlockScope, depth: number): void => {
    if (depth > 32) throw new LowerError('unsupported', `block instances nest deeper than 32 levels at ${scope.what}`, scope.span);
    for (const t of scope.decl.tensors) out.tensors.set(scope.prefix + t.path, { t, owner: scope });
    for (const l of scope.decl.linears) {
      const path = scope.prefix + l.path;
      out.linears.set(path, {
        path,
        out: scope.env.extent(l.out, `the output size of ${path}`, l.span),
        in: scope.env.extent(l.in, `the input size of ${path}`, l.span),
        bias: l.bias,
        span: l.span,
        owner: scope,
      });
    }
    for (const inst of scope.decl.instances) {
      const block = program.blocks.find((b) => b.name === inst.block);
      if (!block) throw new LowerError('internal', `no block ${inst.block} for ${inst.path}`, inst.span);
      const path = scope.prefix + inst.path;
      const bw = `block ${block.name} at ${path}`;
      const benv = new DimEnv(bw, undefined, inst.span);
      bindDeclParams(benv, bw, block.params, [{ source: `instance ${path}`, values: inst.dims, env: scope.env }], inst.span);
      bindDerived(benv, bw, block.derived, inst.span);
      const child: BlockScope = { decl: block, what: bw, prefix: `${path}.`, env: benv, scalars: bindScalars(block.params, inst.scalars, bw, inst.span), span: inst.span };
      out.instances.set(path, child);
      walk(child, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function tensorPlan(path: string, t: TypedTensor, owner: OwnerScope): TensorPlan {
  return {
    path,
    shape: owner.env.shape(t.type.shape, `the shape of ${path}`, t.span),
    dtype: t.type.elem,
    role: t.trainable ? 'param' : 'frozen',
    init: t.init,
    span: t.span,
    owner,
  };
}

/** The model's own tensors in its flat (declaration) order, then its linear layers' weights and biases. */
function modelTensors(model: TypedBlock, scopes: ModelScopes): TensorPlan[] {
  const out: TensorPlan[] = [];
  for (const f of model.flat.tensors) {
    const found = scopes.tensors.get(f.path);
    if (!found) throw new LowerError('internal', `the flat tensor ${f.path} belongs to no scope`, f.span);
    out.push(tensorPlan(f.path, found.t, found.owner));
  }
  for (const f of model.flat.linears) {
    const l = scopes.linears.get(f.path);
    if (!l) throw new LowerError('internal', `the flat linear ${f.path} belongs to no scope`, f.span);
    const load = { kind: 'load' } as const;
    out.push({ path: `${l.path}.weight`, shape: [l.out, l.in], dtype: 'f32', role: 'frozen', init: load, span: l.span, owner: l.owner });
    if (l.bias) out.push({ path: `${l.path}.bias`, shape: [l.out], dtype: 'f32', role: 'frozen', init: load, span: l.span, owner: l.owner });
  }
  return out;
}

function entryFn(decl: TypedBlock, name: string | undefined): TypedFn {
  const fn = decl.fns.find((f) => f.name === (name ?? 'forward'));
  if (!fn) throw new LowerError('bad-request', `model ${decl.name} has no fn ${name ?? 'forward'} (it has ${decl.fns.map((f) => f.name).join(', ')})`, decl.span);
  return fn;
}

function entryData(root: OwnerScope, fn: TypedFn, dims: Readonly<Record<string, number>> | undefined): { fnEnv: DimEnv; data: DataInputPlan[] } {
  const what = `fn ${fn.name} of ${root.what}`;
  const fnEnv = root.env.child(what, fn.span);
  bindFnDims(fnEnv, what, fn.dims, dims, fn.span);
  return { fnEnv, data: fn.params.map((p) => ({ name: p.name, shape: fnEnv.shape(p.type.shape, `argument ${p.name}`, fn.span), dtype: p.type.elem, span: fn.span })) };
}

function findModel(program: CheckedProgram, name: string): TypedBlock {
  const model = program.models.find((m) => m.name === name);
  if (!model) throw new LowerError('bad-request', `no model ${name}; the program has ${program.models.map((m) => m.name).join(', ') || 'none'}`);
  return model;
}

function dimNames(model: TypedBlock, fn: TypedFn): string[] {
  return [...model.params.filter((p) => p.kind === 'dim').map((p) => p.name), ...fn.dims];
}

/** A model alone (no adapters): its params (a head) train, everything else is frozen. */
export function planModel(program: CheckedProgram, req: ModelRequest): NetworkPlan {
  const model = findModel(program, req.name);
  const fn = entryFn(model, req.fn);
  checkRequestSizes(req.dims, `model ${model.name}`);
  checkKnownNames(req.dims, dimNames(model, fn), `dims for model ${model.name}`);
  checkKnownNames(req.scalars, model.params.filter((p) => p.kind === 'scalar').map((p) => p.name), `scalars for model ${model.name}`);
  const scopes = modelScopes(program, model, [{ source: 'the request', values: req.dims ?? {} }], req.scalars ?? {}, model.span);
  const { fnEnv, data } = entryData(scopes.root, fn, req.dims);
  const tensors = modelTensors(model, scopes);
  return {
    kind: 'model',
    name: model.name,
    root: scopes.root,
    fn,
    fnEnv,
    data,
    tensors: [...tensors.filter((t) => t.role === 'param'), ...tensors.filter((t) => t.role === 'frozen')],
    linears: scopes.linears,
    attachments: new Map(),
    instances: scopes.instances,
    span: model.span,
  };
}

export function findFinetune(program: CheckedProgram, name: string): TypedFinetune {
  const ft = program.finetunes.find((f) => f.name === name);
  if (!ft) throw new LowerError('bad-request', `no finetune ${name}; the program has ${program.finetunes.map((f) => f.name).join(', ') || 'none'}`);
  return ft;
}

/** A finetune: the model with adapters on the matched layers; theta in the checker's order. */
export function planFinetune(program: CheckedProgram, req: FinetuneRequest): NetworkPlan {
  const ft = findFinetune(program, req.name);
  const model = findModel(program, ft.model);
  const fn = entryFn(model, req.fn);
  checkRequestSizes(req.dims, `finetune ${ft.name}`);
  checkKnownNames(req.dims, dimNames(model, fn), `dims for finetune ${ft.name} (model ${model.name})`);
  checkKnownNames(req.scalars, model.params.filter((p) => p.kind === 'scalar').map((p) => p.name), `scalars for finetune ${ft.name} (model ${model.name})`);
  const scopes = modelScopes(
    program,
    model,
    [
      { source: 'the request', values: req.dims ?? {} },
      { source: `finetune ${ft.name}`, values: ft.dims },
    ],
    { ...ft.scalars, ...req.scalars },
    ft.span,
  );
  const { fnEnv, data } = entryData(scopes.root, fn, req.dims);
  const attachments = new Map<string, OwnerScope & { decl: TypedAdapter }>();
  const adapterPlans: TensorPlan[] = [];
  for (const att of ft.attachments) {
    const adapter = program.adapters.find((a) => a.name === att.adapter);
    if (!adapter) throw new LowerError('internal', `no adapter ${att.adapter}`, att.span);
    const lin = scopes.linears.get(att.layer);
    if (!lin) throw new LowerError('internal', `no linear layer ${att.layer} to adapt`, att.span);
    const scope = adapterScope({
      adapter,
      prefix: `${att.layer}.`,
      target: `${att.layer}.weight`,
      out: lin.out,
      in: lin.in,
      layer: att.layer,
      dims: [{ source: `the adapt clause at ${showSpan(att.span)}`, values: att.dims, env: scopes.root.env }],
      scalars: att.scalars,
      span: att.span,
    });
    attachments.set(att.layer, scope);
    adapterPlans.push(...adapterTensors(scope));
  }
  const own = modelTensors(model, scopes);
  const all = [...adapterPlans, ...own];
  const byPath = new Map(all.map((t) => [t.path, t]));
  const params: TensorPlan[] = ft.theta.entries.map((e) => {
    const t = byPath.get(e.path);
    if (!t || t.role !== 'param') throw new LowerError('internal', `theta entry ${e.path} is not a trainable tensor of the plan`, ft.span);
    return t;
  });
  const extra = all.filter((t) => t.role === 'param' && !params.includes(t));
  if (extra.length) throw new LowerError('internal', `trainable tensors missing from theta: ${extra.map((t) => t.path).join(', ')}`, ft.span);
  const frozen = [...own.filter((t) => t.role === 'frozen'), ...adapterPlans.filter((t) => t.role === 'frozen')];
  return {
    kind: 'finetune',
    name: ft.name,
    root: scopes.root,
    fn,
    fnEnv,
    data,
    tensors: [...params, ...frozen],
    linears: scopes.linears,
    attachments,
    instances: scopes.instances,
    span: ft.span,
  };
}
