/**
 * From a network plan to its graphs:
 *
 * - `forward`: data inputs (role `input`, the entry fn's parameters), every param (role `param`,
 *   in theta order), every frozen tensor (role `frozen`); output `y`. Dropout is the identity
 *   unless the request asks for it at inference (MC dropout), which adds the `seed` input.
 * - `training`: the same forward with dropout active (an i32 scalar input `seed` when any dropout
 *   has p > 0; one `stream` per dropout site), the loss (`loss`, with its `labels` / `target` /
 *   `cotangent` input) and, from `differentiate`, `grad.<path>` for every param. With penalties
 *   (penalty.ts), `loss` is the data loss + their sum / `train_size` (an f32 scalar input: the
 *   training set size N), and their sum is the output `penalty`.
 * - With `linearTaps` (a finetune with a posterior over linears: Laplace KFAC), every matmul
 *   `a @ P^T` whose weight P is a param used once (LoRA's A and B, a head's weight) is tapped in
 *   the training graph (linearTaps.ts): the outputs `tap.<P>.input` (its input rows a) and
 *   `grad.tap.<P>.output` (the loss's gradient at its output rows g), what that posterior's
 *   statistics read. No input is added.
 * - Noise (`normal([r, in])` in a forward pass) is a Philox draw wherever dropout is active (the
 *   training graph, or `forward` with `forwardDropout`: Monte Carlo over the noise), from the same
 *   `seed` input and the same stream counter as the dropout sites; elsewhere its mean, 0.
 */
import { GraphBuilder, differentiate, type Graph, type Value } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import { LowerError } from './errors.ts';
import { type LinearTap, LinearTapBuilder } from './linearTaps.ts';
import { callFn, type NetworkContext } from './lowerFn.ts';
import { type LossInput, type LossSpec, addLoss, lossInput } from './loss.ts';
import type { NetworkPlan } from './plan.ts';
import { hasPenalties, lowerPenalties } from './penalty.ts';
import { fillSpans, irSpan } from './spans.ts';

/** Inputs the lowering adds itself: the dropout seed and the losses' data. */
const RESERVED = ['seed', 'labels', 'target', 'cotangent'];
/** The training set size, an input of training graphs with penalties. */
const TRAIN_SIZE = 'train_size';

export interface BuiltForward {
  builder: GraphBuilder;
  y: Value;
  /** True when the graph has the `seed` input (some dropout with p > 0 or some noise, active). */
  seed: boolean;
  /** The sum of the adapters' penalties, when asked for and there are some. */
  penalty?: Value;
}

/** Builds the entry fn over the plan's inputs; the caller adds outputs. */
export function buildForward(plan: NetworkPlan, options: { dropout: boolean; penalties?: boolean; linearTaps?: boolean }): BuiltForward {
  const b = options.linearTaps ? new LinearTapBuilder() : new GraphBuilder();
  for (const name of [...plan.data.map((d) => d.name), ...plan.tensors.map((t) => t.path)]) {
    if (RESERVED.includes(name)) {
      const t = plan.tensors.find((x) => x.path === name);
      throw new LowerError('bad-request', `${t ? 'the tensor' : 'the argument'} ${name} has the name of an input the lowering adds (${RESERVED.join(', ')}); rename it`, t?.span ?? plan.fn.span);
    }
  }
  const data = plan.data.map((d) => b.input(d.name, d.shape, { dtype: d.dtype, span: irSpan(d.span) }));
  const tensors = new Map<string, Value>();
  for (const t of plan.tensors) {
    if (plan.data.some((d) => d.name === t.path)) {
      throw new LowerError('bad-request', `the tensor ${t.path} has the name of an argument of ${plan.fn.name}; rename one of them`, t.span);
    }
    tensors.set(t.path, b.input(t.path, t.shape, { role: t.role, dtype: t.dtype, span: irSpan(t.span) }));
  }
  let seed: Value | undefined;
  let stream = 0;
  const ctx: NetworkContext = {
    b,
    linears: plan.linears,
    attachments: plan.attachments,
    instances: plan.instances,
    depth: 0,
    tensor(path: string, at: SourceSpan): Value {
      const v = tensors.get(path);
      if (!v) throw new LowerError('internal', `no tensor ${path} in the plan`, at);
      return v;
    },
    dropout(x: Value, p: number, at: SourceSpan): Value {
      if (!options.dropout || p === 0) return x;
      const span = irSpan(at);
      seed ??= b.input('seed', [], { dtype: 'i32', span });
      b.span = span;
      return b.dropout(x, seed, { p, stream: ++stream });
    },
    noise(shape: number[], at: SourceSpan): Value {
      const span = irSpan(at);
      b.span = span;
      if (!options.dropout) return b.zeros(shape);
      seed ??= b.input('seed', [], { dtype: 'i32', span });
      b.span = span;
      return b.randomNormal(seed, shape, { stream: ++stream });
    },
  };
  const y = callFn(ctx, plan.root, plan.fn, plan.fnEnv, data, plan.fn.span);
  const penalty = options.penalties ? lowerPenalties(ctx, plan) : undefined;
  return { builder: b, y, seed: seed !== undefined, ...(penalty ? { penalty } : {}) };
}

