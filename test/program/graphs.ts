/**
 * The models the back end is checked on, built with GraphBuilder at small, odd sizes, with the
 * feeds they need (random f32 data; ids, labels and seeds given).
 */
import { GraphBuilder, numel, type Feed, type Graph, type Value } from '../../compiler/ir/index.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { rng } from '../helpers/random.ts';

export interface Model {
  readonly name: string;
  readonly graph: Graph;
  /** Feeds for i32 inputs (ids, labels, seeds); f32 inputs are random. */
  readonly given: Record<string, Feed>;
  /** Value ranges for particular f32 inputs (default [-1, 1)). */
  readonly ranges?: Record<string, [number, number]>;
}

export interface LoraSizes {
  n: number;
  inF: number;
  outF: number;
  r: number;
  alpha?: number;
  /** Dropout on x before the low-rank path (0: none). */
  p?: number;
  bias?: boolean;
  /** Leading batch axis of x: x is [batch, n, in]. */
  batch?: number;
}

/** y = x·Wᵀ + (α/r)·((dropout(x)·Aᵀ)·Bᵀ) [+ bias]: the LoRA forward. */
export function loraForward(b: GraphBuilder, s: LoraSizes): { x: Value; y: Value } {
  const lead = s.batch ? [s.batch] : [];
  const x = b.input('x', [...lead, s.n, s.inF]);
  const w = b.frozen('W', [s.outF, s.inF]);
  const a = b.param('A', [s.r, s.inF]);
  const bb = b.param('B', [s.outF, s.r]);
  let xd = x;
  if (s.p) xd = b.dropout(x, b.input('seed', [], { dtype: 'i32' }), { p: s.p, stream: 1 });
  b.span = { file: 'lora.swag', line: 6, col: 12 };
  const u = b.matmul(xd, a, { transB: true });
  let y = b.add(b.matmul(x, w, { transB: true }), b.mul(b.matmul(u, bb, { transB: true }), (s.alpha ?? 16) / s.r));
  if (s.bias) y = b.add(y, b.frozen('bias', [s.outF]));
  b.span = undefined;
  return { x, y };
}

export function loraModel(s: LoraSizes): Model {
  const b = new GraphBuilder();
  const { y } = loraForward(b, s);
  b.output('y', y);
  return { name: 'lora forward', graph: runPipeline(b.build()), given: s.p ? { seed: [12345] } : {} };
}

function labels(n: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
}

/** LoRA forward, mean cross-entropy, gradients wrt A and B. */
export function loraTrainingModel(s: LoraSizes): Model {
  const b = new GraphBuilder();
  const { y } = loraForward(b, s);
  const rows = (s.batch ?? 1) * s.n;
  const logits = s.batch ? b.reshape(y, [rows, s.outF]) : y;
  const lab = b.input('labels', [rows], { dtype: 'i32' });
  b.output('loss', b.crossEntropy(logits, lab));
  const g = runPipeline(b.build(), { gradients: { loss: 'loss', wrt: ['A', 'B'] } });
  return { name: 'lora training', graph: g, given: { labels: labels(rows, s.outF, 7), ...(s.p ? { seed: [99] } : {}) } };
}

/** DoRA: V = W + s·(B·A); y = (x·Vᵀ) ⊙ (m / ‖V‖_row), with gradients wrt A, B, m. */
export function doraModel(n = 5, inF = 11, outF = 9, r = 3): Model {
  const b = new GraphBuilder();
  const x = b.input('x', [n, inF]);
  const w = b.frozen('W', [outF, inF]);
  const a = b.param('A', [r, inF]);
  const bb = b.param('B', [outF, r]);
  const m = b.param('m', [outF]);
  const v = b.add(w, b.mul(b.matmul(bb, a), 16 / r));
  const norm = b.sqrt(b.sum(b.square(v), 1));
  const y = b.mul(b.matmul(x, v, { transB: true }), b.div(m, norm));
  const lab = b.input('labels', [n], { dtype: 'i32' });
  b.output('y', y);
  b.output('loss', b.crossEntropy(y, lab));
  const g = runPipeline(b.build(), { gradients: { loss: 'loss', wrt: ['A', 'B', 'm'] } });
  return { name: 'dora', graph: g, given: { labels: labels(n, outF, 3) }, ranges: { m: [0.5, 1.5] } };
}

/** A 3-layer MLP: gelu, relu, tanh, biases; loss and all gradients. */
export function mlpModel(n = 6, d = 13, h = 17, c = 5): Model {
  const b = new GraphBuilder();
  const x = b.input('x', [n, d]);
  const layer = (v: Value, name: string, i: number, o: number) =>
    b.add(b.matmul(v, b.param(`W${name}`, [o, i]), { transB: true }), b.param(`b${name}`, [o]));
  const h1 = b.gelu(layer(x, '1', d, h));
  const h2 = b.relu(layer(h1, '2', h, h));
  const h3 = b.tanh(layer(h2, '3', h, h));
  const logits = layer(h3, '4', h, c);
  const lab = b.input('labels', [n], { dtype: 'i32' });
  b.output('logits', logits);
  b.output('loss', b.crossEntropy(logits, lab));
  const wrt = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'W4', 'b4'];
  return { name: 'mlp', graph: runPipeline(b.build(), { gradients: { loss: 'loss', wrt } }), given: { labels: labels(n, c, 5) } };
}

/**
 * A pre-norm attention block over a batch: layerNorm, q/k/v projections, heads by reshape and
 * transpose, batched q·kᵀ with a causal additive mask, softmax, ·v, heads back, output projection
 * with a residual add; then mean pooling, a classifier, cross-entropy and gradients.
 */
