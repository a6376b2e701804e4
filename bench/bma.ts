/**
 * Posterior-averaged prediction against MAP on the demo's network (USE-Lite with LoRA on its
 * pooling layer, SWAG with K = 20), on one batch of real IMDB reviews, side by side:
 *
 * - MAP: the frozen prefix on the batch, the suffix forward, one readback;
 * - BMA with S = 16: the prefix once, then per draw a SWAG sample (one fused kernel), an unpack
 *   of theta into the parameters and the suffix forward, with a readback each.
 *
 * `bma.cost_ratio.s16` = BMA ÷ MAP (the goal is ≤ 2; recomputing the whole network per
 * draw, as a reference implementation does, costs about 16).
 */
import { readFileSync } from 'node:fs';
import { encodeBatch } from '../data/batch.ts';
import { loadImdb } from '../data/imdb.ts';
import { loadUseTokenizer } from '../data/tokenizer.ts';
import { useLiteFrozenValues } from '../models/useLite.ts';
import type { Device, Tensor } from '../runtime/index.ts';
import { Network, swagReader } from '../train/network.ts';
import { drawFromPosterior } from '../train/predict.ts';
import type { BenchResult } from './result.ts';

const FILE = 'examples/use_lite_classifier.swag';
const BATCH = 32;
const TOKENS = 64;
const S = 16;

/** Medians of several tasks timed round-robin, so a drift in the machine's speed hits all alike. */
async function medians(rounds: number, tasks: (() => Promise<void>)[]): Promise<number[]> {
  for (const task of tasks) await task();
  const times: number[][] = tasks.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [k, task] of tasks.entries()) {
      const t = performance.now();
      await task();
      times[k]!.push(performance.now() - t);
    }
  }
  return times.map((xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
}

export async function benchBma(device: Device, options: { rounds?: number } = {}): Promise<BenchResult[]> {
  const network = await Network.compile(device, {
    source: readFileSync(FILE, 'utf8'),
    file: FILE,
    entry: 'UseLiteSwag',
    dims: { b: BATCH, t: TOKENS },
    readFile: swagReader(),
    weights: useLiteFrozenValues(),
  });
  try {
    network.initializeParameters(1);
    const texts = loadImdb().slice(0, BATCH).map((r) => r.text);
    const batch = encodeBatch(loadUseTokenizer(), texts, TOKENS);
    const ids = network.dataInputs.find((d) => d.dtype === 'i32')!.name;
    const mask = network.dataInputs.find((d) => d.dtype === 'f32')!.name;
    const data: Record<string, Tensor> = { [ids]: device.tensor([BATCH, TOKENS], batch.ids, 'i32'), [mask]: device.tensor([BATCH, TOKENS], batch.mask) };

    // A posterior with K = 20 snapshots around the initial parameters.
    const theta = device.zeros([network.size]);
    network.packTheta(theta);
    const base = await device.read(theta);
    let s = 7;
    for (let n = 0; n < 20; n++) {
      device.write(theta, base.map((v) => v + ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.01));
      network.unit.collect({ theta, n: [n] });
    }
    theta.release();

    const map = async () => {
      const cache = network.prefix(data);
      await device.read(network.unit.forward(cache).y!);
    };
    const bma = async () => {
      const cache = network.prefix(data);
      for (let k = 0; k < S; k++) {
        drawFromPosterior(network, k + 1, 20);
        await device.read(network.unit.forward(cache).y!);
      }
    };
    const prefixOnly = async () => {
      const cache = network.prefix(data);
      await device.read(cache[Object.keys(cache)[0]!]!);
    };
    const [mapMs, bmaMs, prefixMs] = (await medians(options.rounds ?? 7, [map, bma, prefixOnly])) as [number, number, number];
    for (const t of Object.values(data)) t.release();
    return [
      { name: 'bma.map_ms', value: mapMs, unit: `ms (b ${BATCH}, t ${TOKENS})` },
      { name: 'bma.s16_ms', value: bmaMs, unit: 'ms' },
      { name: 'bma.cost_ratio.s16', value: bmaMs / mapMs, unit: '× MAP (goal ≤ 2; naive 16)' },
      { name: 'bma.prefix_share', value: prefixMs / mapMs, unit: 'of a MAP forward is the frozen prefix' },
    ];
  } finally {
    network.destroy();
  }
}
