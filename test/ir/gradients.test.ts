/**
 * A finite-difference check for every differentiable op: loss = Σ op(...)·R with a random R, so
 * every output element's gradient matters; central differences in f64 against `differentiate`.
 * Inputs keep clear of kinks and domain edges (relu/abs/max/min at random points: the chance of
 * landing within h of a kink is negligible and the seeds are fixed).
 */
import { describe, expect, it } from 'vitest';
import { GRADIENTS, GraphBuilder, type Feed, type OpName, type Shape, type Value } from '../../compiler/ir/index.ts';
import { gradCheck } from './gradcheck.ts';
import { randomFeeds } from './randomFeeds.ts';

interface Operand {
  readonly name: string;
  readonly shape: Shape;
  readonly range?: [number, number];
  /** i32 data, or fixed f32 data without a gradient. */
  readonly data?: Feed;
  readonly dtype?: 'f32' | 'i32';
  readonly noGrad?: boolean;
}

interface OpCase {
  readonly op: OpName;
  readonly label: string;
  readonly operands: readonly Operand[];
  readonly apply: (b: GraphBuilder, ...xs: Value[]) => Value;
}

const POS: [number, number] = [0.5, 2];

function unaryCase(op: OpName, shape: Shape = [3, 5], range?: [number, number]): OpCase {
  return { op, label: `${op} ${JSON.stringify(shape)}`, operands: [{ name: 'x', shape, range }], apply: (b, x) => b.node(op, [x!]) };
}

function binaryCase(op: OpName, a: Shape, c: Shape, ranges: [[number, number]?, [number, number]?] = []): OpCase {
  return {
    op,
    label: `${op} ${JSON.stringify(a)} with ${JSON.stringify(c)}`,
    operands: [{ name: 'a', shape: a, range: ranges[0] }, { name: 'b', shape: c, range: ranges[1] }],
    apply: (b, x, y) => b.node(op, [x!, y!]),
  };
}

