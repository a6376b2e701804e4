/**
 * The SWAG family compiled FROM THE DSL (examples/swag.swag: SWAG, DiagSWAG, SWA), run on the
 * device, against the hand-written fused kernels (kernels/swag.ts) and the CPU reference
 * (kernels/cpu/swag.ts).
 *
 * - collect: the lowered `collect` graph writes row (n mod K) of D with the deviation from the
 *   *updated* mean, exactly as swagCollect does, so all three statistics (mean, sq_mean, D) are
 *   comparable element for element — the ring rows are in the same order.
 * - sample: the DSL sampler takes an i32 `seed` and draws its noise on the device: draw k of the
 *   declaration is the IR's `randomNormal(seed) {stream: k}`, Philox with the generator layout of
 *   kernels/philox.ts `randomNormal` (block b = counter (b, 0, stream, 0), four normals per
 *   block). The kernel draws z₁ as Philox stream 0 and z₂ as stream 1 of the sample seed with the
 *   same layout (for z₂ the first ⌈K_eff/4⌉ invocations of each workgroup draw blocks 0…), so the
 *   two samplers agree given the same seed.
 *   Both scale by K_eff = min(n, K): the kernel from its host-side count, the DSL's rule from its
 *   statistic `filled` (a 1 in every row of D written so far, so sum(filled) = K_eff).
 *   test/swag-dsl/fused.test.ts checks the fused programs bit for bit against the kernels.
 * - statistics: many samples from fixed statistics have the SWAG mean and covariance.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkSource } from '../../compiler/index.ts';
import { formatLowerDiagnostic, lowerProgram, type LoweredPosterior } from '../../compiler/lower/index.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { type LoadedProgram, loadProgram } from '../../runtime/index.ts';
import type { Device } from '../../runtime/device.ts';
import { createSwagState, swagCollect, swagSample } from '../../kernels/swag.ts';
import { seedKey } from '../../kernels/philox.ts';
import { randomNormalCpu } from '../../kernels/cpu/philox.ts';
import { createSwagStateCpu, swagCollectCpu, swagSampleCpu } from '../../kernels/cpu/swag.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { deviceOptions } from '../program/run.ts';

const SOURCE = readFileSync('examples/swag.swag', 'utf8');
const program = (() => {
  const r = checkSource(SOURCE, 'examples/swag.swag');
  if (r.diagnostics.length) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.program;
})();

function lowerPosterior(name: string, p: number, dims: Record<string, number> = {}): LoweredPosterior {
  const r = lowerProgram(program, { kind: 'posterior', name, p, dims });
  if (!r.ok) throw new Error(r.errors.map(formatLowerDiagnostic).join('\n'));
  return r.posterior!;
}

interface Compiled {
  post: LoweredPosterior;
  collect: LoadedProgram;
  sample: LoadedProgram;
  destroy(): void;
}

async function compilePosterior(device: Device, name: string, p: number, dims: Record<string, number> = {}): Promise<Compiled> {
  const post = lowerPosterior(name, p, dims);
  const options = deviceOptions(device);
  const collect = await loadProgram(device, compileProgram(runPipeline(post.collect), options));
  const sample = await loadProgram(device, compileProgram(runPipeline(post.sample), options));
  return { post, collect, sample, destroy: () => (collect.destroy(), sample.destroy()) };
}

/** Folds the snapshots into zero statistics with the compiled collect program; stats round-trip via the host. */
async function collectAll(device: Device, c: Compiled, snapshots: Float32Array[]): Promise<Record<string, Float32Array>> {
  let stats: Record<string, Float32Array> = Object.fromEntries(c.post.stats.map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1))]));
  for (let n = 0; n < snapshots.length; n++) {
    const out = c.collect.run({ theta: snapshots[n]!, n: [n], ...stats });
    const next: Record<string, Float32Array> = {};
    for (const s of c.post.stats) next[s.name] = (await device.read(out[s.name]!)) as Float32Array;
    stats = next;
  }
  return stats;
}

/** Fixed statistics (as in test/kernels/swag.test.ts): a few zero variances, where ε applies. */
function fixedStats(P: number, K: number, seed: number) {
  const mean = randomArray(P, seed);
  const sqMean = mean.map((m, i) => (i % 11 === 5 ? m * m : m * m + 0.01 + Math.abs(randomArray(1, seed + i)[0]!)));
  const D = randomArray(K * P, seed + 1, 0.5);
  return { mean, sqMean, D };
}

