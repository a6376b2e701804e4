/**
 * Posteriors: the statistics kept over theta [p] and the sampling rule, lowered from the user's
 * declaration — SWAG, diagonal SWAG and SWA all come out of this one code path.
 *
 * - `collect`: inputs `theta` [p] (role input), `n` (f32 scalar, the number of snapshots collected
 *   before this one), every statistic (role state, named after it); outputs every statistic
 *   updated, under the same names. Statistics update in declaration order and each sees the ones
 *   above it already updated (SWAG's deviation is from the updated mean):
 *   - `average(e)`: (n · old + e) / (n + 1), the running mean;
 *   - `total(e)`: old + e, the running sum;
 *   - `last(K, e)`: row (n mod K) of the [K, ...] ring buffer becomes e, written as
 *     select(eq(iota, n mod K), broadcast(e), old); fusion turns that into a row write in place
 *     (compiler/passes/fuseRingBufferWrite.ts), so a snapshot touches one row, not K.
 * - A post-hoc posterior (`over params posthoc`) is collected after training, once per training
 *   example at the MAP: `collect` has the extra input `grad` [p], that example's gradient of the
 *   loss by theta (train/laplace.ts feeds it from the compiled backward at batch size 1), and
 *   `n` counts examples instead of snapshots.
 * - `sample`: inputs every statistic (state) and, when the rule draws noise, an i32 scalar `seed`
 *   (input); output `theta_sample` [p], the user's sample expression. Draw k of the declaration
 *   (`z: normal` → [p], `z: normal[K]` → [K]) is `randomNormal(seed) {shape, stream: k}`, so SWAG's
 *   z1 is Philox stream 0 and z2 stream 1 of the seed, as in the hand-written kernels/swag.ts.
 */
import { GraphBuilder, type Graph, type Value } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import type { CheckedProgram, Ref, TypedExpr, TypedPosterior } from '../types/typed-program.ts';
import { type BindingLayer, type BoundDim, DimEnv, bindDeclParams, isPositiveSize } from './bindDims.ts';
import { LowerError } from './errors.ts';
import { bindScalars } from './lowerAdapter.ts';
import { type ExprScope, lowerExpr } from './lowerExpr.ts';
import type { PosteriorPlan } from './plan.ts';
import { irSpan } from './spans.ts';

export interface PosteriorRequest {
  kind: 'posterior';
  name: string;
  /** The number of parameters p (theta's size). */
  p: number;
  /** The posterior's size parameters (`K`). */
  dims?: Record<string, number>;
  scalars?: Record<string, number>;
}

export interface StatInfo {
  name: string;
  reduce: 'average' | 'last' | 'total';
  /** For `last`: the ring's capacity K. */
  capacity?: number;
  shape: number[];
  span: SourceSpan;
}

export interface LoweredPosterior {
  name: string;
  p: number;
  dims: Record<string, BoundDim>;
  scalars: Record<string, number>;
  /** The statistics, in update order; each starts at zero. */
  stats: StatInfo[];
  /** Collected after training, one training example at a time: `collect` reads `grad` [p]. */
  posthoc: boolean;
  /** The standard normal draws of the sampler, in declaration order: draw k is stream k of `seed`. */
  noise: { name: string; shape: number[] }[];
  collect: Graph;
  sample: Graph;
}

export function planPosterior(program: CheckedProgram, name: string, p: number, layers: readonly BindingLayer[], scalars: Readonly<Record<string, number>>, span?: SourceSpan): PosteriorPlan {
  const decl = program.posteriors.find((x) => x.name === name);
  if (!decl) throw new LowerError('bad-request', `no posterior ${name}; the program has ${program.posteriors.map((x) => x.name).join(', ') || 'none'}`, span);
  const what = `posterior ${name}`;
  if (!isPositiveSize(p)) throw new LowerError('bad-size', `${what}: the parameter count p must be a positive whole number, got ${p}`, span ?? decl.span);
  const env = new DimEnv(what, undefined, span ?? decl.span);
  env.bind('p', p, 'the number of trainable parameters');
  bindDeclParams(env, what, decl.params, layers, span ?? decl.span);
  return { decl, p, env, scalars: bindScalars(decl.params, scalars, what, span ?? decl.span) };
}