const CASES: OpCase[] = [
  unaryCase('neg'),
  unaryCase('exp'),
  unaryCase('exp', [1, 7]),
  unaryCase('log', [3, 5], POS),
  unaryCase('sqrt', [3, 5], POS),
  unaryCase('rsqrt', [3, 5], POS),
  unaryCase('tanh'),
  unaryCase('relu'),
  unaryCase('gelu', [3, 5], [-3, 3]),
  unaryCase('sigmoid', [3, 5], [-3, 3]),
  unaryCase('softplus', [3, 5], [-4, 4]),
  unaryCase('sin', [3, 5], [-3, 3]),
  unaryCase('cos', [3, 5], [-3, 3]),
  unaryCase('abs'),
  unaryCase('square'),
  unaryCase('reciprocal', [3, 5], POS),

  binaryCase('add', [3, 5], [3, 5]),
  binaryCase('add', [3, 5], [5]),
  binaryCase('sub', [3, 1], [1, 5]),
  binaryCase('sub', [], [3, 5]),
  binaryCase('mul', [3, 5], [3, 1]),
  binaryCase('mul', [2, 3, 5], [5]),
  binaryCase('div', [3, 5], [1, 5], [undefined, POS]),
  binaryCase('div', [1, 7], [], [undefined, POS]),
  binaryCase('max', [3, 5], [5]),
  binaryCase('min', [3, 5], [3, 1]),
  binaryCase('pow', [3, 5], [3, 5], [POS, [-1.5, 1.5]]),
  binaryCase('pow', [3, 5], [], [POS, [0.5, 2.5]]),
  {
    op: 'select',
    label: 'select [3, 5] between [3, 5] and [5]',
    operands: [
      { name: 'c', shape: [3, 5], data: Array.from({ length: 15 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), noGrad: true },
      { name: 'a', shape: [3, 5] },
      { name: 'b', shape: [5] },
    ],
    apply: (b, c, x, y) => b.select(c!, x!, y!),
  },
  {
    op: 'dropout',
    label: 'dropout p=0.3 [3, 5]',
    operands: [{ name: 'x', shape: [3, 5] }],
    apply: (b, x) => b.dropout(x!, b.constant(1234, [], 'i32'), { p: 0.3, stream: 2 }),
  },

  ...[false, true].flatMap((transA) => [false, true].map((transB): OpCase => ({
    op: 'matmul',
    label: `matmul transA=${transA} transB=${transB}`,
    operands: [{ name: 'a', shape: transA ? [5, 3] : [3, 5] }, { name: 'b', shape: transB ? [4, 5] : [5, 4] }],
    apply: (b, x, y) => b.matmul(x!, y!, { transA, transB }),
  }))),
  {
    op: 'matmul',
    label: 'matmul batched [2, 3, 4] @ [4, 5]',
    operands: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 5] }],
    apply: (b, x, y) => b.matmul(x!, y!),
  },
  {
    op: 'matmul',
    label: 'matmul batch broadcast [2, 1, 3, 4] @ [3, 2, 4]ᵀ',
    operands: [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [3, 2, 4] }],
    apply: (b, x, y) => b.matmul(x!, y!, { transB: true }),
  },

  { op: 'sum', label: 'sum axis 1', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.sum(x!, 1) },
  { op: 'sum', label: 'sum all', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.sum(x!) },
  { op: 'sum', label: 'sum axes [0, 2] keepDims', operands: [{ name: 'x', shape: [2, 3, 4] }], apply: (b, x) => b.sum(x!, [0, -1], { keepDims: true }) },
  { op: 'mean', label: 'mean axis 0', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.mean(x!, 0) },
  { op: 'mean', label: 'mean axis -1 keepDims', operands: [{ name: 'x', shape: [1, 7] }], apply: (b, x) => b.mean(x!, -1, { keepDims: true }) },
  { op: 'reduceMax', label: 'reduceMax axis 1', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.reduceMax(x!, 1) },
  { op: 'reduceMax', label: 'reduceMax all', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.reduceMax(x!) },

  { op: 'reshape', label: 'reshape [3, 5] → [5, 3]', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.reshape(x!, [5, 3]) },
  { op: 'transpose', label: 'transpose [2, 3, 4] perm [2, 0, 1]', operands: [{ name: 'x', shape: [2, 3, 4] }], apply: (b, x) => b.transpose(x!, [2, 0, 1]) },
  { op: 'broadcastTo', label: 'broadcastTo [1, 5] → [3, 5]', operands: [{ name: 'x', shape: [1, 5] }], apply: (b, x) => b.broadcastTo(x!, [3, 5]) },
  { op: 'broadcastTo', label: 'broadcastTo [3, 1] → [2, 3, 5]', operands: [{ name: 'x', shape: [3, 1] }], apply: (b, x) => b.broadcastTo(x!, [2, 3, 5]) },
  {
    op: 'concat',
    label: 'concat axis 1',
    operands: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [3, 1] }, { name: 'c', shape: [3, 4] }],
    apply: (b, x, y, z) => b.concat([x!, y!, z!], 1),
  },
  { op: 'slice', label: 'slice middle', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.slice(x!, 1, 1, 3) },
  { op: 'slice', label: 'slice head', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.slice(x!, 0, 0, 2) },
  { op: 'slice', label: 'slice tail', operands: [{ name: 'x', shape: [3, 5] }], apply: (b, x) => b.slice(x!, -1, 2, 3) },

  {
    op: 'gather',
    label: 'gather [7, 4] at ids [2, 3] (repeats)',
    operands: [{ name: 'table', shape: [7, 4] }, { name: 'ids', shape: [2, 3], dtype: 'i32', data: Int32Array.of(0, 3, 6, 3, 3, 1) }],
    apply: (b, t, ids) => b.gather(t!, ids!),
  },
  {
    op: 'scatterAdd',
    label: 'scatterAdd [2, 3, 4] into 5 rows',
    operands: [{ name: 'u', shape: [2, 3, 4] }, { name: 'ids', shape: [2, 3], dtype: 'i32', data: Int32Array.of(4, 0, 4, 2, 2, 2) }],
    apply: (b, u, ids) => b.scatterAdd(u!, ids!, 5),
  },

  { op: 'softmax', label: 'softmax axis -1', operands: [{ name: 'x', shape: [3, 5], range: [-2, 2] }], apply: (b, x) => b.softmax(x!) },
  { op: 'softmax', label: 'softmax axis 0', operands: [{ name: 'x', shape: [3, 5], range: [-2, 2] }], apply: (b, x) => b.softmax(x!, 0) },
  { op: 'softmax', label: 'softmax [1, 7]', operands: [{ name: 'x', shape: [1, 7], range: [-2, 2] }], apply: (b, x) => b.softmax(x!) },
  { op: 'logSoftmax', label: 'logSoftmax axis -1', operands: [{ name: 'x', shape: [3, 5], range: [-2, 2] }], apply: (b, x) => b.logSoftmax(x!) },
  { op: 'logSoftmax', label: 'logSoftmax axis 1 of rank 3', operands: [{ name: 'x', shape: [2, 3, 4], range: [-2, 2] }], apply: (b, x) => b.logSoftmax(x!, 1) },
  {
    op: 'layerNorm',
    label: 'layerNorm [3, 5]',
    operands: [{ name: 'x', shape: [3, 5], range: [-2, 2] }, { name: 'gamma', shape: [5], range: POS }, { name: 'beta', shape: [5] }],
    apply: (b, x, g, be) => b.layerNorm(x!, g!, be!),
  },
  {
    op: 'layerNorm',
    label: 'layerNorm [2, 3, 4]',
    operands: [{ name: 'x', shape: [2, 3, 4], range: [-2, 2] }, { name: 'gamma', shape: [4], range: POS }, { name: 'beta', shape: [4] }],
    apply: (b, x, g, be) => b.layerNorm(x!, g!, be!, { eps: 1e-3 }),
  },
  {
    op: 'crossEntropy',
    label: 'crossEntropy [4, 5]',
    operands: [{ name: 'logits', shape: [4, 5], range: [-2, 2] }, { name: 'labels', shape: [4], dtype: 'i32', data: Int32Array.of(1, 4, 0, 1) }],
    apply: (b, l, y) => b.crossEntropy(l!, y!),
  },
];

