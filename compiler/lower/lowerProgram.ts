/**
 * The entry point of the lowering: a checked program and a request in, IR graphs out.
 *
 *     const r = lowerProgram(checked.program, { kind: 'finetune', name: 'MlpSwag', dims: { n: 32 } });
 *     if (!r.ok) for (const e of r.errors) console.error(formatLowerDiagnostic(e));
 *     else { r.network.forward; r.network.training; r.network.theta; r.posterior?.collect; ... }
 *
 * The request names the entry — an adapter on a linear shape, a model, a finetune, or a posterior
 * over p parameters — and binds the sizes the program leaves open (per-call sizes such as the
 * batch, model sizes without defaults) or overrides (small sizes for tests). Problems with sizes
 * or the request come back as `errors` (with spans where they have a place), never as exceptions.
 */
import { IRError, type DType } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import type { CheckedProgram } from '../types/typed-program.ts';
import { type BoundDim, checkRequestSizes } from './bindDims.ts';
import { type LowerDiagnostic, LowerError } from './errors.ts';
import { type AdapterRequest, checkKnownNames, planAdapter } from './lowerAdapter.ts';
import { type InitGraph, lowerInitExpr } from './lowerInit.ts';
import { type FinetuneRequest, type ModelRequest, findFinetune, planFinetune, planModel } from './lowerModel.ts';
import { type NetworkGraphs, lowerNetworkGraphs } from './lowerNetwork.ts';
import { type LoweredLinearsPosterior, lowerLinearsPosterior } from './lowerLinearsPosterior.ts';
import { type LoweredPosterior, type PosteriorRequest, lowerPosterior, planPosterior } from './lowerPosterior.ts';
import { DEFAULT_LOSS, type LossSpec } from './loss.ts';
import type { NetworkPlan } from './plan.ts';
import { type ThetaLayout, thetaLayout } from './theta.ts';

export type { AdapterRequest } from './lowerAdapter.ts';
export type { FinetuneRequest, ModelRequest } from './lowerModel.ts';
export type { PosteriorRequest } from './lowerPosterior.ts';

/** Options every network request (adapter, model, finetune) takes. */
export interface NetworkOptions {
  /** The training loss; cross-entropy on the output by default; 'none' for no training graph. */
  loss?: LossSpec | 'none';
  /** Keep dropout active in the forward graph (MC dropout); it then has the `seed` input. */
  forwardDropout?: boolean;
  /** Taps on the training graph's linear maps (linearTaps.ts); a finetune with a posterior over linears has them without asking. */
  linearTaps?: boolean;
}

export type LowerRequest = ((AdapterRequest | ModelRequest | FinetuneRequest) & NetworkOptions) | PosteriorRequest;

/** How a tensor gets its first value. */
export type InitInfo =
  | { kind: 'builtin'; name: string; options: Record<string, number> }
  | ({ kind: 'expr' } & InitGraph)
  | { kind: 'load' };

export interface TensorInfo {
  /** Full path: graph input name and checkpoint key. */
  path: string;
  shape: number[];
  dtype: DType;
  role: 'param' | 'frozen';
  init: InitInfo;
  span: SourceSpan;
  /** Where it sits in theta (params only). */
  theta?: { offset: number; size: number };
}

export interface DataInput {
  name: string;
  shape: number[];
  dtype: DType;
}

export interface LoweredNetwork extends NetworkGraphs {
  kind: 'adapter' | 'model' | 'finetune';
  name: string;
  /** The entry fn. */
  fn: string;
  /** Every size of the root declaration and the entry fn, with where its value came from. */
  dims: Record<string, BoundDim>;
  /** The entry fn's arguments, the data inputs of both graphs. */
  data: DataInput[];
  /** Every tensor: params in theta order, then frozen ones. */
  tensors: TensorInfo[];
  theta: ThetaLayout;
  /** Adapted layers (finetunes): which adapter, with its sizes and scalars there. */
  attachments: { layer: string; adapter: string; dims: Record<string, number>; scalars: Record<string, number> }[];
}

/** What a request lowers to: a network, a posterior over its params, a posterior over its linear maps. */
interface Lowered {
  network?: LoweredNetwork;
  posterior?: LoweredPosterior;
  linearsPosterior?: LoweredLinearsPosterior;
}

export type LowerResult = ({ ok: true } & Lowered) | { ok: false; errors: LowerDiagnostic[] };

function numbers(dims: Record<string, BoundDim>): Record<string, number> {
  return Object.fromEntries(Object.entries(dims).map(([k, v]) => [k, v.value]));
}

