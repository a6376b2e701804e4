/**
 * Reverse-mode autodiff on whole programs: LoRA, DoRA, and an attention block feeding a frozen
 * layer, each checked against central differences; plus what gets a gradient and what does not.
 */
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder, IRAutodiffError, differentiate, evaluate, verifyGraph, type Graph, type Value,
} from '../../compiler/ir/index.ts';
import { eliminateDeadCode } from '../../compiler/passes/deadCode.ts';
import { gradCheck } from './gradcheck.ts';
import { randomFeeds } from './randomFeeds.ts';

const n = 5;
const din = 7;
const dout = 4;
const r = 3;
const labels = Int32Array.of(0, 3, 1, 3, 2);

/** y = x Wᵀ + s·(x Aᵀ) Bᵀ, loss = crossEntropy(y, labels). */
function loraGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [n, din]);
  const w = b.frozen('W', [dout, din]);
  const a = b.param('A', [r, din]);
  const bb = b.param('B', [dout, r]);
  const y = b.input('labels', [n], { dtype: 'i32' });
  const u = b.named(b.matmul(x, a, { transB: true }), 'u');
  const out = b.add(b.matmul(x, w, { transB: true }), b.mul(b.matmul(u, bb, { transB: true }), 16 / r));
  b.output('logits', out);
  b.output('loss', b.crossEntropy(out, y));
  return b.build();
}

