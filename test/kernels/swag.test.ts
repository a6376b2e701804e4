import { describe, expect, it } from 'vitest';
import { type SwagState, createSwagState, swagCollect, swagSample } from '../../kernels/swag.ts';
import { seedKey } from '../../kernels/philox.ts';
import { type SwagStateCpu, createSwagStateCpu, swagCollectCpu, swagSampleCpu } from '../../kernels/cpu/swag.ts';
import type { Device } from '../../runtime/device.ts';
import { ShapeError } from '../../runtime/errors.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';

const SIZES = [1, 7, 97, 131, 3001];

/** The same statistics on both sides: f32 values, uploaded to the device and kept in f64 on the host. */
function makeState(device: Device, P: number, K: number, n: number, seed: number): { gpu: SwagState; cpu: SwagStateCpu } {
  const mean = randomArray(P, seed);
  // sq_mean = mean² + variance with variance in [0.01, 1.01) — and a few zero variances, where ε applies.
  const sqMean = mean.map((m, i) => (i % 11 === 5 ? m * m : m * m + 0.01 + Math.abs(randomArray(1, seed + i)[0]!)));
  const deviations = randomArray(K * P, seed + 1, 0.5);
  const gpu = createSwagState(device, P, K);
  device.write(gpu.mean, mean);
  device.write(gpu.sqMean, sqMean);
  device.write(gpu.deviations, deviations);
  gpu.n = n;
  const cpu = createSwagStateCpu(P, K);
  cpu.mean.set(mean);
  cpu.sqMean.set(sqMean);
  cpu.deviations.set(deviations);
  cpu.n = n;
  return { gpu, cpu };
}

describe('SWAG collection', () => {
  it('updates mean, second moment and the deviation ring buffer like the CPU reference', async () => {
    const device = await testDevice();
    for (const P of SIZES) {
      const K = 4;
      const gpu = createSwagState(device, P, K);
      const cpu = createSwagStateCpu(P, K);
      // Seven snapshots: the ring buffer wraps (rows 0..2 are overwritten by snapshots 4..6).
      for (let step = 0; step < 7; step++) {
        const theta = randomArray(P, 1000 * P + step);
        await swagCollect(device, gpu, device.tensor([P], theta));
        swagCollectCpu(cpu, theta);
      }
      expect(gpu.n).toBe(7);
      expect(maxRelError(await device.read(gpu.mean), cpu.mean), `mean, P = ${P}`).toBeLessThan(1e-4);
      expect(maxRelError(await device.read(gpu.sqMean), cpu.sqMean), `sq_mean, P = ${P}`).toBeLessThan(1e-4);
      expect(maxRelError(await device.read(gpu.deviations), cpu.deviations), `D, P = ${P}`).toBeLessThan(1e-4);
    }
  });

  it('throws ShapeError naming both shapes for a θ of the wrong size', async () => {
    const device = await testDevice();
    const state = createSwagState(device, 10, 3);
    await expect(swagCollect(device, state, device.zeros([2, 4]))).rejects.toThrow(ShapeError);
    await expect(swagCollect(device, state, device.zeros([2, 4]))).rejects.toThrow(/\[2, 4\].*\[10\]/);
  });
});