/** What the statistics of a posterior are lowered from: its declaration, bound sizes and scalars. */
export type StatsPlan = Pick<PosteriorPlan, 'decl' | 'env' | 'scalars'>;

/** The values the built-in names of a posterior stand for in one graph. */
export interface PosteriorNames {
  theta?: Value;
  grad?: Value;
  /** Posteriors over linears: one linear map's input rows and output gradient. */
  linearInput?: Value;
  linearOutputGrad?: Value;
  stats: Map<string, Value>;
  noise: Map<string, Value>;
}

/** Names in posterior expressions: theta, grad, a linear's input and output gradient, statistics, noise draws; scalars and sizes fold. */
export class PosteriorScope implements ExprScope {
  constructor(
    readonly b: GraphBuilder,
    readonly env: DimEnv,
    private readonly plan: StatsPlan,
    private readonly names: PosteriorNames,
  ) {}

  scalar(name: string): number | undefined {
    return this.plan.scalars[name];
  }

  ref(ref: Ref, e: TypedExpr): Value {
    const where = `posterior ${this.plan.decl.name}`;
    const builtIn = (v: Value | undefined, what: string) => {
      if (!v) throw new LowerError('internal', `${what} in ${where}`, e.span);
      return v;
    };
    switch (ref.kind) {
      case 'theta':
        return builtIn(this.names.theta, 'theta outside the statistics');
      case 'grad':
        return builtIn(this.names.grad, 'grad outside the statistics of a post-hoc posterior over params');
      case 'linear_input':
        return builtIn(this.names.linearInput, 'input outside the statistics of a posterior over linears');
      case 'linear_output_grad':
        return builtIn(this.names.linearOutputGrad, 'output_grad outside the statistics of a posterior over linears');
      case 'stat': {
        const v = this.names.stats.get(ref.name);
        if (!v) throw new LowerError('internal', `no statistic ${ref.name} in ${where}`, e.span);
        return v;
      }
      case 'noise': {
        const v = this.names.noise.get(ref.name);
        if (!v) throw new LowerError('internal', `no noise draw ${ref.name} in ${where}`, e.span);
        return v;
      }
      default:
        throw new LowerError('internal', `a ${ref.kind} reference in ${where}`, e.span);
    }
  }

  call(e: Extract<TypedExpr, { kind: 'call' }>): Value {
    throw new LowerError('internal', 'a call in a posterior', e.span);
  }

  dropout(_x: Value, _p: number, e: TypedExpr): Value {
    throw new LowerError('unsupported', 'dropout in a posterior', e.span);
  }
}

/**
 * n mod K for a whole number n ≥ 0 held in f32: the IR's floored `mod` (exact for n < 2^24,
 * where f32 holds every whole number; the GPU kernel corrects a rounded n / K by one step).
 */
export function ringSlot(b: GraphBuilder, n: Value, K: number): Value {
  if (K === 1) return b.constant(0);
  return b.mod(n, K);
}

export function statInfos(plan: StatsPlan): StatInfo[] {
  return plan.decl.stats.map((s) => {
    const info: StatInfo = { name: s.name, reduce: s.reduce, shape: plan.env.shape(s.type.shape, `the shape of stat ${s.name}`, s.span), span: s.span };
    if (s.reduce === 'last') {
      if (!s.capacity) throw new LowerError('internal', `stat ${s.name} keeps the last values but has no capacity`, s.span);
      info.capacity = plan.env.extent(s.capacity, `the capacity of stat ${s.name}`, s.span);
    }
    return info;
  });
}

export function checkNames(decl: TypedPosterior, reserved: string[]): void {
  for (const s of decl.stats) {
    if (reserved.includes(s.name)) throw new LowerError('bad-request', `the statistic ${s.name} has the name of a graph input (${reserved.join(', ')}); rename it`, s.span);
  }
}

/**
 * Adds the statistics' updates to a collect graph: each statistic is a state input named
 * `tensorName(stat)` and an output of the same name, updated in declaration order, each seeing
 * the ones above it already updated. `n` counts what was collected before.
 */
