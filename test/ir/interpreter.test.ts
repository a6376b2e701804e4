/** The f64 interpreter on small hand-computed cases. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IREvaluationError, evaluate, hashDropoutUniform, hashNormal, printGraph, type Feed, type Value } from '../../compiler/ir/index.ts';

/** Builds a one-output graph over inputs of the given shapes and runs it. */
function run(
  shapes: Record<string, { shape: number[]; dtype?: 'f32' | 'i32'; data: number[] }>,
  f: (b: GraphBuilder, xs: Record<string, Value>) => Value,
): number[] {
  const b = new GraphBuilder();
  const xs: Record<string, Value> = {};
  for (const [name, s] of Object.entries(shapes)) xs[name] = b.input(name, s.shape, { dtype: s.dtype });
  b.output('y', f(b, xs));
  const feeds = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, s.data]));
  return Array.from(evaluate(b.build(), feeds).y!);
}

const A = { shape: [2, 2], data: [1, 2, 3, 4] };
const B = { shape: [2, 2], data: [5, 6, 7, 8] };

describe('evaluate', () => {
  it('multiplies matrices, with and without transposes', () => {
    expect(run({ a: A, b: B }, (b, { a, b: c }) => b.matmul(a!, c!))).toEqual([19, 22, 43, 50]);
    expect(run({ a: A, b: B }, (b, { a, b: c }) => b.matmul(a!, c!, { transB: true }))).toEqual([17, 23, 39, 53]);
    expect(run({ a: A, b: B }, (b, { a, b: c }) => b.matmul(a!, c!, { transA: true }))).toEqual([26, 30, 38, 44]);
    expect(run({ a: A, b: B }, (b, { a, b: c }) => b.matmul(a!, c!, { transA: true, transB: true }))).toEqual([23, 31, 34, 46]);
  });

  it('multiplies batches with broadcast leading axes', () => {
    const a = { shape: [2, 1, 2], data: [1, 2, 3, 4] }; // two 1×2 rows
    const c = { shape: [2, 1], data: [10, 100] };
    expect(run({ a, c }, (b, { a: x, c: y }) => b.matmul(x!, y!))).toEqual([210, 430]);
  });

  it('broadcasts elementwise operands', () => {
    const col = { shape: [2, 1], data: [1, 2] };
    const row = { shape: [3], data: [10, 20, 30] };
    expect(run({ col, row }, (b, { col: x, row: y }) => b.add(x!, y!))).toEqual([11, 21, 31, 12, 22, 32]);
    expect(run({ col, row }, (b, { col: x, row: y }) => b.sub(y!, x!))).toEqual([9, 19, 29, 8, 18, 28]);
  });

  it('computes unary functions', () => {
    const x = { shape: [3], data: [-1, 0, 1] };
    expect(run({ x }, (b, { x: v }) => b.relu(v!))).toEqual([0, 0, 1]);
    expect(run({ x }, (b, { x: v }) => b.abs(v!))).toEqual([1, 0, 1]);
    expect(run({ x }, (b, { x: v }) => b.sigmoid(v!))[1]).toBe(0.5);
    expect(run({ x }, (b, { x: v }) => b.gelu(v!))[2]).toBeCloseTo(0.8411919906, 9);
    expect(run({ x: { shape: [2], data: [4, 0.25] } }, (b, { x: v }) => b.rsqrt(v!))).toEqual([0.5, 2]);
  });

  it('compares to 0/1 and selects', () => {
    const a = { shape: [3], data: [1, 2, 3] };
    const c = { shape: [3], data: [2, 2, 2] };
    expect(run({ a, c }, (b, { a: x, c: y }) => b.gt(x!, y!))).toEqual([0, 0, 1]);
    expect(run({ a, c }, (b, { a: x, c: y }) => b.le(x!, y!))).toEqual([1, 1, 0]);
    expect(run({ a, c }, (b, { a: x, c: y }) => b.eq(x!, y!))).toEqual([0, 1, 0]);
    expect(run({ a, c }, (b, { a: x, c: y }) => b.select(b.ge(x!, y!), x!, -1))).toEqual([-1, 2, 3]);
  });

  it('reduces over axes', () => {
    const x = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    expect(run({ x }, (b, { x: v }) => b.sum(v!, 1))).toEqual([6, 15]);
    expect(run({ x }, (b, { x: v }) => b.sum(v!, 0))).toEqual([5, 7, 9]);
    expect(run({ x }, (b, { x: v }) => b.mean(v!))).toEqual([3.5]);
    expect(run({ x }, (b, { x: v }) => b.reduceMax(v!, 0, { keepDims: true }))).toEqual([4, 5, 6]);
  });

  it('moves data through layout ops', () => {
    const x = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    expect(run({ x }, (b, { x: v }) => b.transpose(v!))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(run({ x }, (b, { x: v }) => b.slice(v!, 1, 1, 2))).toEqual([2, 3, 5, 6]);
    expect(run({ x }, (b, { x: v }) => b.concat([v!, b.slice(v!, 1, 0, 1)], 1))).toEqual([1, 2, 3, 1, 4, 5, 6, 4]);
    expect(run({ x }, (b, { x: v }) => b.concat([v!, v!], 0))).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
    expect(run({ x: { shape: [2, 1], data: [7, 8] } }, (b, { x: v }) => b.broadcastTo(v!, [2, 2, 3]))).toEqual([7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8]);
    expect(run({ x }, (b, { x: v }) => b.transpose(b.reshape(v!, [3, 2])))).toEqual([1, 3, 5, 2, 4, 6]);
  });

  it('makes constants, literals and iota', () => {
    expect(run({}, (b) => b.iota([2, 3], 1))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(run({}, (b) => b.iota([2, 3], 0))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(run({}, (b) => b.add(b.literal([1, 2], [2]), b.constant(3, [2, 2])))).toEqual([4, 5, 4, 5]);
  });

  it('gathers rows and scatter-adds them back', () => {
    const table = { shape: [3, 2], data: [0, 1, 10, 11, 20, 21] };
    const ids = { shape: [2, 2], dtype: 'i32' as const, data: [2, 0, 2, 1] };
    expect(run({ table, ids }, (b, { table: t, ids: i }) => b.gather(t!, i!))).toEqual([20, 21, 0, 1, 20, 21, 10, 11]);
    const u = { shape: [2, 2, 1], data: [1, 2, 3, 4] };
    expect(run({ u, ids }, (b, { u: v, ids: i }) => b.scatterAdd(v!, i!, 4))).toEqual([2, 4, 4, 0]);
  });

  it('normalises rows: softmax, logSoftmax, layerNorm', () => {
    const x = { shape: [1, 2], data: [0, Math.log(2)] };
    const s = run({ x }, (b, { x: v }) => b.softmax(v!));
    expect(s[0]).toBeCloseTo(1 / 3, 14);
    expect(s[1]).toBeCloseTo(2 / 3, 14);
    const ls = run({ x }, (b, { x: v }) => b.logSoftmax(v!));
    expect(ls[0]).toBeCloseTo(Math.log(1 / 3), 14);
    const x3 = { shape: [3], data: [1, 2, 3] };
    const ones = { shape: [3], data: [2, 2, 2] };
    const zero = { shape: [3], data: [1, 1, 1] };
    const ln = run({ x3, ones, zero }, (b, { x3: v, ones: g, zero: be }) => b.layerNorm(v!, g!, be!, { eps: 1e-12 }));
    const k = 1 / Math.sqrt(2 / 3);
    ln.forEach((v, i) => expect(v).toBeCloseTo(2 * (i - 1) * k + 1, 9));
  });

  it('softmax is stable for large logits', () => {
    const s = run({ x: { shape: [2], data: [1000, 1000] } }, (b, { x: v }) => b.softmax(v!));
    expect(s).toEqual([0.5, 0.5]);
  });

  it('computes mean cross-entropy', () => {
    const logits = { shape: [2, 2], data: [0, 0, 0, Math.log(3)] };
    const labels = { shape: [2], dtype: 'i32' as const, data: [0, 1] };
    const [loss] = run({ logits, labels }, (b, { logits: l, labels: y }) => b.crossEntropy(l!, y!));
    expect(loss).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 14);
  });

  it('casts i32 to f32', () => {
    expect(run({ i: { shape: [2], dtype: 'i32', data: [3, -4] } }, (b, { i }) => b.cast(i!))).toEqual([3, -4]);
  });
});

describe('dropout', () => {
  function dropoutGraph(p: number, stream = 0) {
    const b = new GraphBuilder();
    const x = b.input('x', [64, 64]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    b.output('y', b.dropout(x, seed, { p, stream }));
    return b.build();
  }
  const ones = new Float64Array(64 * 64).fill(1);

  it('keeps about 1 − p of the elements, scaled by 1/(1 − p)', () => {
    const y = evaluate(dropoutGraph(0.25), { x: ones, seed: [7] }).y!;
    const kept = Array.from(y).filter((v) => v !== 0);
    expect(kept.every((v) => v === 1 / 0.75)).toBe(true);
    expect(kept.length / y.length).toBeGreaterThan(0.72);
    expect(kept.length / y.length).toBeLessThan(0.78);
  });

  it('is a deterministic function of seed, stream and index', () => {
    const a = evaluate(dropoutGraph(0.5), { x: ones, seed: [7] }).y!;
    expect(evaluate(dropoutGraph(0.5), { x: ones, seed: [7] }).y).toEqual(a);
    expect(evaluate(dropoutGraph(0.5), { x: ones, seed: [8] }).y).not.toEqual(a);
    expect(evaluate(dropoutGraph(0.5, 1), { x: ones, seed: [7] }).y).not.toEqual(a);
  });

  it('takes a pluggable mask generator', () => {
    const everyOther = (_seed: number, _stream: number, i: number) => (i % 2 === 0 ? 0.9 : 0.1);
    const y = evaluate(dropoutGraph(0.5), { x: ones, seed: [7] }, { dropoutUniform: everyOther }).y!;
    expect(Array.from(y.slice(0, 4))).toEqual([2, 0, 2, 0]);
    expect(hashDropoutUniform(1, 2, 3)).toBeGreaterThanOrEqual(0);
    expect(hashDropoutUniform(1, 2, 3)).toBeLessThan(1);
  });
});

describe('randomNormal', () => {
  function normalGraph(stream = 0) {
    const b = new GraphBuilder();
    const seed = b.input('seed', [], { dtype: 'i32' });
    b.output('z', b.randomNormal(seed, [64, 64], { stream }));
    return b.build();
  }

  it('prints with its stream, the shape in its type', () => {
    expect(printGraph(normalGraph(2))).toContain('f32[64, 64] = randomNormal(%0) {stream: 2}');
  });

  it('draws standard normals: a deterministic function of seed, stream and index', () => {
    const z = Array.from(evaluate(normalGraph(), { seed: [7] }).z!);
    const mean = z.reduce((a, v) => a + v, 0) / z.length;
    const variance = z.reduce((a, v) => a + (v - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.06);
    expect(z[5]).toBe(hashNormal(7, 0, 5));
    expect(Array.from(evaluate(normalGraph(), { seed: [7] }).z!)).toEqual(z);
    expect(Array.from(evaluate(normalGraph(), { seed: [8] }).z!)).not.toEqual(z);
    expect(Array.from(evaluate(normalGraph(1), { seed: [7] }).z!)).not.toEqual(z);
  });

  it('takes a pluggable generator', () => {
    const z = evaluate(normalGraph(3), { seed: [7] }, { normal: (seed, stream, i) => seed * 1000 + stream * 100 + i }).z!;
    expect(Array.from(z.slice(0, 3))).toEqual([7300, 7301, 7302]);
  });
});

describe('feeds', () => {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 2]);
  const ids = b.input('ids', [2], { dtype: 'i32' });
  b.input('unused', [5]);
  b.output('y', b.gather(x, ids));
  const g = b.build();

  it('accepts a Map and any numeric arrays; unused inputs need no feed', () => {
    const y = evaluate(g, new Map<string, Feed>([['x', new Float32Array([1, 2, 3, 4])], ['ids', [1, 1]]])).y!;
    expect(Array.from(y)).toEqual([3, 4, 3, 4]);
  });

  it('reports missing, unknown, mis-sized and non-integer feeds', () => {
    expect(() => evaluate(g, { x: [1, 2, 3, 4] })).toThrow(/no feed for input "ids" i32\[2\]/);
    expect(() => evaluate(g, { x: [1, 2, 3, 4], ids: [0, 1], typo: [1] })).toThrow(/typo/);
    expect(() => evaluate(g, { x: [1, 2, 3], ids: [0, 1] })).toThrow(/has 3 elements; \[2, 2\] needs 4/);
    expect(() => evaluate(g, { x: [1, 2, 3, 4], ids: [0, 0.5] })).toThrow(/non-integers/);
    expect(() => evaluate(g, { x: [1, 2, 3, 4], ids: [0, 2] })).toThrow(IREvaluationError);
  });
});
