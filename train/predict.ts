/**
 * Predictive probabilities on cached features: one set of parameters (MAP, SWA), an average over
 * several (deep ensembles, SWAG and MultiSWAG samples, MC-dropout masks). The frozen prefix was
 * computed once per example (the feature table), so each extra draw costs only the adapted
 * suffix: a posterior sample, an unpack of theta into the parameters, and the suffix forward.
 *
 * Draws given as packed parameters (`theta`) on a network compiled with `draws` run batched:
 * D draws go into the slots of the draws forward, and one pass per batch serves all D
 * (passes/batchDraws.ts), so what does not depend on the parameters is computed once per batch.
 * The average is taken in the same order either way (draw by draw, per row), so the two paths
 * differ only by the float rounding of the kernels.
 */
import type { Tensor } from '../runtime/index.ts';
import type { FeatureTable } from './features.ts';
import type { Network } from './network.ts';
import { checkPosteriorHasSnapshots } from './posterior.ts';
import { SEED_STREAM, deviceSeed } from './random.ts';

/** Row-wise softmax of logits [rows, c] into `out`, accumulated with weight `w`. */
export function accumulateSoftmax(logits: ArrayLike<number>, rows: number, c: number, out: Float64Array, offset: number, w: number): void {
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, logits[r * c + k]!);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(logits[r * c + k]! - max);
    for (let k = 0; k < c; k++) out[(offset + r) * c + k]! += (w * Math.exp(logits[r * c + k]! - max)) / sum;
  }
}

export interface PredictOptions {
  /** Draw `s` of `draws`: put the parameters in place (or leave them) before the pass. */
  prepare?: (s: number) => void | Promise<void>;
  /**
   * Draw `s` of `draws` as packed parameters [p] on the device (instead of `prepare`): called
   * once per draw, in order; the tensor is copied before the next call, so a reused output
   * (the posterior's `sample`) is fine. Batched when the network has a draws forward.
   */
  theta?: (s: number) => Tensor | Promise<Tensor>;
  /** With `theta`: run one forward per draw even when the network could batch them (the reference path). */
  perDraw?: boolean;
  /** MC dropout: run the forward pass with dropout on, mask seed per draw. */
  dropoutSeed?: (s: number) => number;
  onProgress?: (done: number, total: number) => void;
}

/** Mean over `draws` forward passes of softmax probabilities, [count, classes] row-major. */
export async function predictProbabilities(network: Network, features: FeatureTable, draws: number, options: PredictOptions = {}): Promise<Float64Array> {
  const b = network.batch;
  const c = network.classes;
  const probs = new Float64Array(features.count * c);
  const batches = Math.ceil(features.count / b);
  // Inputs gathered once: every draw reads the same rows.
  const inputs: Record<string, Tensor>[] = [];
  const spec = new Map(network.features.map((s) => [s.name, s]));
  for (let k = 0; k < batches; k++) {
    const indices = Array.from({ length: Math.min(b, features.count - k * b) }, (_, i) => k * b + i);
    const rows = features.gather(indices, b);
    inputs.push(Object.fromEntries(Object.entries(rows).map(([name, data]) => [name, network.device.tensor(spec.get(name)!.shape, data, spec.get(name)!.dtype)])));
  }
  try {
    const D = network.drawsPerPass;
    if (options.theta && !options.dropoutSeed && !options.perDraw && D !== undefined && draws > 1) {
      await predictBatched(network, inputs, features.count, draws, D, options.theta, probs, options.onProgress);
      return probs;
    }
    for (let s = 0; s < draws; s++) {
      await options.prepare?.(s);
      if (options.theta) network.unpackTheta(await options.theta(s));
      for (let k = 0; k < batches; k++) {
        const rows = Math.min(b, features.count - k * b);
        const out = options.dropoutSeed ? network.unit.dropoutForward({ ...inputs[k]!, seed: [options.dropoutSeed(s)] }) : network.unit.forward(inputs[k]!);
        const logits = await network.device.read(out.y!);
        accumulateSoftmax(logits, rows, c, probs, k * b, 1 / draws);
      }
      options.onProgress?.(s + 1, draws);
    }
  } finally {
    for (const batch of inputs) for (const t of Object.values(batch)) t.release();
  }
  return probs;
}

/** Draws in passes of D: each pass's draws into the slots, then one draws forward per batch. */
async function predictBatched(network: Network, inputs: Record<string, Tensor>[], count: number, draws: number, D: number, theta: (s: number) => Tensor | Promise<Tensor>, probs: Float64Array, onProgress?: (done: number, total: number) => void): Promise<void> {
  const b = network.batch;
  const c = network.classes;
  for (let first = 0; first < draws; first += D) {
    const n = Math.min(D, draws - first);
    for (let d = 0; d < n; d++) network.setDraw(d, await theta(first + d));
    for (let k = 0; k < inputs.length; k++) {
      const rows = Math.min(b, count - k * b);
      const logits = await network.device.read(network.forwardDraws(inputs[k]!));
      // Slots past n hold an earlier pass's draws: not averaged.
      for (let d = 0; d < n; d++) accumulateSoftmax(logits.subarray(d * b * c, (d + 1) * b * c), rows, c, probs, k * b, 1 / draws);
    }
    onProgress?.(first + n, draws);
  }
}

/** A run's posterior on the device: its statistics set, ready for `sample`. */
export function loadPosterior(network: Network, stats: ReadonlyMap<string, ArrayLike<number>>): void {
  for (const [name, v] of stats) network.unit.set(name, v);
}

/**
 * A draw from the loaded posterior, `sample(seed)`, on the device: packed parameters [p]. The
 * tensor is the sample program's output, overwritten by the next sample.
 */
export function samplePosterior(network: Network, seed: number, collected: number): Tensor {
  checkPosteriorHasSnapshots(collected, 'the loaded posterior');
  const sample = network.unit.compiled.graphs.sample!;
  const feeds: Record<string, ArrayLike<number>> = { seed: [seed] };
  if (sample.inputs.some((i) => i.name === 'n')) feeds.n = [collected];
  return network.unit.sample(feeds).theta_sample!;
}

/** Draws parameters from the loaded posterior into the network: `sample(seed)` then an unpack of theta, all on the device. */
export function drawFromPosterior(network: Network, seed: number, collected: number): void {
  network.unpackTheta(samplePosterior(network, seed, collected));
}

/** The seed of posterior draw `s` of run `run`. */
export const posteriorSeed = (runSeed: number, s: number) => deviceSeed(runSeed, SEED_STREAM.sample, s);
/** The dropout seed of MC-dropout draw `s`. */
export const mcDropoutSeed = (runSeed: number, s: number) => deviceSeed(runSeed, SEED_STREAM.dropout, 1_000_000 + s);