export function addStatUpdates(b: GraphBuilder, plan: StatsPlan, stats: StatInfo[], n: Value, names: Omit<PosteriorNames, 'stats' | 'noise'>, tensorName: (stat: string) => string = (x) => x): void {
  const decl = plan.decl;
  const old = new Map<string, Value>();
  decl.stats.forEach((s, i) => old.set(s.name, b.state(tensorName(s.name), stats[i]!.shape, irSpan(s.span))));
  const current = new Map(old);
  const scope = new PosteriorScope(b, plan.env, plan, { ...names, stats: current, noise: new Map() });
  decl.stats.forEach((s, i) => {
    const info = stats[i]!;
    const e = lowerExpr(s.value, scope);
    b.span = irSpan(s.span);
    const prev = old.get(s.name)!;
    let next: Value;
    if (s.reduce === 'average') {
      next = b.div(b.add(b.mul(n, prev), e), b.add(n, 1));
    } else if (s.reduce === 'total') {
      next = e.shape.length === prev.shape.length ? b.add(prev, e) : b.add(prev, b.reshape(e, prev.shape));
    } else {
      const K = info.capacity!;
      const slot = ringSlot(b, n, K);
      const row = b.iota([K, ...e.shape.map(() => 1)], 0);
      next = b.select(b.eq(row, slot), b.reshape(e, [1, ...e.shape]), prev);
    }
    if (next.shape.length !== info.shape.length || next.shape.some((d, k) => d !== info.shape[k])) {
      throw new LowerError('internal', `stat ${s.name} updates to [${next.shape.join(', ')}], declared [${info.shape.join(', ')}]`, s.span);
    }
    current.set(s.name, next);
    b.output(tensorName(s.name), next);
  });
}

function lowerCollect(plan: PosteriorPlan, stats: StatInfo[]): Graph {
  const decl = plan.decl;
  checkNames(decl, decl.posthoc ? ['theta', 'grad', 'n'] : ['theta', 'n']);
  const b = new GraphBuilder();
  const span = irSpan(decl.span);
  const theta = b.input('theta', [plan.p], { span });
  const grad = decl.posthoc ? b.input('grad', [plan.p], { span }) : undefined;
  const n = b.input('n', [], { span });
  addStatUpdates(b, plan, stats, n, { theta, ...(grad ? { grad } : {}) });
  return b.build();
}

function lowerSample(plan: PosteriorPlan, stats: StatInfo[], noise: { name: string; shape: number[] }[]): Graph {
  const decl = plan.decl;
  if (!decl.sample) throw new LowerError('bad-request', `posterior ${decl.name} has no sample rule`, decl.span);
  const b = new GraphBuilder();
  const span = irSpan(decl.span);
  const statValues = new Map<string, Value>();
  decl.stats.forEach((s, i) => statValues.set(s.name, b.state(s.name, stats[i]!.shape, irSpan(s.span))));
  const noiseValues = new Map<string, Value>();
  if (noise.length > 0) {
    checkNames(decl, ['seed']);
    const seed = b.input('seed', [], { dtype: 'i32', span });
    b.span = span;
    noise.forEach((z, stream) => {
      if (statValues.has(z.name)) throw new LowerError('bad-request', `the noise draw ${z.name} has the name of a statistic; rename it`, decl.span);
      noiseValues.set(z.name, b.randomNormal(seed, z.shape, { stream }));
    });
  }
  const scope = new PosteriorScope(b, plan.env, plan, { stats: statValues, noise: noiseValues });
  const theta = lowerExpr(decl.sample, scope);
  if (theta.shape.length !== 1 || theta.shape[0] !== plan.p) {
    throw new LowerError('internal', `the sample is [${theta.shape.join(', ')}], theta is [${plan.p}]`, decl.sample.span);
  }
  b.output('theta_sample', theta);
  return b.build();
}

export function lowerPosterior(plan: PosteriorPlan): LoweredPosterior {
  const stats = statInfos(plan);
  const noise = plan.decl.noise.map((z) => ({ name: z.name, shape: plan.env.shape(z.type.shape, `the shape of the draw ${z.name}`, plan.decl.span) }));
  return {
    name: plan.decl.name,
    p: plan.p,
    dims: plan.env.entries(),
    scalars: { ...plan.scalars },
    stats,
    posthoc: plan.decl.posthoc,
    noise,
    collect: lowerCollect(plan, stats),
    sample: lowerSample(plan, stats, noise),
  };
}
