/**
 * The training graphs' gradients (from `differentiate` on the lowered forward + loss) against
 * central finite differences of their own loss, in f64 with the IR interpreter.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, type Feed, type Graph } from '../../compiler/ir/index.ts';
import type { LoweredNetwork } from '../../compiler/lower/index.ts';
import { MLP_DIMS, USE_DIMS, example, feedsFor, labels, network, relErr, uniform } from './helpers.ts';

/** Worst relative error of grad.<param> over the sampled coordinates (all when `every` is 1). */
function fdErrors(net: LoweredNetwork, feeds: Record<string, Feed>, options: { h?: number; sample?: number } = {}): Record<string, number> {
  const g = net.training!;
  const h = options.h ?? 1e-6;
  const lossOnly: Graph = { ...g, outputs: g.outputs.filter((o) => o.name === 'loss') };
  const lossAt = (f: Record<string, Feed>) => evaluate(lossOnly, f).loss![0]!;
  const analytic = evaluate(g, feeds);
  const errors: Record<string, number> = {};
  for (const e of net.theta.entries) {
    const base = Float64Array.from(feeds[e.path]!);
    const grad = analytic[`grad.${e.path}`]!;
    const idx = options.sample && options.sample < base.length ? Array.from({ length: options.sample }, (_, k) => Math.floor((k * base.length) / options.sample!)) : [...base.keys()];
    const numeric: number[] = [];
    const got: number[] = [];
    for (const i of idx) {
      const plus = base.slice();
      plus[i]! += h;
      const minus = base.slice();
      minus[i]! -= h;
      numeric.push((lossAt({ ...feeds, [e.path]: plus }) - lossAt({ ...feeds, [e.path]: minus })) / (2 * h));
      got.push(grad[i]!);
    }
    errors[e.path] = relErr(got, numeric);
  }
  return errors;
}

const small = { linear: { out: 5, in: 7 }, dims: { r: 3, n: 4 } };

describe('training gradients match finite differences', () => {
  it('LoRA: A and B, cross-entropy over the 5 outputs', () => {
    const net = network(example('lora.swag'), { kind: 'adapter', name: 'LoRA', ...small });
    const errors = fdErrors(net, feedsFor(net.training!, 10, { labels: labels(4, 5, 1) }));
    expect(Object.keys(errors)).toEqual(['A', 'B']);
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });

  it('LoRA with dropout: the mask is fixed by the seed, so the gradients still match', () => {
    const net = network(example('lora.swag'), { kind: 'adapter', name: 'LoRA', ...small, scalars: { p: 0.3 } });
    const errors = fdErrors(net, feedsFor(net.training!, 20, { labels: labels(4, 5, 2), seed: [77] }));
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });

  it.each([
    ['rslora.swag', 'RsLoRA', ['A', 'B']],
    ['lora_fa.swag', 'LoraFA', ['B']],
    ['vera.swag', 'VeRA', ['d', 'b']],
  ])('%s: gradients of the trainable tensors only', (file, name, params) => {
    const net = network(example(file), { kind: 'adapter', name, ...small, dims: { ...small.dims, r: 3 } });
    // VeRA's b starts at zero; random values keep every gradient path alive.
    const errors = fdErrors(net, feedsFor(net.training!, 40, { labels: labels(4, 5, 4) }));
    expect(Object.keys(errors)).toEqual(params);
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });

  it('DoRA: A, B and the magnitude m', () => {
    const net = network(example('dora.swag'), { kind: 'adapter', name: 'DoRA', ...small });
    const feeds = feedsFor(net.training!, 30, { labels: labels(4, 5, 3), m: uniform(5, 9, 0.5, 1.5) });
    const errors = fdErrors(net, feeds);
    expect(Object.keys(errors)).toEqual(['A', 'B', 'm']);
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });

  it('DoRA with the mse loss from the request', () => {
    const net = network(example('dora.swag'), { kind: 'adapter', name: 'DoRA', ...small, loss: { kind: 'mse' } });
    expect(net.lossInput).toEqual({ name: 'target', shape: [4, 5], dtype: 'f32' });
    const errors = fdErrors(net, feedsFor(net.training!, 40, { m: uniform(5, 9, 0.5, 1.5) }));
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });

  it('MLP finetune: every LoRA tensor on both layers and the head, with dropout on', () => {
    const net = network(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS, posterior: false });
    const feeds = feedsFor(net.training!, 50, { labels: labels(4, 3, 4), seed: [5] });
    const errors = fdErrors(net, feeds);
    expect(Object.keys(errors)).toEqual(['fc1.A', 'fc1.B', 'fc2.A', 'fc2.B', 'head.weight', 'head.bias']);
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });

  it('USE Lite finetune: adapters through attention, masking, layer norm and pooling (sampled coordinates)', () => {
    const net = network(example('use_lite_classifier.swag'), { kind: 'finetune', name: 'UseLiteSwagFull', dims: USE_DIMS, posterior: false });
    const ids = Int32Array.from({ length: 10 }, (_, i) => (i * 7 + 3) % USE_DIMS.vocab);
    const mask = Float64Array.from({ length: 10 }, (_, i) => (i % 5 < 4 - (i >= 5 ? 1 : 0) ? 1 : 0));
    // Weights in ±0.4 keep attention and tanh out of saturation, where gradients vanish below FD noise.
    const feeds = feedsFor(net.training!, 60, { ids, mask, labels: labels(2, 3, 5), seed: [9] }, 0.4);
    const errors = fdErrors(net, feeds, { sample: 6 });
    expect(Object.keys(errors)).toHaveLength(16); // A and B of seven LoRAs (q, k, v apart), and the head
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(1e-6);
  });
});
