/**
 * Throughput of the non-matmul kernels: reductions, elementwise maps, softmax and cross-entropy,
 * Philox normals, and SWAG collection and sampling at P = 1M parameters, K = 20. Host-timed
 * (no timestamp queries on the GL ES path), pipelines warmed first. About 20 s on llvmpipe.
 */
import { binary } from '../kernels/elementwise.ts';
import { randomNormal } from '../kernels/philox.ts';
import { reduce } from '../kernels/reduce.ts';
import { crossEntropy, softmax } from '../kernels/softmax.ts';
import { createSwagState, swagCollect, swagSample } from '../kernels/swag.ts';
import type { Device } from '../runtime/device.ts';
import type { Tensor } from '../runtime/tensor.ts';
import { timeGpu } from '../runtime/timing.ts';
import type { BenchResult } from './result.ts';

/** Times `work` (which returns the tensors it made, released after each run). */
async function time(device: Device, work: () => Promise<Tensor | Tensor[] | void>, samples = 5): Promise<number> {
  const timing = await timeGpu(
    device,
    async () => {
      const made = await work();
      for (const t of Array.isArray(made) ? made : made ? [made] : []) t.release();
    },
    { warmup: 1, samples },
  );
  return timing.medianMs;
}

export async function benchKernels(device: Device): Promise<BenchResult[]> {
  const figures: BenchResult[] = [];
  const add = (name: string, value: number, unit: string) => figures.push({ name, value, unit });
  const M = 1 << 20;

  // Reductions: 4M floats, rows of 4096 summed.
  const x = await randomNormal(device, [1024, 4096], { seed: 1 });
  const sumMs = await time(device, () => reduce(device, x, 'sum', { axis: -1 }));
  add('reduce.sum.gbps', (x.byteLength / (sumMs / 1000)) / 1e9, 'GB/s');
  const colMs = await time(device, () => reduce(device, x, 'sum', { axis: 0 }));
  add('reduce.sum_axis0.gbps', (x.byteLength / (colMs / 1000)) / 1e9, 'GB/s');

  // Elementwise: a + b over 4M elements (12 bytes of traffic per element) and a broadcast row.
  const y = await randomNormal(device, [1024, 4096], { seed: 2 });
  const row = await randomNormal(device, [4096], { seed: 3 });
  const addMs = await time(device, () => binary(device, x, y, 'add'));
  add('elementwise.add.gbps', ((3 * x.byteLength) / (addMs / 1000)) / 1e9, 'GB/s');
  const bcastMs = await time(device, () => binary(device, x, row, 'mul'));
  add('elementwise.mul_broadcast.gbps', ((2 * x.byteLength) / (bcastMs / 1000)) / 1e9, 'GB/s');

  // Softmax over 1024-wide rows, and cross-entropy over a 32-class head.
  const softmaxMs = await time(device, () => softmax(device, x.reshape([4096, 1024])));
  add('softmax.rows_per_s', 4096 / (softmaxMs / 1000), 'rows/s');
  const logits = await randomNormal(device, [65536, 32], { seed: 4 });
  const labels = device.tensor([65536], Int32Array.from({ length: 65536 }, (_, i) => (i * 7) % 32), 'i32');
  const ceMs = await time(device, async () => {
    const { losses, mean } = await crossEntropy(device, logits, labels);
    return [losses, mean];
  });
  add('cross_entropy.rows_per_s', 65536 / (ceMs / 1000), 'rows/s');

  // Philox: 4M standard normals.
  const normalMs = await time(device, () => randomNormal(device, [4 * M], { seed: 5 }));
  add('philox.normals_per_s', (4 * M) / (normalMs / 1000), 'normals/s');
  for (const t of [x, y, row, logits, labels]) t.release();

  // SWAG at P = 1M, K = 20: one snapshot folded in, one sample, and 8 samples in one dispatch.
  const P = M, K = 20;
  const state = createSwagState(device, P, K);
  const theta = await randomNormal(device, [P], { seed: 6 });
  for (let i = 0; i < K; i++) await swagCollect(device, state, theta);
  add('swag.collect_ms.p1m', await time(device, () => swagCollect(device, state, theta).then(() => undefined)), 'ms');
  add('swag.sample_ms.p1m', await time(device, () => swagSample(device, state, { seed: 7 })), 'ms');
  const seeds = Array.from({ length: 8 }, (_, s) => 100 + s);
  add('swag.sample8_ms.p1m', await time(device, () => swagSample(device, state, { seeds }), 3), 'ms');
  for (const t of [state.mean, state.sqMean, state.deviations, theta]) t.release();

  await device.sync();
  return figures;
}
