/**
 * Frozen-prefix caching: `splitFrozenPrefix` cuts a finetune's graphs where the frozen base stops,
 * a `prefix` method computes the cut once per example, and forward, MC-dropout forward and the
 * training step read it. Split and unsplit programs must agree exactly (interpreter) and on the
 * device, and the prefix must never mix batch rows (so caching per example is sound).
 */
import { describe, expect, it } from 'vitest';
import { compileSwag, type CompiledUnit } from '../../compiler/compile.ts';
import { philoxDropoutUniform, philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import { evaluate, numel, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, rng } from '../helpers/random.ts';
import { randomFeeds } from '../ir/randomFeeds.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

const SOURCE = `
adapter LoRA(r: dim, alpha: f32 = 4, p: f32 = 0.0) on linear(W: [out, in]) {
  param A: [r, in] = kaiming_uniform(a: sqrt(5))
  param B: [out, r] = zeros
  fn forward(x: [n, in]) -> [n, out] {
    return x @ W^T + (alpha / r) * ((dropout(x, p) @ A^T) @ B^T)
  }
}

model Net(features: dim = 6, hidden: dim = 5, classes: dim = 3) {
  linear fc1: [hidden, features] + bias
  linear fc2: [hidden, hidden] + bias
  param head.weight: [classes, hidden] = normal(std: 0.02)
  param head.bias: [classes] = zeros

  fn forward(x: [n, features]) -> [n, classes] {
    let h = tanh(fc1(x))
    let h = relu(fc2(h))
    return h @ head.weight^T + head.bias
  }
}

finetune NetLora = Net(classes: 3) {
  adapt "fc2" with LoRA(r: 2, p: 0.25)
}
`;

const DIMS = { n: 7 };
const EVAL = { dropoutUniform: philoxDropoutUniform, normal: philoxNormal };

function compile(split: boolean, target: 'cpu' | 'gpu' = 'cpu'): CompiledUnit {
  const result = compileSwag(SOURCE, 'net.swag', { dims: DIMS, target, dropoutForward: true, splitFrozenPrefix: split });
  expect(result.diagnostics).toEqual([]);
  return result.units[0]!;
}

/** Every feed any method needs: data, labels, seed, params, frozen weights. */
function allFeeds(unit: CompiledUnit): Record<string, Feed> {
  const r = rng(5);
  const feeds: Record<string, Feed> = { labels: Int32Array.from({ length: DIMS.n }, () => Math.floor(r() * 3)), seed: Int32Array.of(12345) };
  for (const g of Object.values(unit.graphs)) Object.assign(feeds, randomFeeds(g, 11, feeds));
  return feeds;
}

const only = (g: Graph, feeds: Record<string, Feed>) => Object.fromEntries(g.inputs.filter((i) => feeds[i.name] !== undefined).map((i) => [i.name, feeds[i.name]!]));

describe('frozen-prefix split', () => {
  it('caches what the frozen layers compute from the data, batch-leading, and nothing trainable', () => {
    const unit = compile(true);
    expect(Object.keys(unit.methods)).toEqual(['prefix', 'forward', 'dropoutForward', 'backward']);
    expect(unit.cached!.length).toBeGreaterThan(0);
    for (const c of unit.cached!) expect(c.shape[0]).toBe(DIMS.n);
    const prefix = unit.graphs.prefix!;
    expect(prefix.inputs.map((i) => i.role).sort()).not.toContain('param');
    expect(prefix.inputs.filter((i) => i.role === 'input').map((i) => i.name)).toEqual(['x']);
    for (const m of ['forward', 'dropoutForward', 'backward'] as const) {
      const names = unit.graphs[m]!.inputs.map((i) => i.name);
      expect(names, m).not.toContain('x');
      expect(names, m).not.toContain('fc1.weight');
      expect(names.filter((n) => n.startsWith('cache.')).length, m).toBeGreaterThan(0);
    }
  });

  it('split and unsplit programs compute the same outputs and gradients (interpreter)', () => {
    const split = compile(true);
    const whole = compile(false);
    const feeds = allFeeds(whole);
    const cache = evaluate(split.graphs.prefix!, only(split.graphs.prefix!, feeds), EVAL);
    for (const m of ['forward', 'dropoutForward', 'backward'] as const) {
      const want = evaluate(whole.graphs[m]!, only(whole.graphs[m]!, feeds), EVAL);
      const g = split.graphs[m]!;
      const got = evaluate(g, { ...only(g, feeds), ...Object.fromEntries(Object.entries(cache).filter(([k]) => g.inputs.some((i) => i.name === k))) }, EVAL);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const k of Object.keys(want)) expect(maxRelError(got[k]!, want[k]!), `${m} → ${k}`).toBeLessThan(1e-12);
    }
  });

  it('never mixes batch rows: permuting the examples permutes the cache', () => {
    const split = compile(true);
    const prefix = split.graphs.prefix!;
    const feeds = allFeeds(split);
    const x = feeds.x as Float64Array | Float32Array;
    const features = numel(prefix.nodes[prefix.inputs.find((i) => i.name === 'x')!.node]!.shape) / DIMS.n;
    const order = [3, 0, 6, 1, 5, 2, 4];
    const permuted = new Float64Array(x.length);
    order.forEach((from, to) => permuted.set(Array.from(x.slice(from * features, (from + 1) * features)), to * features));
    const a = evaluate(prefix, only(prefix, feeds), EVAL);
    const b = evaluate(prefix, { ...only(prefix, feeds), x: permuted }, EVAL);
    for (const [k, v] of Object.entries(a)) {
      const row = v.length / DIMS.n;
      order.forEach((from, to) => expect(Array.from(b[k]!.slice(to * row, (to + 1) * row))).toEqual(Array.from(v.slice(from * row, (from + 1) * row))));
    }
  });

  it('runs on the device: prefix then backward match the unsplit training step', async () => {
    const device = await testDevice();
    const { target } = deviceOptions(device);
    const split = compile(true, target);
    const whole = compile(false, target);
    const feeds = allFeeds(whole);
    const want = evaluate(whole.graphs.backward!, only(whole.graphs.backward!, feeds), EVAL);
    const cache = await runProgram(device, split.methods.prefix!, only(split.graphs.prefix!, feeds));
    const g = split.graphs.backward!;
    const got = await runProgram(device, split.methods.backward!, { ...only(g, feeds), ...Object.fromEntries(Object.entries(cache).filter(([k]) => g.inputs.some((i) => i.name === k))) });
    for (const k of Object.keys(want)) expect(maxRelError(got[k]!, want[k]!), k).toBeLessThan(1e-4);
  });
});
