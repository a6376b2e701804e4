/**
 * A small network and a task the tests make themselves: frozen random layers, LoRA on the second,
 * a SWAG posterior with K = 4, and labels from a fixed random linear teacher.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { FeatureTable, computeFeatures } from '../../train/features.ts';
import { Network } from '../../train/network.ts';
import type { TrainConfig } from '../../train/trainer.ts';
import type { Device } from '../../runtime/index.ts';
import { testDevice } from '../helpers/device.ts';
import { rng } from '../helpers/random.ts';

/** The model the tests adapt: two tanh layers (frozen) and a trained linear head. */
export const NET_MODEL = `model Net(features: dim = 8, hidden: dim = 12, classes: dim = 3) {
  linear fc1: [hidden, features] + bias
  linear fc2: [hidden, hidden] + bias
  param head.weight: [classes, hidden] = normal(std: 0.1)
  param head.bias: [classes] = zeros

  fn forward(x: [n, features]) -> [n, classes] {
    let h = tanh(fc1(x))
    let h = tanh(fc2(h))
    return h @ head.weight^T + head.bias
  }
}
`;

export const SOURCE = `
adapter LoRA(r: dim, alpha: f32 = 4, p: f32 = 0.0) on linear(W: [out, in]) {
  param A: [r, in] = kaiming_uniform(a: sqrt(5))
  param B: [out, r] = zeros
  fn forward(x: [n, in]) -> [n, out] {
    return x @ W^T + (alpha / r) * ((dropout(x, p) @ A^T) @ B^T)
  }
}

posterior SWAG(K: dim = 4, scale: f32 = 0.5, eps: f32 = 1e-30) over params {
  stat mean = average(theta)
  stat sq_mean = average(theta * theta)
  stat D = last(K, theta - mean)
  sample(z1: normal, z2: normal[K]) = mean
      + sqrt(scale) * sqrt(max(sq_mean - mean * mean, eps)) * z1
      + sqrt(scale / (K - 1)) * (z2 @ D)
}

${NET_MODEL}
finetune NetSwag = Net(classes: 3) {
  adapt "fc2" with LoRA(r: 2, p: 0.1)
  posterior SWAG(K: 4)
}
`;

const FEATURES = 8;
const HIDDEN = 12;
export const COUNT = 96;
export const BATCH = 16;

/** Frozen weights and a labelled data set, all from seeds. */
export function task(seed = 1) {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const frozen = new Map<string, Float32Array>([
    ['fc1.weight', Float32Array.from({ length: HIDDEN * FEATURES }, () => normal() / Math.sqrt(FEATURES))],
    ['fc1.bias', new Float32Array(HIDDEN)],
    ['fc2.weight', Float32Array.from({ length: HIDDEN * HIDDEN }, () => normal() / Math.sqrt(HIDDEN))],
    ['fc2.bias', new Float32Array(HIDDEN)],
  ]);
  const teacher = Float32Array.from({ length: 3 * FEATURES }, normal);
  const x = Float32Array.from({ length: COUNT * FEATURES }, normal);
  const labels = Int32Array.from({ length: COUNT }, (_, i) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < FEATURES; k++) s += teacher[c * FEATURES + k]! * x[i * FEATURES + k]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    return best;
  });
  return { frozen, x, labels };
}

/** NetSwag on the test device; `draws` also compiles its batched posterior forward. */
export async function network(frozen: Map<string, Float32Array>, device?: Device, { draws }: { draws?: number } = {}) {
  return Network.compile(device ?? (await testDevice()), { source: SOURCE, file: 'net.swag', entry: 'NetSwag', dims: { n: BATCH }, batchDim: 'n', weights: frozen, ...(draws !== undefined ? { draws } : {}) });
}

export async function featuresOf(net: Network, x: Float32Array): Promise<FeatureTable> {
  const rows = new FeatureTable(net.dataInputs, COUNT, new Map([[net.dataInputs[0]!.name, x]]));
  return computeFeatures(net, rows);
}

export const CONFIG: TrainConfig = {
  seed: 3,
  epochs: 6,
  lr: 0.05,
  warmupSteps: 4,
  weightDecay: 0.01,
  clipNorm: 1,
  swag: { epochs: 2, lr: 0.02, collectEvery: 2 },
};


/** A fresh temporary folder per call, all removed after the file's tests. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

/** The same parameter names, and every value bit for bit. */
export function expectSameParameters(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
}
