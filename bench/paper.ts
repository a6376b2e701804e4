/**
 * The paper's own setting (configs/paper.json: UseLiteSwagPaper, LoRA r 8 on the query and value
 * projections of both layers, SWAG K = 5) at batch 32 × 64 tokens, real USE-Lite weights:
 *
 * - `train.step_ms.paper`: one training step as `trainRun` runs it (features uploaded, backward,
 *   AdamW with clipping, one readback), median over rounds;
 * - `train.step_efficiency`: the step's matmul FLOPs (2·m·n·k over the matmul nodes of the
 *   backward graph) ÷ (step time × the best matmul GFLOP/s measured in this run, the autotuned
 *   square matmul at n = 512);
 * - `bma.cost_ratio.paper.s15`: posterior-averaged prediction with S = 15 draws over one batch,
 *   batched (the frozen prefix once, then passes of the compiled draws forward, each serving D
 *   draws: D SWAG samples copied into its slots, one launch sequence, one readback) ÷ one MAP
 *   forward over the batch (the prefix, the forward, one readback);
 * - `bma.cost_ratio.paper.s15.per_draw`: the reference path, side by side: the prefix once, then
 *   per draw a SWAG sample, an unpack and the forward, with a readback each;
 * - `bma.draw_independent_flops.paper`: the share of a MAP forward's matmul FLOPs that no
 *   parameter reaches (the prefix, and the suffix's products of shared inputs), and
 *   `bma.cost_ratio_bound.paper.s15`, the ratio batching could reach if only that share were
 *   saved: I + S·(1 − I). `bma.prefix_share.paper`: the prefix's share of the MAP time;
 * - `train.peak_rss_mb.paper`: the process's peak resident memory after compiling, computing the
 *   prefix and training (process-wide: run `--only paper` for this suite's own peak).
 *
 * Several minutes on two llvmpipe cores; the smoke test passes tiny sizes.
 */
import { readFileSync } from 'node:fs';
import { varyingNodes } from '../compiler/passes/batchDraws.ts';
import type { Graph } from '../compiler/ir/index.ts';
import { DEFAULT_TUNING_CACHE } from '../api/tuneMatmuls.ts';
import { MatmulAutotuner, type MatmulArgs, matmul } from '../kernels/matmul/index.ts';
import { useLiteFrozenValues } from '../models/useLite.ts';
import { type Device, type Tensor, timeGpu } from '../runtime/index.ts';
import { Network, swagReader } from '../train/network.ts';
import { drawFromPosterior, samplePosterior } from '../train/predict.ts';
import { graphMatmulFlops, stepHarness } from '../train/stepHarness.ts';
import { type BenchResult, gflops } from './result.ts';

const FILE = 'examples/use_lite_classifier.swag';
const ENTRY = 'UseLiteSwagPaper';

export interface PaperBenchOptions {
  batch?: number;
  tokens?: number;
  draws?: number;
  rounds?: number;
  /** Where to say what the autotuner timed. */
  log?: (line: string) => void;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1);
}

/** The best matmul throughput this device reaches: the autotuned square matmul at n = 512. */
export async function bestMatmulGflops(device: Device, n = 512): Promise<number> {
  const tuner = new MatmulAutotuner(device, { samples: 2 });
  const a = device.tensor([n, n], randomData(n * n, 1));
  const b = device.tensor([n, n], randomData(n * n, 2));
  const out = device.empty([n, n]);
  const args: MatmulArgs = { a, b, out };
  const config = await tuner.configFor(args);
  const t = await timeGpu(device, async () => void (await matmul(device, { ...args, config })), { warmup: 1, samples: 7 });
  for (const x of [a, b, out]) x.release();
  return gflops(2 * n ** 3, t.medianMs);
}

/** 2·m·n·k of the matmul nodes of `g` that no trainable parameter reaches. */
function sharedMatmulFlops(g: Graph): number {
  const varies = varyingNodes(g);
  return graphMatmulFlops({ ...g, nodes: g.nodes.filter((n) => n.op !== 'matmul' || !varies[n.id]) });
}

