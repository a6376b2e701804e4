/**
 * batchDraws: one pass over S parameter draws gives, slice by slice, what S separate forwards
 * give with the same draws; shared work stays shared; what it cannot batch it refuses by name.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, numel, verifyGraph, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { BatchDrawsError, batchDraws, drawsInputName, drawsPerPass, varyingNodes } from '../../compiler/passes/batchDraws.ts';
import { randomFeeds, relativeError } from '../ir/randomFeeds.ts';
import { stackedDraws } from '../helpers/draws.ts';
import { rng } from '../helpers/random.ts';

/**
 * A small attention layer with LoRA on q and v, a per-draw layer-norm scale, a shared residual,
 * concat, slice, a masked softmax, mean pooling and a head: every op kind a forward uses, at odd
 * sizes (b 3, t 5, d 6, 2 heads, r 2, 3 classes).
 */
function attentionNet(): Graph {
  const [bs, t, d, h, r, c] = [3, 5, 6, 2, 2, 3];
  const dh = d / h;
  const b = new GraphBuilder();
  const x = b.input('x', [bs, t, d]);
  const mask = b.input('mask', [bs, 1, 1, t]);
  const wq = b.frozen('Wq', [d, d]);
  const wk = b.frozen('Wk', [d, d]);
  const wv = b.frozen('Wv', [d, d]);
  const aq = b.param('q.A', [r, d]);
  const bq = b.param('q.B', [d, r]);
  const av = b.param('v.A', [r, d]);
  const bv = b.param('v.B', [d, r]);
  const gamma = b.param('ln.gamma', [d]);
  const beta = b.frozen('ln.beta', [d]);
  const head = b.param('head.weight', [c, d + 2]);
  const bias = b.param('head.bias', [c]);
  const rows = b.reshape(x, [bs * t, d]);
  const lora = (w: typeof wq, a: typeof aq, bb: typeof bq) => b.add(b.matmul(rows, w, { transB: true }), b.mul(0.5, b.matmul(b.matmul(rows, a, { transB: true }), bb, { transB: true })));
  const heads = (v: typeof x) => b.transpose(b.reshape(v, [bs, t, h, dh]), [0, 2, 1, 3]);
  const q = heads(lora(wq, aq, bq));
  const k = heads(b.matmul(rows, wk, { transB: true }));
  const v = heads(lora(wv, av, bv));
  const scores = b.select(mask, b.matmul(q, k, { transB: true }), -1e9);
  const context = b.matmul(b.softmax(b.mul(scores, 1 / Math.sqrt(dh)), -1), v);
  const merged = b.reshape(b.transpose(context, [0, 2, 1, 3]), [bs, t, d]);
  const normed = b.node('layerNorm', [b.add(merged, x), gamma, beta], { eps: 1e-5 });
  const pooled = b.mean(normed, 1);
  const shared = b.slice(b.sum(x, 1), 1, 0, 2);
  const features = b.concat([b.tanh(pooled), shared], 1);
  b.output('y', b.add(b.matmul(features, head, { transB: true }), bias));
  b.output('peak', b.reduceMax(pooled, [0, 1]));
  return b.build();
}

/** Feeds for `g` and S random draws of its parameters. */
function feedsAndDraws(g: Graph, S: number, seed: number): { feeds: Record<string, Feed>; draws: Record<string, Feed>[] } {
  const shared = randomFeeds(g, seed);
  const mask = g.inputs.find((i) => i.name === 'mask');
  if (mask) {
    const r = rng(seed + 100);
    shared.mask = Float64Array.from({ length: numel(g.nodes[mask.node]!.shape) }, () => (r() < 0.7 ? 1 : 0));
  }
  const params = g.inputs.filter((i) => i.role === 'param');
  const draws = Array.from({ length: S }, (_, s) => {
    const f = randomFeeds(g, seed * 31 + s + 1);
    return Object.fromEntries(params.map((p) => [p.name, f[p.name]!]));
  });
  return { feeds: shared, draws };
}