describe('differentiate', () => {
  it('LoRA: gradients wrt A and B match finite differences (W frozen)', () => {
    const g = loraGraph();
    const feeds = randomFeeds(g, 1, { labels });
    const { errors } = gradCheck(g, { wrt: ['A', 'B'], feeds });
    expect(errors.A).toBeLessThan(1e-6);
    expect(errors.B).toBeLessThan(1e-6);
  });

  it('DoRA: (x Vᵀ)·(m / rownorm(V)), V = W + s·B A, wrt A, B and m', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [n, din]);
    const w = b.frozen('W', [dout, din]);
    const a = b.param('A', [r, din]);
    const bb = b.param('B', [dout, r]);
    const m = b.param('m', [dout]);
    const y = b.input('labels', [n], { dtype: 'i32' });
    const v = b.add(w, b.mul(b.matmul(bb, a), 2));
    const rownorm = b.sqrt(b.sum(b.square(v), 1));
    const out = b.mul(b.matmul(x, v, { transB: true }), b.div(m, rownorm));
    b.output('loss', b.crossEntropy(out, y));
    const g = b.build();
    const feeds = randomFeeds(g, 2, { labels }, { m: [0.5, 2] });
    const { errors } = gradCheck(g, { wrt: ['A', 'B', 'm'], feeds });
    for (const k of ['A', 'B', 'm']) expect(errors[k], k).toBeLessThan(1e-6);
  });

  it('attention block: gradients reach a LoRA adapter through a frozen layer above it', () => {
    const seq = 4;
    const d = 6;
    const classes = 3;
    const b = new GraphBuilder();
    const x = b.input('x', [seq, d]);
    const mask = b.input('mask', [seq, seq]);
    const lab = b.input('labels', [seq], { dtype: 'i32' });
    const wq = b.frozen('Wq', [d, d]);
    const wk = b.frozen('Wk', [d, d]);
    const wv = b.frozen('Wv', [d, d]);
    const aq = b.param('Aq', [2, d]);
    const bq = b.param('Bq', [d, 2]);
    const gamma = b.frozen('gamma', [d]);
    const beta = b.frozen('beta', [d]);
    const w2 = b.frozen('W2', [d, d]);
    const wo = b.frozen('Wo', [classes, d]);
    const lin = (h: Value, wt: Value) => b.matmul(h, wt, { transB: true });
    // Layer 1 (adapted query projection), attention with an additive mask, residual, layerNorm.
    const q = b.add(lin(x, wq), b.mul(lin(lin(x, aq), bq), 0.5));
    const scores = b.add(b.mul(b.matmul(q, lin(x, wk), { transB: true }), 1 / Math.sqrt(d)), mask);
    const probs = b.dropout(b.softmax(scores), b.constant(99, [], 'i32'), { p: 0.2, stream: 1 });
    const h = b.layerNorm(b.add(x, b.matmul(probs, lin(x, wv))), gamma, beta);
    // Layer 2: frozen MLP and classifier.
    const logits = lin(b.gelu(lin(h, w2)), wo);
    b.output('loss', b.crossEntropy(logits, lab));
    const g = b.build();
    const causal = Array.from({ length: seq * seq }, (_, i) => (i % seq <= Math.floor(i / seq) ? 0 : -1e4));
    const feeds = randomFeeds(g, 3, { labels: Int32Array.of(0, 2, 1, 2), mask: causal }, { gamma: [0.5, 1.5] });
    const { errors } = gradCheck(g, { wrt: ['Aq', 'Bq', 'x'], feeds });
    for (const k of ['Aq', 'Bq', 'x']) expect(errors[k], k).toBeLessThan(1e-6);
    const grads = evaluate(differentiate(g, { loss: 'loss', wrt: ['Aq'] }), feeds);
    expect(Math.max(...Array.from(grads['grad.Aq']!, Math.abs))).toBeGreaterThan(1e-4);
  });

  it('accumulates gradients over fan-out', () => {
    const b = new GraphBuilder();
    const x = b.param('x', [3, 5]);
    b.output('loss', b.sum(b.add(b.mul(x, x), b.mul(b.exp(x), x))));
    const g = b.build();
    expect(gradCheck(g, { wrt: ['x'], feeds: randomFeeds(g, 4) }).worst).toBeLessThan(1e-6);
  });

  it('differentiates wrt a named activation', () => {
    const g = loraGraph();
    const dg = differentiate(g, { loss: 'loss', wrt: ['u', 'B'] });
    verifyGraph(dg);
    const out = evaluate(dg, randomFeeds(g, 5, { labels }));
    expect(out['grad.u']).toHaveLength(n * r);
    expect(dg.outputs.map((o) => o.name)).toEqual(['logits', 'loss', 'grad.u', 'grad.B']);
  });

  it('gives zeros for a wrt the loss does not depend on', () => {
    const b = new GraphBuilder();
    const x = b.param('x', [2]);
    const unused = b.param('unused', [3]);
    b.output('loss', b.sum(b.square(x)));
    b.output('other', b.exp(unused));
    const out = evaluate(differentiate(b.build(), { loss: 'loss', wrt: ['unused'] }), { x: [1, 2], unused: [1, 2, 3] });
    expect(Array.from(out['grad.unused']!)).toEqual([0, 0, 0]);
  });

  it('stops at comparisons and i32 casts', () => {
    const b = new GraphBuilder();
    const x = b.param('x', [4]);
    const ids = b.input('ids', [4], { dtype: 'i32' });
    // x·(x > 0) + cast(ids): gradient is (x > 0), nothing flows through the comparison.
    b.output('loss', b.sum(b.add(b.mul(x, b.gt(x, 0)), b.cast(ids))));
    const out = evaluate(differentiate(b.build(), { loss: 'loss', wrt: ['x'] }), { x: [-1, 2, -3, 4], ids: [1, 2, 3, 4] });
    expect(Array.from(out['grad.x']!)).toEqual([0, 1, 0, 1]);
  });

  it('does no gradient work for frozen weights or data once dead code is removed', () => {
    const g = loraGraph();
    const matmulShapes = (h: Graph) => h.nodes.filter((x) => x.op === 'matmul').map((x) => x.shape.join('x')).sort();
    const onlyB = eliminateDeadCode(differentiate(g, { loss: 'loss', wrt: ['B'] }));
    // forward: x Wᵀ, x Aᵀ, u Bᵀ; backward: dB = gᵀ u only.
    expect(matmulShapes(onlyB)).toEqual(['4x3', '5x3', '5x4', '5x4'].sort());
    const both = eliminateDeadCode(differentiate(g, { loss: 'loss', wrt: ['A', 'B'] }));
    // + du = g B and dA = duᵀ x; never dW [4, 7] nor dx [5, 7].
    expect(matmulShapes(both)).toEqual(['3x7', '4x3', '5x3', '5x3', '5x4', '5x4'].sort());
  });

  it('rejects bad requests', () => {
    const g = loraGraph();
    const bad = (wrt: string[], loss = 'loss', re: RegExp) =>
      expect(() => differentiate(g, { loss, wrt })).toThrow(expect.objectContaining({ name: 'IRAutodiffError', message: expect.stringMatching(re) }));
    bad(['W'], 'loss', /"W" is frozen/);
    bad(['nope'], 'loss', /names no input or named node/);
    bad(['labels'], 'loss', /only f32 values/);
    bad(['A', 'A'], 'loss', /given twice/);
    bad(['A'], 'logits', /must be an f32 scalar/);
    bad(['A'], 'missing', /no output "missing"/);
    const again = differentiate(g, { loss: 'loss', wrt: ['A'] });
    expect(() => differentiate(again, { loss: 'loss', wrt: ['A'] })).toThrow(IRAutodiffError);
  });

  it('keeps forward outputs and labels backward nodes with their forward span', () => {
    const b = new GraphBuilder();
    b.span = { file: 'f.swag', line: 1, col: 1 };
    const x = b.param('x', [2]);
    b.span = { file: 'f.swag', line: 2, col: 5 };
    const e = b.exp(x);
    b.span = { file: 'f.swag', line: 3, col: 9 };
    b.output('loss', b.sum(e));
    const dg = differentiate(b.build(), { loss: 'loss', wrt: ['x'] });
    const grad = dg.nodes[dg.outputs.find((o) => o.name === 'grad.x')!.node]!;
    expect(grad.op).toBe('mul');
    expect(grad.span).toEqual({ file: 'f.swag', line: 2, col: 5 });
  });
});
