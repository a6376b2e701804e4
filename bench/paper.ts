/**
 * The paper's own setting (configs/paper.json: UseLiteSwagPaper, LoRA r 8 on the query and value
 * projections of both layers, SWAG K = 5) at batch 32 × 64 tokens, real USE-Lite weights:
 *
 * - `train.step_ms.paper`: one training step as `trainRun` runs it (features uploaded, backward,
 *   AdamW with clipping, one readback), median over rounds;
 * - `train.step_efficiency`: the step's matmul FLOPs (2·m·n·k over the matmul nodes of the
 *   backward graph) ÷ (step time × the best matmul GFLOP/s measured in this run, the autotuned
 *   square matmul at n = 512);
 * - `bma.cost_ratio.paper.s15`: posterior-averaged prediction with S = 15 draws over one batch
 *   (each a SWAG sample, an unpack and the forward) ÷ one MAP forward over it (one timing: the
 *   draws take minutes on llvmpipe);
 * - `train.peak_rss_mb.paper`: the process's peak resident memory after compiling, computing the
 *   prefix and training (process-wide: run `--only paper` for this suite's own peak).
 *
 * Several minutes on two llvmpipe cores; the smoke test passes tiny sizes.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_TUNING_CACHE } from '../api/tuneMatmuls.ts';
import { MatmulAutotuner, type MatmulArgs, matmul } from '../kernels/matmul/index.ts';
import { useLiteFrozenValues } from '../models/useLite.ts';
import { type Device, timeGpu } from '../runtime/index.ts';
import { Network, swagReader } from '../train/network.ts';
import { drawFromPosterior } from '../train/predict.ts';
import { stepHarness } from '../train/stepHarness.ts';
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
      const bma = async () => {
        for (let k = 0; k < S; k++) {
          drawFromPosterior(network, k + 1, K + 1);
          await harness.forward();
        }
      };

      await harness.step();
      await harness.forward();
      const steps: number[] = [];
      const maps: number[] = [];
      const bmas: number[] = [];
      const best: number[] = [];
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        await harness.step();
        steps.push(performance.now() - t);
        t = performance.now();
        await harness.forward();
        maps.push(performance.now() - t);
        // S forwards: the longest part of the suite, timed in the first round only.
        if (r === 0) {
          t = performance.now();
          await bma();
          bmas.push(performance.now() - t);
        }
        best.push(await bestMatmulGflops(device));
      }
      const stepMs = median(steps);
      const bestGflops = Math.max(...best);
      const efficiency = harness.matmulFlops / (stepMs * 1e-3 * bestGflops * 1e9);
      const peakMb = process.resourceUsage().maxRSS / 1024;
      const sizes = `b ${batch}, t ${tokens}`;
      return [
        { name: 'train.step_ms.paper', value: stepMs, unit: `ms (${ENTRY}, ${sizes}, ${(harness.matmulFlops / 1e9).toFixed(2)} GFLOP of matmuls)` },
        { name: 'train.step_efficiency', value: efficiency, unit: `of the best matmul rate (${bestGflops.toFixed(1)} GFLOP/s; goal ≥ 0.6)` },
        { name: 'bma.map_ms.paper', value: median(maps), unit: `ms (${sizes})` },
        { name: `bma.cost_ratio.paper.s${S}`, value: median(bmas) / median(maps), unit: `× MAP (goal ≤ ${(0.7 * S).toFixed(1)})` },
        { name: 'train.peak_rss_mb.paper', value: peakMb, unit: 'MB peak resident (process-wide; goal ≤ 4096)' },
      ];
    } finally {
      harness.destroy();
    }
  } finally {
    network.destroy();
  }
}