export function attentionModel(batch = 2, t = 5, heads = 2, dh = 3, c = 4): Model {
  const d = heads * dh;
  const b = new GraphBuilder();
  const x = b.input('x', [batch, t, d]);
  const mask = b.input('mask', [t, t]);
  const h = b.layerNorm(x, b.param('ln_g', [d]), b.param('ln_b', [d]));
  const proj = (name: string) => b.matmul(h, b.param(name, [d, d]), { transB: true });
  const split = (v: Value) => b.transpose(b.reshape(v, [batch, t, heads, dh]), [0, 2, 1, 3]);
  const q = split(proj('Wq'));
  const k = split(proj('Wk'));
  const v = split(proj('Wv'));
  const scores = b.add(b.mul(b.matmul(q, k, { transB: true }), 1 / Math.sqrt(dh)), mask);
  const p = b.softmax(scores, -1);
  const o = b.reshape(b.transpose(b.matmul(p, v), [0, 2, 1, 3]), [batch, t, d]);
  const y = b.add(x, b.matmul(o, b.param('Wo', [d, d]), { transB: true }));
  const pooled = b.mean(y, 1);
  const logits = b.matmul(pooled, b.param('Wc', [c, d]), { transB: true });
  const lab = b.input('labels', [batch], { dtype: 'i32' });
  b.output('y', y);
  b.output('loss', b.crossEntropy(logits, lab));
  const wrt = ['ln_g', 'ln_b', 'Wq', 'Wk', 'Wv', 'Wo', 'Wc'];
  const causal = Float64Array.from({ length: t * t }, (_, i) => (i % t > Math.floor(i / t) ? -1e9 : 0));
  return { name: 'attention', graph: runPipeline(b.build(), { gradients: { loss: 'loss', wrt } }), given: { labels: labels(batch, c, 11), mask: causal } };
}

/**
 * Embedding gather, masked mean pooling over tokens, a LoRA'd classifier, cross-entropy; gradients
 * wrt the embedding table (scatterAdd) and the adapter.
 */
export function embeddingModel(batch = 3, t = 4, vocab = 10, d = 6, c = 3): Model {
  const b = new GraphBuilder();
  const ids = b.input('ids', [batch, t], { dtype: 'i32' });
  const keep = b.input('keep', [batch, t]);
  const table = b.param('E', [vocab, d]);
  const emb = b.gather(table, ids);
  const summed = b.sum(b.mul(emb, b.reshape(keep, [batch, t, 1])), 1);
  const pooled = b.div(summed, b.reshape(b.sum(keep, 1), [batch, 1]));
  const logits = b.add(
    b.matmul(pooled, b.frozen('W', [c, d]), { transB: true }),
    b.mul(b.matmul(b.matmul(pooled, b.param('A', [2, d]), { transB: true }), b.param('B', [c, 2]), { transB: true }), 4),
  );
  const lab = b.input('labels', [batch], { dtype: 'i32' });
  b.output('loss', b.crossEntropy(logits, lab));
  const r = rng(21);
  const idData = Int32Array.from({ length: batch * t }, () => Math.floor(r() * vocab));
  const keepData = Float64Array.from({ length: batch * t }, (_, i) => (i % t === 0 || r() < 0.6 ? 1 : 0));
  return {
    name: 'embedding',
    graph: runPipeline(b.build(), { gradients: { loss: 'loss', wrt: ['E', 'A', 'B'] } }),
    given: { ids: idData, keep: keepData, labels: labels(batch, c, 13) },
  };
}

/** A batched matmul with broadcasting batch axes, iota, literals, slices and a concat. */
export function layoutModel(): Model {
  const b = new GraphBuilder();
  const a = b.input('a', [2, 3, 4, 5]);
  const w = b.input('w', [3, 5, 6]);
  const prod = b.matmul(a, w); // [2, 3, 4, 6]
  const pos = b.iota([4, 6], 0);
  const shifted = b.add(prod, b.mul(pos, b.literal([0.5, -1, 2, 0.25, 1, 3], [6])));
  const parts = b.concat([b.slice(shifted, 3, 0, 2), b.zeros([2, 3, 4, 1]), b.slice(shifted, 3, 4, 2)], 3); // [2, 3, 4, 5]
  const t = b.transpose(parts, [1, 0, 3, 2]); // [3, 2, 5, 4]
  b.output('t', t);
  b.output('rowmax', b.reduceMax(parts, [0, 2]));
  b.output('logsm', b.logSoftmax(parts, 1));
  b.output('sm0', b.softmax(parts, 0));
  return { name: 'layout', graph: runPipeline(b.build()), given: {} };
}

export function elementCount(g: Graph, name: string): number {
  const input = g.inputs.find((i) => i.name === name)!;
  return numel(g.nodes[input.node]!.shape);
}

/** Softmaxes with fused neighbours: an additive mask before, dropout and a transpose after, along a middle axis. */
export function softmaxModel(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', [3, 6, 5]);
  const bias = b.input('bias', [6, 1]);
  const seed = b.input('seed', [], { dtype: 'i32' });
  const p = b.softmax(b.mul(b.add(x, bias), 2), 1);
  b.output('dropped', b.dropout(p, seed, { p: 0.2, stream: 4 }));
  b.output('remapped', b.transpose(b.exp(b.logSoftmax(b.sub(x, 1), 2)), [2, 1, 0]));
  b.output('plain', b.softmax(x, 0));
  return { name: 'softmax variants', graph: runPipeline(b.build()), given: { seed: [31] } };
}