describe('SWAG from the DSL: collect', () => {
  it('matches the hand-written kernel and the CPU reference (mean, sq_mean, and the ring buffer row for row)', async () => {
    const device = await testDevice();
    for (const P of [7, 131]) {
      const K = 4;
      const c = await compilePosterior(device, 'SWAG', P, { K });
      const gpu = createSwagState(device, P, K);
      const cpu = createSwagStateCpu(P, K);
      // Seven snapshots: the ring wraps (rows 0..2 are overwritten by snapshots 4..6).
      const snapshots = Array.from({ length: 7 }, (_, s) => randomArray(P, 1000 * P + s));
      for (const theta of snapshots) {
        await swagCollect(device, gpu, device.tensor([P], theta));
        swagCollectCpu(cpu, theta);
      }
      const dsl = await collectAll(device, c, snapshots);
      const kernel = { mean: await device.read(gpu.mean), sq_mean: await device.read(gpu.sqMean), D: await device.read(gpu.deviations) };
      const ref = { mean: cpu.mean, sq_mean: cpu.sqMean, D: cpu.deviations };
      for (const name of ['mean', 'sq_mean', 'D'] as const) {
        expect(maxRelError(dsl[name]!, ref[name]), `${name} vs CPU, P = ${P}`).toBeLessThan(1e-4);
        expect(maxRelError(dsl[name]!, kernel[name]), `${name} vs kernel, P = ${P}`).toBeLessThan(1e-4);
      }
      c.destroy();
    }
  });

  it('DiagSWAG keeps mean and sq_mean; SWA keeps the mean', async () => {
    const device = await testDevice();
    const P = 33;
    const snapshots = Array.from({ length: 5 }, (_, s) => randomArray(P, 77 + s, 2));
    const cpu = createSwagStateCpu(P, 2);
    for (const theta of snapshots) swagCollectCpu(cpu, theta);
    const diag = await compilePosterior(device, 'DiagSWAG', P);
    const d = await collectAll(device, diag, snapshots);
    expect(Object.keys(d).sort()).toEqual(['mean', 'sq_mean']);
    expect(maxRelError(d.mean!, cpu.mean)).toBeLessThan(1e-4);
    expect(maxRelError(d.sq_mean!, cpu.sqMean)).toBeLessThan(1e-4);
    diag.destroy();
    const swa = await compilePosterior(device, 'SWA', P);
    const s = await collectAll(device, swa, snapshots);
    expect(Object.keys(s)).toEqual(['mean']);
    expect(maxRelError(s.mean!, cpu.mean)).toBeLessThan(1e-4);
    swa.destroy();
  });
});