/** The graphs of a network and what a caller needs to feed them. */
export interface NetworkGraphs {
  /** Inputs: data (`input`), params (`param`), frozen (`frozen`), `seed` with forwardDropout; output `y`. */
  forward: Graph;
  /** True when `forward` has the i32 scalar input `seed`. */
  forwardSeed: boolean;
  /** Forward with dropout, `loss`, and `grad.<path>` per param. Absent with loss 'none'. */
  training?: Graph;
  /** True when `training` has the `seed` input (some dropout with p > 0, or noise). */
  trainingSeed: boolean;
  /** True when `training` has the f32 scalar input `train_size` (some adapter has a penalty): feed the training set size N. */
  trainingTrainSize: boolean;
  loss?: LossSpec;
  /** The loss's data input (`labels` i32, `target` or `cotangent` f32). */
  lossInput?: LossInput;
  /** With `linearTaps`: the tapped linear maps, whose `tap.<P>.input` and `grad.tap.<P>.output` `training` outputs. */
  taps: LinearTap[];
}

export function lowerNetworkGraphs(plan: NetworkPlan, options: { loss?: LossSpec; forwardDropout?: boolean; linearTaps?: boolean }): NetworkGraphs {
  const fwd = buildForward(plan, { dropout: options.forwardDropout === true });
  fwd.builder.output('y', fwd.y);
  const out: NetworkGraphs = { forward: fwd.builder.build(), forwardSeed: fwd.seed, trainingSeed: false, trainingTrainSize: false, taps: [] };
  if (!options.loss) return out;
  const train = buildForward(plan, { dropout: true, penalties: hasPenalties(plan), ...(options.linearTaps ? { linearTaps: true } : {}) });
  const b = train.builder;
  const span = irSpan(plan.span);
  b.output('y', train.y);
  let loss = addLoss(b, train.y, options.loss, span);
  if (train.penalty) {
    const clash = [...plan.data.map((d) => ({ name: d.name, span: plan.fn.span })), ...plan.tensors.map((t) => ({ name: t.path, span: t.span }))].find((x) => x.name === TRAIN_SIZE);
    if (clash) throw new LowerError('bad-request', `${clash.name} is the name of the input the lowering adds for the penalties (the training set size); rename it`, clash.span);
    b.span = span;
    const trainSize = b.input(TRAIN_SIZE, [], { span });
    loss = b.add(loss, b.div(train.penalty, trainSize));
    b.output('penalty', train.penalty);
  }
  b.output('loss', loss);
  const wrt = plan.tensors.filter((t) => t.role === 'param').map((t) => t.path);
  const tapped = b instanceof LinearTapBuilder ? b.finish() : { taps: [], wrt: [] };
  wrt.push(...tapped.wrt);
  const training = fillSpans(differentiate(b.build(), { loss: 'loss', wrt }), span);
  return {
    ...out,
    training,
    trainingSeed: train.seed,
    trainingTrainSize: train.penalty !== undefined,
    loss: options.loss,
    lossInput: lossInput(options.loss, train.y.shape),
    taps: tapped.taps,
  };
}
