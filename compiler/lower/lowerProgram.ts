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
  /** Kronecker-factor taps in the training graph (Laplace KFAC; see lowerNetwork.ts's KfacBuilder). */
  kfacTaps?: boolean;
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

export type LowerResult = { ok: true; network?: LoweredNetwork; posterior?: LoweredPosterior } | { ok: false; errors: LowerDiagnostic[] };

function numbers(dims: Record<string, BoundDim>): Record<string, number> {
  return Object.fromEntries(Object.entries(dims).map(([k, v]) => [k, v.value]));
}

function lowerNetwork(plan: NetworkPlan, options: NetworkOptions): LoweredNetwork {
  const loss = options.loss === 'none' ? undefined : (options.loss ?? DEFAULT_LOSS);
  const graphs = lowerNetworkGraphs(plan, { ...(loss ? { loss } : {}), forwardDropout: options.forwardDropout === true, ...(options.kfacTaps ? { kfacTaps: true } : {}) });
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

function lowerOrThrow(program: CheckedProgram, req: LowerRequest): { network?: LoweredNetwork; posterior?: LoweredPosterior } {
  switch (req.kind) {
    case 'adapter':
      return { network: lowerNetwork(planAdapter(program, req), req) };
    case 'model':
      return { network: lowerNetwork(planModel(program, req), req) };
    case 'finetune': {
      const plan = planFinetune(program, req);
      const network = lowerNetwork(plan, req);
      const ft = findFinetune(program, req.name);
      if (!ft.posterior || req.posterior === false) return { network };
      const over = req.posterior ?? {};
      const decl = program.posteriors.find((p) => p.name === ft.posterior!.name);
      checkRequestSizes(over.dims, `posterior ${ft.posterior.name}`);
      checkKnownNames(over.dims, decl?.params.filter((p) => p.kind === 'dim').map((p) => p.name) ?? [], `posterior dims for finetune ${ft.name}`);
      checkKnownNames(over.scalars, decl?.params.filter((p) => p.kind === 'scalar').map((p) => p.name) ?? [], `posterior scalars for finetune ${ft.name}`);
      const pplan = planPosterior(
        program,
        ft.posterior.name,
        network.theta.size,
        [
          { source: 'the request', values: over.dims ?? {} },
          { source: `finetune ${ft.name}`, values: ft.posterior.dims, env: plan.root.env },
        ],
        { ...ft.posterior.scalars, ...over.scalars },
        ft.span,
      );
      return { network, posterior: lowerPosterior(pplan) };
    }
    case 'posterior': {
      checkRequestSizes(req.dims, `posterior ${req.name}`);
      const decl = program.posteriors.find((p) => p.name === req.name);
      if (decl) {
        checkKnownNames(req.dims, decl.params.filter((p) => p.kind === 'dim').map((p) => p.name), `dims for posterior ${req.name}`);
        checkKnownNames(req.scalars, decl.params.filter((p) => p.kind === 'scalar').map((p) => p.name), `scalars for posterior ${req.name}`);
      }
      const plan = planPosterior(program, req.name, req.p, [{ source: 'the request', values: req.dims ?? {} }], req.scalars ?? {});
      return { posterior: lowerPosterior(plan) };
    }
  }
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
