/**
 * The SWAG family from the DSL, fused (compiler issue #4): collect is ONE kernel that updates the
 * statistics in place (mean, sq_mean, one row of the ring D, one entry of the count `filled`),
 * sample is ONE kernel that draws z₁ and z₂ with Philox and does each element's K-term product
 * with D. Against the hand-written kernels (kernels/swag.ts) the results are equal bit for bit,
 * for the same snapshots and seeds — before the ring is full too (n < K: the rule scales by
 * K_eff = sum(filled) = min(n, K), as the kernel does, and has no low-rank part while K_eff < 2).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkSource } from '../../compiler/index.ts';
import { formatLowerDiagnostic, lowerProgram, type LoweredPosterior } from '../../compiler/lower/index.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { programStats } from '../../compiler/emit/program.ts';
import { loadProgram, type Program } from '../../runtime/index.ts';
import type { Device } from '../../runtime/device.ts';
import type { Tensor } from '../../runtime/tensor.ts';
import { createSwagState, swagCollect, swagSample } from '../../kernels/swag.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { deviceOptions } from '../program/run.ts';

const program = (() => {
  const r = checkSource(readFileSync('examples/swag.swag', 'utf8'), 'examples/swag.swag');
  if (r.diagnostics.length) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.program;
})();

function lower(name: string, p: number, dims: Record<string, number> = {}): LoweredPosterior {
  const r = lowerProgram(program, { kind: 'posterior', name, p, dims });
  if (!r.ok) throw new Error(r.errors.map(formatLowerDiagnostic).join('\n'));
  return r.posterior!;
}

function compiled(device: Device, post: LoweredPosterior, fuse = true): { collect: Program; sample: Program } {
  const options = { ...deviceOptions(device), fuse };
  return { collect: compileProgram(runPipeline(post.collect), options), sample: compileProgram(runPipeline(post.sample), options) };
}

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('SWAG from the DSL, fused', () => {
  it('collect is one kernel and sample is one kernel (SWAG, DiagSWAG); SWA samples with none', async () => {
    const device = await testDevice();
    const counts = (name: string, dims: Record<string, number> = {}) => {
      const c = compiled(device, lower(name, 69_636, dims));
      return [programStats(c.collect).steps, programStats(c.sample).steps];
    };
    expect(counts('SWAG', { K: 20 })).toEqual([1, 1]);
    expect(counts('DiagSWAG')).toEqual([1, 1]);
    expect(counts('SWA')).toEqual([1, 0]);
    const swag = compiled(device, lower('SWAG', 131, { K: 5 }));
    expect(swag.sample.steps[0]!.label).toMatch(/^fusedLowRank /);
    // The ring is written in place: the collect writes the state buffers and no output of its own.
    expect(swag.collect.buffers.filter((b) => b.role === 'output')).toEqual([]);
    expect(swag.collect.outputs.map((o) => swag.collect.buffers[o.buffer]!.role)).toEqual(['state', 'state', 'state', 'state']);
  });

  it("the kernels do the element-independent work once: sample's K_eff scale per workgroup, collect's n and ring row per invocation before any store", async () => {
    const device = await testDevice();
    const swag = compiled(device, lower('SWAG', 4_099, { K: 20 }));
    const sample = swag.sample.kernels[0]!.wgsl;
    // Four elements per invocation, and K_eff = sum(filled) (a loop over the K entries) outside value().
    expect(sample).toMatch(/^fn value\(i: u32, low_rank_value: f32\)/m);
    const value = sample.slice(sample.indexOf('fn value('), sample.indexOf('@compute'));
    expect(value).not.toMatch(/for \(/);
    expect(sample).toMatch(/if \(lid == 0u\) \{ hoisted_values\(\); \}/);
    const collect = swag.collect.kernels[0]!.wgsl;
    // No barrier to share the ring row; n is loaded once, before the first store.
    expect(collect).not.toMatch(/workgroupBarrier/);
    const main = collect.slice(collect.indexOf('fn main('));
    const firstStore = main.search(/\bb\d+\[[^\]]*\] = /);
    expect(main.search(/sc_b\d+ = b\d+\[0u\];/)).toBeGreaterThan(0);
    expect(main.search(/sc_b\d+ = b\d+\[0u\];/)).toBeLessThan(firstStore);
    expect(main.search(/let m\d+_row = m\d+_index\(0u\);/)).toBeLessThan(firstStore);
    expect(collect.slice(0, collect.indexOf('fn main(')).match(/\bb\d+\[0u\]/g) ?? []).toEqual([]);
  });

  it('collect updates the statistics in place and touches one row of D per snapshot', async () => {
    const device = await testDevice();
    const P = 37, K = 4;
    const post = lower('SWAG', P, { K });
    const collect = await loadProgram(device, compiled(device, post).collect);
    const stats: Record<string, Tensor> = Object.fromEntries(post.stats.map((s) => [s.name, device.zeros(s.shape)]));
    for (const [name, t] of Object.entries(stats)) collect.bind(name, t);
    const sentinel = Float32Array.from({ length: K * P }, (_, i) => 1000 + i);
    device.write(stats.D!, sentinel);
    const theta = randomArray(P, 5);
    const out = collect.run({ theta, n: [6] }); // slot 6 mod 4 = 2
    expect(out.D).toBe(stats.D);
    const D = await device.read(stats.D!);
    const mean = await device.read(stats.mean!);
    for (let r = 0; r < K; r++) {
      for (let i = 0; i < P; i++) {
        const want = r === 2 ? Math.fround(theta[i]! - mean[i]!) : sentinel[r * P + i]!;
        expect(D[r * P + i], `D[${r}, ${i}]`).toBe(want);
      }
    }
    expect(Array.from(await device.read(stats.filled!))).toEqual([0, 0, 1, 0]);
    collect.destroy();
    for (const t of Object.values(stats)) t.release();
  });

  for (const [P, K, n] of [[97, 4, 9], [131, 5, 3], [3001, 20, 20], [29, 1, 3], [41, 3, 1]] as const) {
    it(`P = ${P}, K = ${K}, n = ${n}: collect and sample equal the hand-written kernels bit for bit`, async () => {
      const device = await testDevice();
      const post = lower('SWAG', P, { K });
      const c = compiled(device, post);
      const collect = await loadProgram(device, c.collect);
      const sample = await loadProgram(device, c.sample);
      const stats: Record<string, Tensor> = Object.fromEntries(post.stats.map((s) => [s.name, device.zeros(s.shape)]));
      for (const [name, t] of Object.entries(stats)) collect.bind(name, t), sample.bind(name, t);
      const kernel = createSwagState(device, P, K);
      for (let s = 0; s < n; s++) {
        const theta = randomArray(P, 100 * P + s);
        collect.run({ theta, n: [s] });
        await swagCollect(device, kernel, device.tensor([P], theta));
      }
      expect(bits(await device.read(stats.mean!))).toEqual(bits(await device.read(kernel.mean)));
      expect(bits(await device.read(stats.sq_mean!))).toEqual(bits(await device.read(kernel.sqMean)));
      expect(bits(await device.read(stats.D!))).toEqual(bits(await device.read(kernel.deviations)));
      expect(Array.from(await device.read(stats.filled!))).toEqual(Array.from({ length: K }, (_, r) => (r < Math.min(n, K) ? 1 : 0)));
      for (const seed of [7, 2 ** 31 - 5]) {
        const dsl = await device.read(sample.run({ seed: [seed] }).theta_sample!);
        const want = await device.read(await swagSample(device, kernel, { seed, scale: 0.5 }));
        expect(bits(dsl), `seed ${seed}`).toEqual(bits(want));
      }
      collect.destroy(), sample.destroy();
      for (const t of [...Object.values(stats), kernel.mean, kernel.sqMean, kernel.deviations]) t.release();
    });
  }

  it('fused and unfused programs agree (collect exactly, sample within float rounding)', async () => {
    const device = await testDevice();
    const P = 53, K = 5;
    const post = lower('SWAG', P, { K });
    const fused = compiled(device, post, true);
    const plain = compiled(device, post, false);
    expect(programStats(plain.collect).steps).toBeGreaterThan(1);
    const state = {
      mean: randomArray(P, 1),
      sq_mean: randomArray(P, 2).map((x) => x * x + 0.5),
      D: randomArray(K * P, 3),
      filled: Float32Array.from([1, 1, 1, 0, 0]),
    };
    const run = async (p: Program, feeds: Record<string, ArrayLike<number>>) => {
      const loaded = await loadProgram(device, p);
      const out = loaded.run(feeds);
      const data: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(out)) data[name] = (await device.read(t)) as Float32Array;
      loaded.destroy();
      return data;
    };
    const feeds = { ...state, theta: randomArray(P, 4), n: [8] };
    const [a, b] = [await run(fused.collect, feeds), await run(plain.collect, feeds)];
    for (const s of post.stats) expect(bits(a[s.name]!), s.name).toEqual(bits(b[s.name]!));
    const [x, y] = [await run(fused.sample, { ...state, seed: [3] }), await run(plain.sample, { ...state, seed: [3] })];
    expect(maxRelError(x.theta_sample!, y.theta_sample!)).toBeLessThan(1e-5);
  });
});
