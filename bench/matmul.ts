import { matmulCpu } from '../kernels/cpu/matmul.ts';
import { MatmulAutotuner, type MatmulArgs, configName, matmul, naiveMatmul, shapeClassKey } from '../kernels/matmul/index.ts';
import { type Device, timeGpu } from '../runtime/index.ts';
import { type BenchResult, gflops } from './result.ts';

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Square f32 matmuls C = A·B: the autotuned best config at n = 256, 512, 1024 (median of 5+
 * runs; also the LoRA layout A·Bᵀ at 1024), each candidate's best-of-2 time from the n = 1024
 * tuning run, the naive one-thread-per-output kernel and the plain JS reference at n = 512.
 * About 30 s with Mesa's shader cache warm, under a minute cold (32×32 tiles compile for ≈9 s).
 */
export async function benchMatmul(device: Device): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const tuner = new MatmulAutotuner(device, { samples: 2 });
  const flops = (n: number) => 2 * n ** 3;

  const square = (n: number, seed: number) => device.tensor([n, n], randomData(n * n, seed));
  for (const [n, transB] of [[256, false], [512, false], [1024, false], [1024, true]] as const) {
    const a = square(n, 1);
    const b = square(n, 2);
    const out = device.empty([n, n]);
    const args: MatmulArgs = { a, b, out, transB };
    const config = await tuner.configFor(args);
    const t = await timeGpu(device, async () => {
      await matmul(device, { ...args, config });
    }, { warmup: 1, samples: n >= 1024 ? 5 : 9 });
    const suffix = transB ? `n${n}.transB` : `n${n}`;
    results.push({ name: `matmul.gflops.${suffix}`, value: gflops(flops(n), t.medianMs), unit: 'GFLOP/s' });
    // Which config won goes to stderr: units stay plain so results compare across runs.
    process.stderr.write(`  (matmul ${suffix}: autotuned ${configName(config)})\n`);
    if (n === 1024 && !transB) {
      for (const timing of tuner.timingsFor(shapeClassKey({ M: n, N: n, K: n }))) {
        if (!Number.isFinite(timing.ms)) continue;
        results.push({ name: `matmul.config.${configName(timing.config)}.gflops.n1024`, value: gflops(flops(n), timing.ms), unit: 'GFLOP/s' });
      }
    }
    a.release();
    b.release();
    out.release();
  }

  const n = 512;
  const aData = randomData(n * n, 3);
  const bData = randomData(n * n, 4);
  const a = device.tensor([n, n], aData);
  const b = device.tensor([n, n], bData);
  const out = device.empty([n, n]);
  const naive = await timeGpu(device, async () => {
    await naiveMatmul(device, a, b, out);
  }, { warmup: 1, samples: 3 });
  results.push({ name: 'matmul.naive.gflops.n512', value: gflops(flops(n), naive.medianMs), unit: 'GFLOP/s' });
  a.release();
  b.release();
  out.release();

  const t0 = performance.now();
  matmulCpu({ a: { data: aData, shape: [n, n] }, b: { data: bData, shape: [n, n] } });
  results.push({ name: 'matmul.js.gflops.n512', value: gflops(flops(n), performance.now() - t0), unit: 'GFLOP/s' });
  return results;
}