export async function benchPaper(device: Device, options: PaperBenchOptions = {}): Promise<BenchResult[]> {
  const batch = options.batch ?? 32;
  const tokens = options.tokens ?? 64;
  const S = options.draws ?? 15;
  const rounds = options.rounds ?? 3;
  const network = await Network.compile(device, {
    source: readFileSync(FILE, 'utf8'),
    file: FILE,
    entry: ENTRY,
    dims: { b: batch, t: tokens },
    readFile: swagReader(),
    weights: useLiteFrozenValues(),
    draws: S,
    // Compiled as training compiles it: matmul tiles tuned on this device, remembered across runs.
    autotune: { cacheFile: DEFAULT_TUNING_CACHE, ...(options.log ? { log: options.log } : {}) },
  });
  try {
    const harness = await stepHarness(network);
    try {
      // A posterior of K snapshots around the initial parameters, for the draws.
      const K = network.posterior?.dims.K ?? 5;
      const theta = device.zeros([network.size]);
      network.packTheta(theta);
      const base = await device.read(theta);
      let s = 7;
      for (let n = 0; n < K + 1; n++) {
        device.write(theta, base.map((v) => v + ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.01));
        network.unit.collect({ theta, n: [n] });
      }
      theta.release();

      // One batch of token ids on the device; every BMA timing starts from it, as MAP does.
      const data: Record<string, Tensor> = Object.fromEntries(network.dataInputs.map((d) => {
        const n = batch * d.rowSize;
        let r = 3;
        const values = d.dtype === 'i32' ? Int32Array.from({ length: n }, () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0) % 8000) : new Float32Array(n).fill(1);
        return [d.name, device.tensor([batch, ...d.rowShape], values, d.dtype)];
      }));
      const features = () => (network.hasPrefix ? network.prefix(data) : data);
      const D = network.drawsPerPass ?? 1;
      const map = async () => {
        await device.read(network.unit.forward(features()).y!);
      };
      const perDraw = async () => {
        const cache = features();
        for (let k = 0; k < S; k++) {
          drawFromPosterior(network, k + 1, K + 1);
          await device.read(network.unit.forward(cache).y!);
        }
      };
      const batched = async () => {
        const cache = features();
        for (let first = 0; first < S; first += D) {
          for (let d = 0; d < Math.min(D, S - first); d++) network.setDraw(d, samplePosterior(network, first + d + 1, K + 1));
          await device.read(network.forwardDraws(cache));
        }
      };
      const prefixOnly = async () => {
        const cache = features();
        await device.read(Object.values(cache)[0]!);
      };

      await harness.step();
      await harness.forward();
      // Pipelines compile at their first dispatch: one pass of each program before timing.
      await map();
      await device.read(network.forwardDraws(features()));
      const steps: number[] = [];
      const maps: number[] = [];
      const prefixes: number[] = [];
      const perDraws: number[] = [];
      const batches: number[] = [];
      const best: number[] = [];
      /** Runs `work` once and adds its wall time (ms) to `into`. */
      const timed = async (work: () => Promise<unknown>, into: number[]) => {
        const t = performance.now();
        await work();
        into.push(performance.now() - t);
      };
      for (let r = 0; r < rounds; r++) {
        await timed(() => harness.step(), steps);
        await timed(map, maps);
        await timed(prefixOnly, prefixes);
        // S forwards each way: the longest part of the suite, timed in the first round only,
        // side by side, between two MAP timings.
        if (r === 0) {
          await timed(perDraw, perDraws);
          await timed(batched, batches);
          await timed(map, maps);
        }
        best.push(await bestMatmulGflops(device));
      }
      for (const t of Object.values(data)) t.release();
      const prefixFlops = network.unit.compiled.graphs.prefix ? graphMatmulFlops(network.unit.compiled.graphs.prefix) : 0;
      const suffix = network.unit.compiled.graphs.forward!;
      const sharedShare = (prefixFlops + sharedMatmulFlops(suffix)) / (prefixFlops + graphMatmulFlops(suffix));
      const stepMs = median(steps);
      const bestGflops = Math.max(...best);
      const efficiency = harness.matmulFlops / (stepMs * 1e-3 * bestGflops * 1e9);
      const peakMb = process.resourceUsage().maxRSS / 1024;
      const sizes = `b ${batch}, t ${tokens}`;
      return [
        { name: 'train.step_ms.paper', value: stepMs, unit: `ms (${ENTRY}, ${sizes}, ${(harness.matmulFlops / 1e9).toFixed(2)} GFLOP of matmuls)` },
        { name: 'train.step_efficiency', value: efficiency, unit: `of the best matmul rate (${bestGflops.toFixed(1)} GFLOP/s; goal ≥ 0.6)` },
        { name: 'bma.map_ms.paper', value: median(maps), unit: `ms (${sizes})` },
        { name: `bma.cost_ratio.paper.s${S}`, value: median(batches) / median(maps), unit: `× MAP, batched: ${Math.ceil(S / D)} pass(es) of ${D} draws (goal ≤ ${(0.7 * S).toFixed(1)})` },
        { name: `bma.cost_ratio.paper.s${S}.per_draw`, value: median(perDraws) / median(maps), unit: '× MAP, one forward per draw (the reference path)' },
        { name: 'bma.draw_independent_flops.paper', value: sharedShare, unit: 'of a MAP forward\'s matmul FLOPs reach no parameter (prefix and shared products)' },
        { name: `bma.cost_ratio_bound.paper.s${S}`, value: sharedShare + S * (1 - sharedShare), unit: '× MAP if batching saved exactly the draw-independent FLOPs' },
        { name: 'bma.prefix_share.paper', value: median(prefixes) / median(maps), unit: 'of a MAP forward\'s time is the frozen prefix' },
        { name: 'train.peak_rss_mb.paper', value: peakMb, unit: 'MB peak resident (process-wide; goal ≤ 4096)' },
      ];
    } finally {
      harness.destroy();
    }
  } finally {
    network.destroy();
  }
}
