/**
 * Models and finetunes: the MLP classifier's logits against a loop reference, adapters attached
 * where the finetune says, and behaviour of the USE Lite encoder that needs no reference
 * (padding is ignored, embeddings are unit length, zero-initialized adapters change nothing).
 */
import { describe, expect, it } from 'vitest';
import { evaluate, type Feed } from '../../compiler/ir/index.ts';
import { MLP_DIMS, USE_DIMS, example, feedsFor, matmul, network, relErr, uniform } from './helpers.ts';

const { features: F, hidden: H, classes: C, n } = MLP_DIMS;
const r = 8;

describe('MLP classifier finetune', () => {
  const net = network(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS, posterior: false });

  it('takes its sizes from the request, its rank and scalars from the adapt clause', () => {
    expect(net.attachments).toEqual([
      { layer: 'fc1', adapter: 'LoRA', dims: { out: H, in: F, r }, scalars: { alpha: 16, p: 0.1 } },
      { layer: 'fc2', adapter: 'LoRA', dims: { out: H, in: H, r }, scalars: { alpha: 16, p: 0.1 } },
    ]);
    expect(net.dims.features).toEqual({ value: F, source: 'the request' });
    expect(net.dims.n).toEqual({ value: n, source: 'the request' });
  });

  it('computes relu(relu(x·fc1ᵀ) ·fc2ᵀ)·headᵀ + bias with LoRA on both hidden layers', () => {
    const feeds = feedsFor(net.forward, 3) as Record<string, Float64Array>;
    const y = evaluate(net.forward, feeds).y!;
    const s = 16 / r;
    const layer = (x: Float64Array, name: string, inF: number): Float64Array => {
      const base = matmul(x, feeds[`${name}.weight`]!, n, inF, H, { transB: true });
      const u = matmul(x, feeds[`${name}.A`]!, n, inF, r, { transB: true });
      const low = matmul(u, feeds[`${name}.B`]!, n, r, H, { transB: true });
      return base.map((v, i) => Math.max(0, v + s * low[i]! + feeds[`${name}.bias`]![i % H]!));
    };
    const h2 = layer(layer(feeds.x!, 'fc1', F), 'fc2', H);
    const logits = matmul(h2, feeds['head.weight']!, n, H, C, { transB: true }).map((v, i) => v + feeds['head.bias']![i % C]!);
    expect(relErr(y, logits)).toBeLessThan(1e-12);
  });

  it('with B = 0 (its initial value) equals the model without adapters', () => {
    const base = network(example('mlp_classifier.swag'), { kind: 'model', name: 'MlpClassifier', dims: MLP_DIMS });
    const feeds = feedsFor(net.forward, 4, { 'fc1.B': new Float64Array(H * r), 'fc2.B': new Float64Array(H * r) });
    const plain = Object.fromEntries(base.forward.inputs.map((i) => [i.name, feeds[i.name]!]));
    expect(relErr(evaluate(net.forward, feeds).y!, evaluate(base.forward, plain).y!)).toBeLessThan(1e-12);
  });
});

describe('USE Lite', () => {
  const ids = Int32Array.from({ length: 10 }, (_, i) => (i * 5 + 1) % USE_DIMS.vocab);
  const mask = Float64Array.from([1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);

  it('ignores the tokens at padded positions', () => {
    const net = network(example('use_lite_classifier.swag'), { kind: 'finetune', name: 'UseLiteSwag', dims: USE_DIMS, posterior: false });
    const feeds = feedsFor(net.forward, 7, { ids, mask }, 0.5);
    const other = Int32Array.from(ids, (v, i) => (mask[i] ? v : (v + 3) % USE_DIMS.vocab));
    const a = evaluate(net.forward, feeds).y!;
    const b = evaluate(net.forward, { ...feeds, ids: other }).y!;
    expect(relErr(b, a)).toBeLessThan(1e-12);
    const changed = Int32Array.from(ids, (v, i) => (i === 0 ? (v + 3) % USE_DIMS.vocab : v));
    expect(relErr(evaluate(net.forward, { ...feeds, ids: changed }).y!, a)).toBeGreaterThan(1e-6);
  });

  it('encodes sentences as unit vectors (fn encode as the entry)', () => {
    const net = network(example('use_lite_classifier.swag'), { kind: 'model', name: 'UseLite', dims: USE_DIMS, fn: 'encode', loss: 'none' });
    expect(net.training).toBeUndefined();
    const e = evaluate(net.forward, feedsFor(net.forward, 8, { ids, mask }, 0.5)).y!;
    expect(e.length).toBe(2 * USE_DIMS.d2);
    for (let row = 0; row < 2; row++) {
      let sq = 0;
      for (let k = 0; k < USE_DIMS.d2; k++) sq += e[row * USE_DIMS.d2 + k]! ** 2;
      expect(sq).toBeCloseTo(1, 12);
    }
  });

  it('adds the sinusoidal timing signal: sin and cos of position × 10000^(−i/(half − 1))', () => {
    const { b: _b, ...dims } = USE_DIMS;
    const net = network(example('use_lite_classifier.swag'), { kind: 'model', name: 'UseLite', dims, fn: 'timing_signal', loss: 'none' });
    const position = uniform(USE_DIMS.t, 9, 0, 4);
    const y = evaluate(net.forward, { position } as Record<string, Feed>).y!;
    const half = USE_DIMS.d1 / 2;
    for (let t = 0; t < USE_DIMS.t; t++) {
      for (let i = 0; i < half; i++) {
        const angle = position[t]! * Math.exp(i * (-Math.log(10000) / (half - 1)));
        expect(y[t * USE_DIMS.d1 + i]).toBeCloseTo(Math.sin(angle), 12);
        expect(y[t * USE_DIMS.d1 + half + i]).toBeCloseTo(Math.cos(angle), 12);
      }
    }
  });
});