function expectSameAsSeparateForwards(g: Graph, S: number, seed = 1): void {
  const batched = batchDraws(g, S);
  verifyGraph(batched);
  const { feeds, draws } = feedsAndDraws(g, S, seed);
  const shared = Object.fromEntries(Object.entries(feeds).filter(([k]) => batched.inputs.some((i) => i.name === k)));
  const got = evaluate(batched, { ...shared, ...stackedDraws(g, draws) });
  for (const o of g.outputs) {
    const node = batched.nodes[batched.outputs.find((x) => x.name === o.name)!.node]!;
    expect(node.shape, o.name).toEqual([S, ...g.nodes[o.node]!.shape]);
  }
  draws.forEach((d, s) => {
    const want = evaluate(g, { ...feeds, ...d });
    for (const [name, w] of Object.entries(want)) {
      const slice = got[name]!.slice(s * w.length, (s + 1) * w.length);
      expect(relativeError(slice, w), `${name}, draw ${s}`).toBeLessThan(1e-12);
    }
  });
}

describe('batchDraws', () => {
  it('gives every draw exactly what its own forward gives (attention with LoRA on q and v, odd sizes)', () => {
    expectSameAsSeparateForwards(attentionNet(), 3);
    expectSameAsSeparateForwards(attentionNet(), 1, 2);
  });

  it('turns each parameter into a draws input and keeps the other inputs as they are', () => {
    const g = attentionNet();
    const batched = batchDraws(g, 4);
    const inputs = batched.inputs.map((i) => `${i.name}:${i.role}:[${batched.nodes[i.node]!.shape.join(',')}]`);
    expect(inputs).toContain('draws.q.A:input:[4,2,6]');
    expect(inputs).toContain('draws.head.bias:input:[4,3]');
    expect(inputs).toContain('x:input:[3,5,6]');
    expect(inputs).toContain('Wk:frozen:[6,6]');
    expect(batched.inputs.some((i) => i.role === 'param')).toBe(false);
  });

  it('computes what does not depend on the parameters once: the shared products keep their one-draw shapes', () => {
    const g = attentionNet();
    const batched = batchDraws(g, 4);
    const products = batched.nodes.filter((n) => n.op === 'matmul').map((n) => n.shape.join('x'));
    // x·Wqᵀ, x·Wkᵀ and x·Wvᵀ of the shared rows stay [15, 6]; u = x·Aᵀ is one batched matmul per adapter.
    expect(products.filter((s) => s === '15x6')).toHaveLength(3);
    expect(products).toContain('4x15x2');
    expect(varyingNodes(g).filter(Boolean).length).toBeLessThan(g.nodes.length);
  });

  it('folds the draws into the rows of a product with a shared weight', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [7, 5]);
    const w = b.param('w', [5, 3]);
    const h = b.tanh(b.matmul(x, w));
    b.output('y', b.matmul(h, b.frozen('W2', [4, 3]), { transB: true }));
    const g = b.build();
    const batched = batchDraws(g, 5);
    expect(batched.nodes.filter((n) => n.op === 'matmul').map((n) => n.shape.join('x'))).toEqual(['5x7x3', '35x4']);
    expectSameAsSeparateForwards(g, 5);
  });

  it('broadcasts an output that no parameter reaches', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    b.output('y', b.add(x, b.param('p', [3])));
    b.output('z', b.exp(x));
    expectSameAsSeparateForwards(b.build(), 3);
  });

  it('refuses a trainable embedding table, by name', () => {
    const b = new GraphBuilder();
    const table = b.param('embed', [10, 4]);
    const ids = b.input('ids', [3], { dtype: 'i32' });
    b.output('y', b.gather(table, ids));
    expect(() => batchDraws(b.build(), 2)).toThrow(BatchDrawsError);
    expect(() => batchDraws(b.build(), 2)).toThrow(/gather %\d+ reads a trainable table/);
  });

  it('refuses dropout on a value that depends on the parameters', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    b.output('y', b.dropout(b.mul(x, b.param('p', [3])), seed, { p: 0.5 }));
    expect(() => batchDraws(b.build(), 2)).toThrow(/dropout .* its mask would differ/);
  });

  it('takes as many draws per pass as fit the largest binding', () => {
    const g = attentionNet();
    // The largest varying value of one draw: the scores [3, 2, 5, 5] (150 f32, 600 bytes).
    expect(drawsPerPass(g, 15, Infinity)).toBe(15);
    expect(drawsPerPass(g, 15, 600 * 4)).toBe(4);
    // Ten fit, but two passes of 8 waste one slot where 10 and 5 would waste five.
    expect(drawsPerPass(g, 15, 600 * 10)).toBe(8);
    expect(drawsPerPass(g, 15, 100)).toBe(1);
  });
});