describe('SWAG from the DSL: sample', () => {
  it('matches the hand-written kernel given the same seed (z1 = randomNormal stream 0, z2 = stream 1)', async () => {
    const device = await testDevice();
    for (const [P, K, n] of [[97, 4, 9], [131, 5, 5], [3001, 20, 20]] as const) {
      const c = await compilePosterior(device, 'SWAG', P, { K });
      const { mean, sqMean, D } = fixedStats(P, K, P + K);
      const gpu = createSwagState(device, P, K);
      device.write(gpu.mean, mean);
      device.write(gpu.sqMean, sqMean);
      device.write(gpu.deviations, D);
      gpu.n = n;
      const cpu = createSwagStateCpu(P, K);
      cpu.mean.set(mean), cpu.sqMean.set(sqMean), cpu.deviations.set(D), (cpu.n = n);
      // The seed is an i32 operand: its bits are the low key word, the high word is 0.
      for (const seed of [7, 2 ** 31 - 5]) {
        const filled = new Float32Array(K).fill(1); // n ≥ K: every row of D is filled
        const dsl = await device.read(c.sample.run({ mean: gpu.mean, sq_mean: gpu.sqMean, D: gpu.deviations, filled, seed: [seed] }).theta_sample!);
        const kernel = await device.read(await swagSample(device, gpu, { seed, scale: 0.5 }));
        const ref = swagSampleCpu(cpu, { key: seedKey(seed), scale: 0.5 });
        expect(maxRelError(dsl, kernel), `vs kernel, P = ${P}, K = ${K}, seed ${seed}`).toBeLessThan(1e-4);
        expect(maxRelError(dsl, ref), `vs CPU, P = ${P}, K = ${K}, seed ${seed}`).toBeLessThan(1e-4);
      }
      c.destroy();
    }
  });

  it('with fewer than K snapshots, scales by √(scale/(K_eff−1)), K_eff = sum(filled) = n, as the kernel does', async () => {
    const device = await testDevice();
    const P = 40, K = 5, n = 3;
    const c = await compilePosterior(device, 'SWAG', P, { K });
    const { mean, sqMean, D } = fixedStats(P, K, 5);
    D.fill(0, n * P); // rows n.. are still zero, as after n collects
    const seed = 11;
    const z1 = randomNormalCpu(P, { key: seedKey(seed), stream: 0 });
    const z2 = randomNormalCpu(K, { key: seedKey(seed), stream: 1 });
    const filled = Float32Array.from({ length: K }, (_, r) => (r < n ? 1 : 0));
    const dsl = await device.read(c.sample.run({ mean, sq_mean: sqMean, D, filled, seed: [seed] }).theta_sample!);
    const withK = (k: number) =>
      Float64Array.from({ length: P }, (_, i) => {
        const m = Math.fround(mean[i]!);
        const v = Math.max(Math.fround(Math.fround(sqMean[i]!) - Math.fround(m * m)), 1e-30);
        let low = 0;
        for (let j = 0; j < K; j++) low += D[j * P + i]! * z2[j]!;
        return m + Math.sqrt(0.5 * v) * z1[i]! + Math.sqrt(0.5 / (k - 1)) * low;
      });
    expect(maxRelError(dsl, withK(n))).toBeLessThan(1e-4);
    expect(maxRelError(dsl, withK(K))).toBeGreaterThan(1e-2); // the old rule, √(scale/(K−1)), differs here
    c.destroy();
  });

  it('DiagSWAG matches the diagonal kernel (scale 1, the declaration default); SWA returns the mean exactly', async () => {
    const device = await testDevice();
    const P = 131;
    const { mean, sqMean } = fixedStats(P, 1, 3);
    const gpu = createSwagState(device, P, 2);
    device.write(gpu.mean, mean), device.write(gpu.sqMean, sqMean), (gpu.n = 4);
    const diag = await compilePosterior(device, 'DiagSWAG', P);
    expect(diag.post.noise).toEqual([{ name: 'z', shape: [P] }]);
    const seed = 99;
    const dsl = await device.read(diag.sample.run({ mean: gpu.mean, sq_mean: gpu.sqMean, seed: [seed] }).theta_sample!);
    const kernel = await device.read(await swagSample(device, gpu, { seed, scale: 1, diagonalOnly: true }));
    expect(maxRelError(dsl, kernel)).toBeLessThan(1e-4);
    diag.destroy();
    const swa = await compilePosterior(device, 'SWA', P);
    expect(swa.post.noise).toEqual([]);
    const out = await device.read(swa.sample.run({ mean }).theta_sample!);
    expect(Array.from(out)).toEqual(Array.from(mean));
    swa.destroy();
  });
});