function lowerNetwork(plan: NetworkPlan, options: NetworkOptions): LoweredNetwork {
  const loss = options.loss === 'none' ? undefined : (options.loss ?? DEFAULT_LOSS);
  const graphs = lowerNetworkGraphs(plan, { ...(loss ? { loss } : {}), forwardDropout: options.forwardDropout === true, ...(options.linearTaps ? { linearTaps: true } : {}) });
  const theta = thetaLayout(plan.tensors.filter((t) => t.role === 'param'));
  const tensors: TensorInfo[] = plan.tensors.map((t) => {
    const init: InitInfo = t.init.kind === 'expr' ? { kind: 'expr', ...lowerInitExpr(plan, t) } : t.init.kind === 'builtin' ? { kind: 'builtin', name: t.init.name, options: { ...t.init.options } } : { kind: 'load' };
    const entry = theta.entries.find((e) => e.path === t.path);
    return { path: t.path, shape: t.shape, dtype: t.dtype, role: t.role, init, span: t.span, ...(entry ? { theta: { offset: entry.offset, size: entry.size } } : {}) };
  });
  return {
    kind: plan.kind,
    name: plan.name,
    fn: plan.fn.name,
    dims: plan.fnEnv.entries(),
    ...graphs,
    data: plan.data.map((d) => ({ name: d.name, shape: d.shape, dtype: d.dtype })),
    tensors,
    theta,
    attachments: [...plan.attachments.entries()].map(([layer, s]) => ({ layer, adapter: s.decl.name, dims: numbers(s.env.entries()), scalars: { ...s.scalars } })),
  };
}

function lowerOrThrow(program: CheckedProgram, req: LowerRequest): Lowered {
  switch (req.kind) {
    case 'adapter':
      return { network: lowerNetwork(planAdapter(program, req), req) };
    case 'model':
      return { network: lowerNetwork(planModel(program, req), req) };
    case 'finetune': {
      const plan = planFinetune(program, req);
      const ft = findFinetune(program, req.name);
      if (req.posterior === false) return { network: lowerNetwork(plan, req) };
      const network = lowerNetwork(plan, ft.linearsPosterior ? { ...req, linearTaps: true } : req);
      const over = req.posterior ?? {};
      const named = [ft.posterior, ft.linearsPosterior].flatMap((p) => (p ? [{ use: p, decl: program.posteriors.find((x) => x.name === p.name) }] : []));
      const declared = (kind: 'dim' | 'scalar') => named.flatMap((p) => (p.decl?.params ?? []).filter((x) => x.kind === kind).map((x) => x.name));
      const what = `posterior ${named.map((p) => p.use.name).join(' and ')}`;
      checkRequestSizes(over.dims, what);
      checkKnownNames(over.dims, declared('dim'), `posterior dims for finetune ${ft.name}`);
      checkKnownNames(over.scalars, declared('scalar'), `posterior scalars for finetune ${ft.name}`);
      const out: Lowered = { network };
      for (const { use, decl } of named) {
        const layers = [
          { source: 'the request', values: over.dims ?? {} },
          { source: `finetune ${ft.name}`, values: use.dims, env: plan.root.env },
        ];
        const scalars = { ...use.scalars, ...pick(over.scalars, (decl?.params ?? []).filter((x) => x.kind === 'scalar').map((x) => x.name)) };
        if (decl?.over === 'linears') {
          const taken = new Set(plan.tensors.map((t) => t.path));
          out.linearsPosterior = lowerLinearsPosterior(program, use.name, network.taps, layers, scalars, taken, ft.span, req.linearsExamples ?? 1);
        } else {
          out.posterior = lowerPosterior(planPosterior(program, use.name, network.theta.size, layers, scalars, ft.span));
        }
      }
      return out;
    }
    case 'posterior': {
      checkRequestSizes(req.dims, `posterior ${req.name}`);
      const decl = program.posteriors.find((p) => p.name === req.name);
      if (decl) {
        checkKnownNames(req.dims, decl.params.filter((p) => p.kind === 'dim').map((p) => p.name), `dims for posterior ${req.name}`);
        checkKnownNames(req.scalars, decl.params.filter((p) => p.kind === 'scalar').map((p) => p.name), `scalars for posterior ${req.name}`);
      }
      if (decl?.over === 'linears') {
        throw new LowerError('bad-request', `posterior ${req.name} is over linears: its statistics are per linear map of a network, so it compiles as part of a finetune that names it (posterior ${req.name}(...) in the finetune), not alone`, decl.span);
      }
      const plan = planPosterior(program, req.name, req.p, [{ source: 'the request', values: req.dims ?? {} }], req.scalars ?? {});
      return { posterior: lowerPosterior(plan) };
    }
  }
}

/** The entries of `values` named in `names`. */
function pick(values: Readonly<Record<string, number>> | undefined, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([k]) => names.includes(k)));
}

/** Lowers the requested entry of a checked program (which must have checked without errors). */
export function lowerProgram(program: CheckedProgram, request: LowerRequest): LowerResult {
  try {
    return { ok: true, ...lowerOrThrow(program, request) };
  } catch (e) {
    if (e instanceof LowerError) return { ok: false, errors: [e.toDiagnostic()] };
    // An IR error here means the lowering built something the IR rejects: a lowering bug, reported as a value.
    if (e instanceof IRError) return { ok: false, errors: [{ severity: 'error', code: 'internal', message: `the IR rejected a lowered node: ${e.message}` }] };
    throw e;
  }
}
