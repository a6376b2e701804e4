/**
 * The live `compile()` API: compiled for the test device, loaded, and run. LoRA's forward agrees
 * with the interpreter on the lowered graph; the MLP finetune's backward gives finite gradients;
 * its posterior's collect and sample run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { evaluate, numel, type Feed } from '../../compiler/ir/index.ts';
import { compile } from '../../swaglet.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { randomFeeds } from '../ir/randomFeeds.ts';

describe('compile(source, { device })', () => {
  it('runs LoRA forward, matching the interpreter on the lowered graph', async () => {
    const device = await testDevice();
    const units = await compile(readFileSync('examples/lora.swag', 'utf8'), { device, file: 'examples/lora.swag', dims: { out: 6, in: 10, r: 2, n: 5 }, weights: 'zeros' });
    expect(units.map((u) => u.name)).toEqual(['LoRA']);
    const [lora] = units;
    try {
      expect(lora!.methods).toEqual(['forward', 'backward']);
      const graph = lora!.compiled.network!.forward;
      const feeds = randomFeeds(graph, 7);
      const shared = new Set(lora!.tensors.map((t) => t.name));
      expect([...shared].sort()).toEqual(['A', 'B', 'W']);
      for (const name of shared) lora!.set(name, feeds[name] as ArrayLike<number>);
      const data = Object.fromEntries(Object.entries(feeds).filter(([k]) => !shared.has(k))) as Record<string, ArrayLike<number>>;
      const { y } = lora!.forward(data);
      const want = evaluate(graph, feeds).y!;
      expect(maxRelError(await device.read(y!), want)).toBeLessThan(1e-4);
      expect(Object.keys(lora!.parameters())).toEqual(['A', 'B']);
      expect(() => lora!.collect()).toThrow(/LoRA has no collect/);
    } finally {
      for (const u of units) u.destroy();
    }
  });

  it('trains and samples the MLP finetune: finite gradients, collect and sample run', async () => {
    const device = await testDevice();
    const [mlp] = await compile(readFileSync('examples/mlp_classifier.swag', 'utf8'), {
      device,
      file: 'examples/mlp_classifier.swag',
      readFile: readSourceFile,
      dims: { features: 12, hidden: 8, classes: 3, n: 4, K: 3 },
      weights: 'zeros',
    });
    try {
      expect(mlp!.methods).toEqual(['forward', 'backward', 'collect', 'sample']);
      const net = mlp!.compiled.network!;
      net.tensors.forEach((t, i) => mlp!.set(t.path, randomArray(numel(t.shape), 100 + i, 0.5)));
      const x = randomArray(4 * 12, 1);
      const { y } = mlp!.forward({ x });
      expect(Array.from(await device.read(y!)).every(Number.isFinite)).toBe(true);

      const training = mlp!.compiled.graphs.backward!;
      const given: Record<string, Feed> = { labels: Int32Array.from([0, 2, 1, 2]) };
      if (training.inputs.some((i) => i.name === 'seed')) given.seed = Int32Array.from([5]);
      const trainFeeds = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, v as ArrayLike<number>]));
      const out = mlp!.backward({ x, ...trainFeeds });
      const grads = Object.keys(out).filter((k) => k.startsWith('grad.'));
      expect(grads.sort()).toEqual(net.theta.entries.map((e) => `grad.${e.path}`).sort());
      for (const g of grads) expect(Array.from(await device.read(out[g]!)).every(Number.isFinite), g).toBe(true);
      expect(Number.isFinite((await device.read(out.loss!))[0]!)).toBe(true);

      // Posterior: collect two snapshots of theta, then sample.
      const p = net.theta.size;
      const collectFeeds = (g: typeof training, seed: number) => {
        const feeds = randomFeeds(g, seed, { n: Float64Array.from([0]) });
        return Object.fromEntries(Object.entries(feeds).filter(([k]) => mlp!.compiled.methods.collect!.buffers.some((b) => b.name === k && b.role === 'input'))) as Record<string, ArrayLike<number>>;
      };
      const collect = mlp!.compiled.graphs.collect!;
      mlp!.collect(collectFeeds(collect, 1));
      const c2 = collectFeeds(collect, 2);
      if ('n' in c2) c2.n = [1];
      mlp!.collect(c2);
      const sample = mlp!.compiled.graphs.sample!;
      const sampleFeeds = Object.fromEntries(
        Object.entries(randomFeeds(sample, 3, { seed: Int32Array.from([5]) })).filter(([k]) => mlp!.compiled.methods.sample!.buffers.some((b) => b.name === k && b.role === 'input')),
      ) as Record<string, ArrayLike<number>>;
      const drawn = mlp!.sample(sampleFeeds);
      const theta = Object.values(drawn)[0]!;
      expect(theta.shape).toEqual([p]);
      expect(Array.from(await device.read(theta)).every(Number.isFinite)).toBe(true);
    } finally {
      mlp!.destroy();
    }
  });

  it('throws one error with the formatted diagnostics when the source is bad', async () => {
    const device = await testDevice();
    await expect(compile('adapter X(r: dim) on linear(W: [out, in]) {\n  fn forward(x: [n, in]) -> [n, out] { return q }\n}\n', { device, file: 'x.swag' })).rejects.toThrow(/^x\.swag:2:\d+: error: /);
  });
});