function runCase(c: OpCase, seed: number): Record<string, number> {
  const b = new GraphBuilder();
  const xs = c.operands.map((o) => b.input(o.name, o.shape, { role: o.noGrad ? 'frozen' : 'param', dtype: o.dtype }));
  const y = c.apply(b, ...xs);
  const r = b.input('R', y.shape);
  b.output('loss', b.sum(b.mul(y, r)));
  const g = b.build();
  const given: Record<string, Feed> = {};
  const ranges: Record<string, [number, number]> = {};
  for (const o of c.operands) {
    if (o.data) given[o.name] = o.data;
    if (o.range) ranges[o.name] = o.range;
  }
  const wrt = c.operands.filter((o) => !o.noGrad && o.dtype !== 'i32').map((o) => o.name);
  return gradCheck(g, { wrt, feeds: randomFeeds(g, seed, given, ranges) }).errors;
}

describe('every differentiable op matches central differences', () => {
  CASES.forEach((c, k) => {
    it(c.label, () => {
      const errors = runCase(c, 100 + k);
      for (const [name, err] of Object.entries(errors)) expect(err, `${c.label} wrt ${name}`).toBeLessThan(1e-6);
    });
  });

  it('covers every op that has a gradient rule', () => {
    const differentiable = (Object.keys(GRADIENTS) as OpName[]).filter((op) => GRADIENTS[op] !== null);
    const covered = new Set(CASES.map((c) => c.op));
    expect(differentiable.filter((op) => !covered.has(op))).toEqual([]);
  });
});
