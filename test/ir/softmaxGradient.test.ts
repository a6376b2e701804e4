/**
 * The softmax gradient in f32. Attention's query gradient is dq = dS @ k with dS the softmax
 * backward of the scores; exactly, every row of dS sums to 0, so the part of k shared by all keys
 * (a key bias) drops out. In f32, dS = y ⊙ (g − Σ g⊙y) rounds Σ g⊙y and leaves rows summing to
 * ε·Σ y|g|, which k's shared part then multiplies — BERT's layer-1 query-LoRA gradient came out
 * 4e-3 (elementwise, relative) from the f64 interpreter on the device, 2e-2 with every
 * intermediate stored in f32. This check stores every node of the differentiated graph in f32
 * (the device's storage) and compares dq with the f64 interpreter.
 */
import { describe, expect, it } from 'vitest';
import { differentiate, evaluateNodes, evaluateOp, GraphBuilder, type Graph, type TensorData } from '../../compiler/ir/index.ts';
import { maxRelError, rng } from '../helpers/random.ts';

/** Every node's value as the interpreter computes it from inputs that were stored in f32. */
function evaluateStoredF32(g: Graph, feeds: Record<string, Float64Array>): (TensorData | undefined)[] {
  const values: (TensorData | undefined)[] = [];
  for (const n of g.nodes) {
    const v = n.op === 'input'
      ? feeds[n.attrs.name as string]!
      : evaluateOp(n, n.inputs.map((i) => ({ shape: g.nodes[i]!.shape, dtype: g.nodes[i]!.dtype, data: values[i]! })));
    values[n.id] = v instanceof Float64Array ? Float64Array.from(Float32Array.from(v)) : v;
  }
  return values;
}

/** q, k, v with a shared part `offset` in every key and value row (biases), fed as f32 values. */
function attentionFeeds(t: number, s: number, dh: number, offset: number, seed: number): Record<string, Float64Array> {
  const r = rng(seed);
  const f32 = (n: number, f: (i: number) => number) => Float64Array.from(Float32Array.from({ length: n }, (_, i) => f(i)));
  const kBias = Array.from({ length: dh }, () => offset * (r() + 0.5));
  const vBias = Array.from({ length: dh }, () => offset * (r() + 0.5));
  return {
    q: f32(t * dh, () => r() - 0.5),
    k: f32(s * dh, (i) => kBias[i % dh]! + r() - 0.5),
    v: f32(s * dh, (i) => vBias[i % dh]! + r() - 0.5),
    w: f32(t * dh, () => r() - 0.5),
  };
}

describe('softmax gradient stored in f32', () => {
  it.each([
    [5, 7, 3],
    [3, 11, 5],
    [1, 13, 4],
  ])('attention dq over %i queries, %i keys, head width %i stays near f64 with shared key/value parts', (t, s, dh) => {
    const b = new GraphBuilder();
    const q = b.input('q', [t, dh], { role: 'param' });
    const k = b.input('k', [s, dh]);
    const v = b.input('v', [s, dh]);
    const w = b.input('w', [t, dh]);
    const context = b.matmul(b.softmax(b.matmul(q, k, { transB: true })), v);
    b.output('loss', b.sum(b.mul(context, w)));
    const g = differentiate(b.build(), { loss: 'loss', wrt: ['q'] });
    const dq = g.outputs.find((o) => o.name === 'grad.q')!.node;
    for (const seed of [1, 2, 3]) {
      const feeds = attentionFeeds(t, s, dh, 8, seed);
      const exact = evaluateNodes(g, feeds)[dq]!;
      const stored = evaluateStoredF32(g, feeds)[dq]!;
      // Measured: 0.9e-3 to 4.1e-3 with y ⊙ (g − Σ g⊙y) alone, under 4e-5 with the projection.
      expect(maxRelError(stored, exact), `seed ${seed}`).toBeLessThan(1e-4);
    }
  });
});