describe('SWAG from the DSL: sampling statistics', () => {
  /** S samples of the compiled sampler, one run each, seeds 10000+s (the noise is drawn on the device). */
  async function draw(device: Device, c: Compiled, stats: Record<string, Float32Array>, S: number): Promise<Float64Array> {
    const P = c.post.p;
    for (const [name, data] of Object.entries(stats)) c.sample.write(name, data);
    const out = new Float64Array(S * P);
    for (let s = 0; s < S; s++) {
      out.set(await device.read(c.sample.run({ seed: [10_000 + s] }).theta_sample!), s * P);
    }
    return out;
  }

  /**
   * Worst |empirical − expected| in standard errors: the mean within √(Σᵢᵢ/S), each covariance
   * entry within √((ΣᵢᵢΣⱼⱼ + Σᵢⱼ²)/S) (its standard error for Gaussian samples).
   */
  function zScores(samples: Float64Array, S: number, P: number, mu: ArrayLike<number>, cov: (i: number, j: number) => number) {
    const mean = new Float64Array(P);
    for (let s = 0; s < S; s++) for (let i = 0; i < P; i++) mean[i]! += samples[s * P + i]! / S;
    let worstMean = 0, worstCov = 0;
    for (let i = 0; i < P; i++) worstMean = Math.max(worstMean, Math.abs(mean[i]! - mu[i]!) / Math.sqrt(cov(i, i) / S));
    for (let i = 0; i < P; i++) {
      for (let j = i; j < P; j++) {
        let c = 0;
        for (let s = 0; s < S; s++) c += (samples[s * P + i]! - mean[i]!) * (samples[s * P + j]! - mean[j]!);
        c /= S - 1;
        worstCov = Math.max(worstCov, Math.abs(c - cov(i, j)) / Math.sqrt((cov(i, i) * cov(j, j) + cov(i, j) ** 2) / S));
      }
    }
    return { worstMean, worstCov };
  }

  // S = 4000 runs of P = 12, K = 4 (one dispatch + one readback each). Bound: 5 standard errors
  // per entry, as test/kernels/swag.test.ts; over 12 + 78 checks a false failure has probability
  // below 90 · 5.7e-7 ≈ 5e-5 (and the seeds are fixed).
  const P = 12, K = 4, S = 4000, Z = 5;

  it('SWAG: mean θ̄ and covariance ½·diag(σ²) + DᵀD/(2(K−1)) within 5 standard errors', async () => {
    const device = await testDevice();
    const c = await compilePosterior(device, 'SWAG', P, { K });
    const { mean, sqMean, D } = fixedStats(P, K, 123);
    const samples = await draw(device, c, { mean, sq_mean: sqMean, D, filled: new Float32Array(K).fill(1) }, S);
    c.destroy();
    const sigma2 = Array.from({ length: P }, (_, i) => Math.max(Math.fround(sqMean[i]! - Math.fround(mean[i]! * mean[i]!)), 1e-30));
    const cov = (withLowRank: boolean, scale = 0.5) => (i: number, j: number) => {
      let v = i === j ? scale * sigma2[i]! : 0;
      if (withLowRank) for (let k = 0; k < K; k++) v += (scale * D[k * P + i]! * D[k * P + j]!) / (K - 1);
      return v;
    };
    const truth = zScores(samples, S, P, mean, cov(true));
    expect(truth.worstMean).toBeLessThan(Z);
    expect(truth.worstCov).toBeLessThan(Z);
    // Power: the diagonal-only covariance, and a scale of 0.35 for 0.5, are rejected.
    expect(zScores(samples, S, P, mean, cov(false)).worstCov).toBeGreaterThan(2 * Z);
    expect(zScores(samples, S, P, mean, cov(true, 0.35)).worstCov).toBeGreaterThan(Z);
  });

  it('DiagSWAG: mean θ̄ and covariance diag(σ²) (scale 1) within 5 standard errors', async () => {
    const device = await testDevice();
    const c = await compilePosterior(device, 'DiagSWAG', P);
    const { mean, sqMean } = fixedStats(P, 1, 321);
    const samples = await draw(device, c, { mean, sq_mean: sqMean }, S);
    c.destroy();
    const sigma2 = Array.from({ length: P }, (_, i) => Math.max(Math.fround(sqMean[i]! - Math.fround(mean[i]! * mean[i]!)), 1e-30));
    // Zero-variance coordinates (i % 11 = 5) have σ² = ε: they must equal the mean to f32 precision.
    const live = Array.from({ length: P }, (_, i) => i).filter((i) => sigma2[i]! > 1e-20);
    const sub = (arr: ArrayLike<number>) => Float64Array.from(live, (i) => arr[i]!);
    const picked = new Float64Array(S * live.length);
    for (let s = 0; s < S; s++) live.forEach((i, q) => (picked[s * live.length + q] = samples[s * P + i]!));
    const v = sub(sigma2);
    const r = zScores(picked, S, live.length, sub(mean), (i, j) => (i === j ? v[i]! : 0));
    expect(r.worstMean).toBeLessThan(Z);
    expect(r.worstCov).toBeLessThan(Z);
    for (let i = 0; i < P; i++) if (!live.includes(i)) for (let s = 0; s < S; s++) expect(Math.abs(samples[s * P + i]! - mean[i]!)).toBeLessThan(1e-6);
  });
});