describe('SWAG sampling', () => {
  const cases = [
    { name: 'full ring (n ≥ K)', K: 4, n: 9 },
    { name: 'partly filled ring (n < K)', K: 5, n: 3 },
    { name: 'one snapshot (diagonal only)', K: 4, n: 1 },
    { name: 'diagonal SWAG', K: 4, n: 9, diagonalOnly: true },
  ];
  for (const { name, K, n, diagonalOnly } of cases) {
    it(`matches the CPU reference given the same seed: ${name}`, async () => {
      const device = await testDevice();
      for (const P of SIZES) {
        const { gpu, cpu } = makeState(device, P, K, n, P + K);
        const seed = 77 + P;
        const sample = await device.read(await swagSample(device, gpu, { seed, diagonalOnly, scale: 0.5, offset: 3 }));
        const expected = swagSampleCpu(cpu, { key: seedKey(seed), diagonalOnly, scale: 0.5, offset: 3 });
        expect(maxRelError(sample, expected), `P = ${P}`).toBeLessThan(1e-4);
      }
    });
  }

  it('draws S samples in one dispatch, each equal to its single-seed sample', async () => {
    const device = await testDevice();
    const P = 131;
    const { gpu, cpu } = makeState(device, P, 4, 6, 5);
    const seeds = [1, 2, 2 ** 40 + 3];
    const before = device.stats.dispatches;
    const batch = await swagSample(device, gpu, { seeds, scale: 0.3 });
    expect(device.stats.dispatches - before).toBe(1);
    expect(batch.shape).toEqual([3, P]);
    const all = await device.read(batch);
    seeds.forEach((seed, s) => {
      expect(maxRelError(all.slice(s * P, (s + 1) * P), swagSampleCpu(cpu, { key: seedKey(seed), scale: 0.3 }))).toBeLessThan(1e-4);
    });
    const fromTensor = await swagSample(device, gpu, { seeds: device.tensor([3, 2], seeds.flatMap((s) => seedKey(s)), 'u32'), scale: 0.3 });
    expect(Array.from(await device.read(fromTensor))).toEqual(Array.from(all));
  });

  it('has mean and covariance ½·diag(σ²) + DᵀD/(2(K−1)) within sampling error', async () => {
    // 4000 samples of P = 16 with K = 4. Bounds: each coordinate's sample mean lies within 5
    // standard errors √(Σᵢᵢ/S) of the mean; each sample covariance entry within 5 standard
    // errors √((ΣᵢᵢΣⱼⱼ + Σᵢⱼ²)/S), its standard error for Gaussian samples. Over the 16 + 136
    // checks a false failure has probability below 152 · 5.7e-7 ≈ 1e-4 (and seeds are fixed).
    const device = await testDevice();
    const P = 16, K = 4, S = 4000, Z = 5;
    const { gpu, cpu } = makeState(device, P, K, 10, 123);
    const samples = await device.read(await swagSample(device, gpu, { seeds: Array.from({ length: S }, (_, s) => 10_000 + s) }));
    const mu = cpu.mean;
    const sigma = Array.from({ length: P }, (_, i) => {
      const m = Math.fround(mu[i]!);
      return Math.max(Math.fround(Math.fround(cpu.sqMean[i]!) - Math.fround(m * m)), 1e-30);
    });
    const covariance = (withLowRank: boolean, scale = 0.5) => (i: number, j: number) => {
      let c = i === j ? scale * sigma[i]! : 0;
      if (withLowRank) for (let k = 0; k < K; k++) c += (scale * cpu.deviations[k * P + i]! * cpu.deviations[k * P + j]!) / (K - 1);
      return c;
    };
    const expected = covariance(true);
    const mean = new Float64Array(P);
    for (let s = 0; s < S; s++) for (let i = 0; i < P; i++) mean[i]! += samples[s * P + i]! / S;
    for (let i = 0; i < P; i++) expect(Math.abs(mean[i]! - mu[i]!), `mean[${i}]`).toBeLessThan(Z * Math.sqrt(expected(i, i) / S));
    let worstTrue = 0, worstDiagonal = 0, worstScale = 0;
    for (let i = 0; i < P; i++) {
      for (let j = i; j < P; j++) {
        let c = 0;
        for (let s = 0; s < S; s++) c += (samples[s * P + i]! - mean[i]!) * (samples[s * P + j]! - mean[j]!);
        c /= S - 1;
        const se = (cov: (i: number, j: number) => number) => Math.sqrt((cov(i, i) * cov(j, j) + cov(i, j) ** 2) / S);
        worstTrue = Math.max(worstTrue, Math.abs(c - expected(i, j)) / se(expected));
        worstDiagonal = Math.max(worstDiagonal, Math.abs(c - covariance(false)(i, j)) / se(covariance(false)));
        worstScale = Math.max(worstScale, Math.abs(c - covariance(true, 0.4)(i, j)) / se(covariance(true, 0.4)));
      }
    }
    expect(worstTrue).toBeLessThan(Z);
    // The test has power: it rejects the diagonal-only covariance, and even a scale of 0.4 for 0.5.
    expect(worstDiagonal).toBeGreaterThan(2 * Z);
    expect(worstScale).toBeGreaterThan(Z);
  });

  it('collects then samples end to end on the device', async () => {
    const device = await testDevice();
    const P = 97, K = 3;
    const gpu = createSwagState(device, P, K);
    const cpu = createSwagStateCpu(P, K);
    for (let step = 0; step < 5; step++) {
      const theta = randomArray(P, step, 2);
      await swagCollect(device, gpu, device.tensor([P], theta));
      swagCollectCpu(cpu, theta);
    }
    const sample = await device.read(await swagSample(device, gpu, { seed: 9 }));
    expect(maxRelError(sample, swagSampleCpu(cpu, { key: seedKey(9) }))).toBeLessThan(1e-4);
  });

  it('rejects ambiguous seeds and a bad seed tensor', async () => {
    const device = await testDevice();
    const state = createSwagState(device, 4, 2);
    await expect(swagSample(device, state, {})).rejects.toThrow(/exactly one/);
    await expect(swagSample(device, state, { seeds: device.zeros([3]) })).rejects.toThrow(/\[S, 2\]/);
  });
});
