/**
 * Predictive probabilities on cached features: one set of parameters (MAP, SWA), an average over
 * several (deep ensembles, SWAG and MultiSWAG samples, MC-dropout masks). The frozen prefix was
 * computed once per example (the feature table), so each extra draw costs only the adapted
 * suffix: a posterior sample, an unpack of theta into the parameters, and the suffix forward.
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
    for (let s = 0; s < draws; s++) {
      await options.prepare?.(s);
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

/** A run's posterior on the device: its statistics set, ready for `sample`. */
export function loadPosterior(network: Network, stats: ReadonlyMap<string, ArrayLike<number>>): void {
  for (const [name, v] of stats) network.unit.set(name, v);
}

/**
 * Draws parameters from the loaded posterior into the network: `sample(seed)` then an unpack of
 * theta, all on the device.
 */
export function drawFromPosterior(network: Network, seed: number, collected: number): void {
  checkPosteriorHasSnapshots(collected, 'the loaded posterior');
  const sample = network.unit.compiled.graphs.sample!;
  const feeds: Record<string, ArrayLike<number>> = { seed: [seed] };
  if (sample.inputs.some((i) => i.name === 'n')) feeds.n = [collected];
  network.unpackTheta(network.unit.sample(feeds).theta_sample!);
}

/** The seed of posterior draw `s` of run `run`. */
export const posteriorSeed = (runSeed: number, s: number) => deviceSeed(runSeed, SEED_STREAM.sample, s);
/** The dropout seed of MC-dropout draw `s`. */
export const mcDropoutSeed = (runSeed: number, s: number) => deviceSeed(runSeed, SEED_STREAM.dropout, 1_000_000 + s);
