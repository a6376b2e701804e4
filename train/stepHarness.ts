/**
 * One training step of a compiled network, exactly as `trainRun` runs it (features uploaded from
 * the host, the backward program, AdamW with clipping, one readback of loss and gradient norm),
 * on a fixed synthetic batch: what `npm run bench` times as `train.step_ms.*` and what
 * `swaglet profile CONFIG` profiles. Also counts the step's matmul FLOPs from the compiled
 * programs, for `train.step_efficiency`.
 */
import type { Graph } from '../compiler/ir/index.ts';
import type { Device, Tensor } from '../runtime/index.ts';
import type { Network } from './network.ts';
import { AdamW } from './optimizer.ts';

export interface StepHarness {
  readonly network: Network;
  /** One training step, its readback awaited. */
  step(): Promise<void>;
  /** The posterior-averaged forward over one batch is not part of a step; the MAP forward is. */
  forward(): Promise<void>;
  /** 2·m·n·k summed over the matmul launches of the backward program (the step's matmul FLOPs). */
  readonly matmulFlops: number;
  destroy(): void;
}

/**
 * 2·(output elements)·k of every `matmul` node of a (simplified, unfused) graph: the useful
 * matmul FLOPs, whatever kernels fusion later makes of them.
 */
export function graphMatmulFlops(g: Graph): number {
  let flops = 0;
  for (const n of g.nodes) {
    if (n.op !== 'matmul') continue;
    const a = g.nodes[n.inputs[0]!]!.shape;
    const transA = (n.attrs as { transA?: boolean }).transA === true;
    const k = transA ? a[a.length - 2]! : a[a.length - 1]!;
    flops += 2 * n.shape.reduce((p, d) => p * d, 1) * k;
  }
  return flops;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** A harness on `network` with a synthetic batch: random token ids (or features), all positions kept. */
export async function stepHarness(network: Network, { vocab = 8000, seed = 1 }: { vocab?: number; seed?: number } = {}): Promise<StepHarness> {
  const device: Device = network.device;
  const b = network.batch;
  const next = lcg(seed);
  const data: Record<string, Int32Array | Float32Array> = {};
  for (const d of network.dataInputs) {
    const n = b * d.rowSize;
    data[d.name] = d.dtype === 'i32' ? Int32Array.from({ length: n }, () => Math.floor(next() * vocab)) : new Float32Array(n).fill(1);
  }
  // The suffix's inputs on the host, as the feature table would hold them.
  const features: Record<string, Int32Array | Float32Array> = {};
  if (network.hasPrefix) {
    const out = network.prefix(data);
    for (const f of network.features) features[f.name] = (await device.read(out[f.name]!)) as Int32Array | Float32Array;
  } else Object.assign(features, data);
  const labels = Int32Array.from({ length: b }, (_, i) => i % network.classes);

  network.initializeParameters(1);
  const params = Object.fromEntries(network.parameters());
  const optimizer = await AdamW.create(device, params, { weightDecay: 0.01, maxGradNorm: 1 });
  const stats = device.zeros([2]);
  const compiled = network.unit.compiled.network!;
  const step = async () => {
    const feeds: Record<string, ArrayLike<number> | Tensor> = { ...features, labels };
    if (compiled.trainingSeed) feeds.seed = [7];
    if (compiled.trainingTrainSize) feeds.train_size = [256];
    const out = network.unit.backward(feeds);
    const grads = Object.fromEntries(network.theta.entries.map((e) => [e.path, out[`grad.${e.path}`]!]));
    optimizer.step(grads, 1e-4);
    device.copyRange(out.loss!, 0, stats, 0, 1);
    device.copyRange(optimizer.clipState, 1, stats, 1, 1);
    await device.read(stats);
  };
  const forward = async () => {
    await device.read(network.unit.forward(features).y!);
  };
  const backward = network.unit.compiled.graphs.backward;
  return {
    network,
    step,
    forward,
    matmulFlops: backward ? graphMatmulFlops(backward) : 0,
    destroy() {
      stats.release();
      optimizer.destroy();
    },
  };
}
