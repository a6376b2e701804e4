/** Shape rules of every op: results, broadcasting, canonical attrs, and typed errors. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IRError, IRShapeError, OPS, attrMatchesKind, type Value } from '../../compiler/ir/index.ts';

function shapeError(f: () => unknown): IRShapeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IRShapeError);
    return e as IRShapeError;
  }
  throw new Error('expected an IRShapeError');
}

describe('elementwise shape rules', () => {
  it('keeps the shape of unary ops', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    for (const op of ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'relu', 'gelu', 'sigmoid', 'sin', 'cos', 'abs', 'square', 'reciprocal'] as const) {
      expect(b.node(op, [x]).shape).toEqual([3, 5]);
    }
  });

  it('broadcasts binary operands numpy-style', () => {
    const b = new GraphBuilder();
    const cases: [number[], number[], number[]][] = [
      [[3, 5], [5], [3, 5]],
      [[3, 1], [1, 5], [3, 5]],
      [[2, 1, 4], [3, 1], [2, 3, 4]],
      [[], [3, 5], [3, 5]],
      [[1, 7], [1, 7], [1, 7]],
    ];
    cases.forEach(([sa, sb, out], i) => {
      const a = b.input(`a${i}`, sa);
      const c = b.input(`b${i}`, sb);
      for (const op of ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow', 'gt', 'ge', 'lt', 'le', 'eq'] as const) {
        const v = b.node(op, [a, c]);
        expect(v.shape, `${op} ${sa} ${sb}`).toEqual(out);
        expect(v.dtype).toBe('f32');
      }
    });
  });

  it('rejects operands that do not broadcast, naming the op and both shapes', () => {
    const b = new GraphBuilder();
    const e = shapeError(() => b.add(b.input('a', [3, 5]), b.input('b', [4, 5])));
    expect(e.op).toBe('add');
    expect(e.shapes).toEqual([[3, 5], [4, 5]]);
    expect(e.message).toBe('add: operands do not broadcast (shapes [3, 5], [4, 5])');
  });

  it('lifts numbers to scalar constants', () => {
    const b = new GraphBuilder();
    const y = b.mul(b.input('x', [2, 3]), 0.5);
    const g = b.build();
    expect(y.shape).toEqual([2, 3]);
    expect(g.nodes[1]).toMatchObject({ op: 'constant', shape: [], attrs: { value: 0.5 } });
  });

  it('requires f32 for arithmetic and i32 for ids', () => {
    const b = new GraphBuilder();
    const ids = b.input('ids', [4], { dtype: 'i32' });
    expect(() => b.exp(ids)).toThrow(/exp: operand 0 must be f32, got i32/);
    expect(b.cast(ids)).toMatchObject({ shape: [4], dtype: 'f32' });
    expect(() => b.cast(b.input('x', [4]))).toThrow(IRShapeError);
    expect(() => b.gather(b.input('t', [5, 3]), b.input('bad', [4]))).toThrow(/ids must be i32/);
  });

  it('select broadcasts condition and branches', () => {
    const b = new GraphBuilder();
    const v = b.select(b.input('c', [3, 1]), b.input('a', [5]), 0);
    expect(v.shape).toEqual([3, 5]);
  });

  it('dropout needs an i32 scalar seed and p in [0, 1)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    expect(b.dropout(x, seed, { p: 0.1 }).shape).toEqual([3, 5]);
    expect(() => b.dropout(x, seed, { p: 1 })).toThrow(/p = 1 outside/);
    expect(() => b.dropout(x, b.input('s2', [2], { dtype: 'i32' }), { p: 0.1 })).toThrow(/seed must be a scalar/);
  });

  it('randomNormal needs an i32 scalar seed and gives f32 of its shape attr', () => {
    const b = new GraphBuilder();
    const seed = b.input('seed', [], { dtype: 'i32' });
    const z = b.randomNormal(seed, [4, 2], { stream: 1 });
    expect([z.shape, z.dtype]).toEqual([[4, 2], 'f32']);
    expect(() => b.randomNormal(b.input('s2', [2], { dtype: 'i32' }), [3])).toThrow(/seed must be a scalar/);
    expect(() => b.randomNormal(b.input('f', []), [3])).toThrow(/seed must be i32/);
    expect(() => b.randomNormal(seed, [0])).toThrow(/invalid shape attr/);
  });
});

describe('matmul shape rule', () => {
  const cases: [string, number[], number[], { transA?: boolean; transB?: boolean }, number[]][] = [
    ['plain', [3, 5], [5, 4], {}, [3, 4]],
    ['transB', [3, 5], [4, 5], { transB: true }, [3, 4]],
    ['transA', [5, 3], [5, 4], { transA: true }, [3, 4]],
    ['both', [5, 3], [4, 5], { transA: true, transB: true }, [3, 4]],
    ['batched', [2, 3, 5], [5, 4], {}, [2, 3, 4]],
    ['batch broadcast', [2, 1, 3, 5], [6, 5, 4], {}, [2, 6, 3, 4]],
  ];
  for (const [label, sa, sb, opts, out] of cases) {
    it(label, () => {
      const b = new GraphBuilder();
      expect(b.matmul(b.input('a', sa), b.input('b', sb), opts).shape).toEqual(out);
    });
  }

  it('names both shapes when inner dimensions differ', () => {
    const b = new GraphBuilder();
    const e = shapeError(() => b.matmul(b.input('x', [128, 64]), b.input('A', [8, 64])));
    expect(e.op).toBe('matmul');
    expect(e.shapes).toEqual([[128, 64], [8, 64]]);
    expect(e.message).toBe('matmul: inner dimensions differ: 64 vs 8 (transA: false, transB: false) (shapes [128, 64], [8, 64])');
  });

  it('rejects rank-1 operands and non-broadcasting batches', () => {
    const b = new GraphBuilder();
    expect(() => b.matmul(b.input('v', [5]), b.input('m', [5, 4]))).toThrow(/rank ≥ 2/);
    expect(() => b.matmul(b.input('p', [2, 3, 5]), b.input('q', [3, 5, 4]))).toThrow(/batch dimensions/);
  });

  it('attaches the current span to shape errors', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 3]);
    b.span = { file: 'lora.swag', line: 6, col: 12 };
    const e = shapeError(() => b.matmul(x, x));
    expect(e.span).toEqual({ file: 'lora.swag', line: 6, col: 12 });
    expect(e.message).toMatch(/at lora\.swag:6:12$/);
  });
});

describe('reductions', () => {
  it('drops or keeps reduced axes and canonicalises axes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    expect(b.sum(x, [2, 0]).shape).toEqual([3]);
    expect(b.mean(x, -1, { keepDims: true }).shape).toEqual([2, 3, 1]);
    expect(b.reduceMax(x).shape).toEqual([]);
    const s = b.sum(x, [-1, 0, 2]);
    expect(b.nodeOf(s).attrs.axes).toEqual([0, 2]);
  });

  it('rejects axes out of range', () => {
    const b = new GraphBuilder();
    expect(() => b.sum(b.input('x', [2, 3]), 2)).toThrow(/sum: axis 2 out of range for rank 2/);
  });
});

describe('layout ops', () => {
  it('reshape infers one -1 extent and checks element counts', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 4]);
    const r = b.reshape(x, [2, -1]);
    expect(r.shape).toEqual([2, 6]);
    expect(b.nodeOf(r).attrs.shape).toEqual([2, 6]);
    const e = shapeError(() => b.reshape(x, [5, 2]));
    expect(e.shapes).toEqual([[3, 4], [5, 2]]);
  });

  it('transpose permutes, reversing by default', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    expect(b.transpose(x).shape).toEqual([4, 3, 2]);
    expect(b.transpose(x, [1, 2, 0]).shape).toEqual([3, 4, 2]);
    expect(() => b.transpose(x, [0, 0, 1])).toThrow(/not a permutation/);
  });

  it('broadcastTo only stretches size-1 and missing axes', () => {
    const b = new GraphBuilder();
    expect(b.broadcastTo(b.input('x', [3, 1]), [2, 3, 5]).shape).toEqual([2, 3, 5]);
    expect(() => b.broadcastTo(b.input('y', [3, 2]), [3, 5])).toThrow(/does not broadcast/);
  });

  it('concat adds extents along the axis and checks the rest', () => {
    const b = new GraphBuilder();
    const v = b.concat([b.input('a', [3, 2]), b.input('c', [3, 5])], -1);
    expect(v.shape).toEqual([3, 7]);
    expect(b.nodeOf(v).attrs.axis).toBe(1);
    expect(() => b.concat([b.input('d', [3, 2]), b.input('e', [4, 2])], 1)).toThrow(/differ off axis 1/);
  });

  it('slice stays inside the axis', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    expect(b.slice(x, 1, 1, 3).shape).toEqual([3, 3]);
    expect(() => b.slice(x, 1, 3, 3)).toThrow(/\[3, 6\) outside extent 5/);
  });
});

describe('indexing, row-wise ops and losses', () => {
  it('gather appends the row width to the ids shape', () => {
    const b = new GraphBuilder();
    const v = b.gather(b.input('E', [100, 16]), b.input('ids', [4, 7], { dtype: 'i32' }));
    expect(v.shape).toEqual([4, 7, 16]);
  });

  it('scatterAdd produces a [rows, d] table', () => {
    const b = new GraphBuilder();
    const v = b.scatterAdd(b.input('u', [4, 7, 16]), b.input('ids', [4, 7], { dtype: 'i32' }), 100);
    expect(v.shape).toEqual([100, 16]);
  });

  it('softmax and logSoftmax keep the shape and canonicalise the axis', () => {
    const b = new GraphBuilder();
    const s = b.softmax(b.input('x', [3, 5]));
    expect(s.shape).toEqual([3, 5]);
    expect(b.nodeOf(s).attrs.axis).toBe(1);
  });

  it('layerNorm checks gamma and beta against the last axis', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    expect(b.layerNorm(x, b.input('g', [5]), b.input('b', [5])).shape).toEqual([3, 5]);
    const e = shapeError(() => b.layerNorm(x, b.input('g2', [3]), b.input('b2', [5])));
    expect(e.shapes).toEqual([[3, 5], [3], [5]]);
  });

  it('crossEntropy maps [n, c] logits and [n] labels to a scalar', () => {
    const b = new GraphBuilder();
    const labels = b.input('y', [4], { dtype: 'i32' });
    expect(b.crossEntropy(b.input('z', [4, 10]), labels).shape).toEqual([]);
    expect(() => b.crossEntropy(b.input('z2', [5, 10]), labels)).toThrow(/logits \[n, c\] and labels \[n\]/);
  });
});

describe('sources and builder misuse', () => {
  it('constants, literals and iota take their shape from attrs', () => {
    const b = new GraphBuilder();
    expect(b.constant(2, [3, 4]).shape).toEqual([3, 4]);
    expect(b.literal([1, 2, 3, 4, 5, 6], [2, 3]).shape).toEqual([2, 3]);
    expect(b.iota([4, 6], 0, 'i32')).toMatchObject({ shape: [4, 6], dtype: 'i32' });
    expect(() => b.literal([1, 2], [3])).toThrow(/2 values/);
    expect(() => b.constant(0.5, [], 'i32')).toThrow(/not an integer/);
  });

  it('rejects zero or fractional extents, non-finite constants, unknown attrs and bad arity', () => {
    const b = new GraphBuilder();
    expect(() => b.input('x', [0, 3])).toThrow(IRShapeError);
    expect(() => b.constant(Infinity)).toThrow(/not a valid number/);
    const x = b.input('y', [3]);
    expect(() => b.node('exp', [x], { axis: 1 })).toThrow(/unknown attr "axis"/);
    expect(() => b.node('add', [x])).toThrow(IRError);
    expect(() => b.node('add', [x, { id: 99, shape: [3], dtype: 'f32' } as Value])).toThrow(/not a node/);
  });

  it('rejects duplicate input and output names', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3]);
    expect(() => b.param('x', [3])).toThrow(/duplicate input "x"/);
    b.output('y', x);
    expect(() => b.output('y', x)).toThrow(/duplicate output "y"/);
  });

  it('every default in the op table is a valid value of its attr kind', () => {
    for (const [op, spec] of Object.entries(OPS)) {
      for (const [key, attr] of Object.entries(spec.attrs)) {
        if (attr.default !== undefined) expect(attrMatchesKind(attr.kind, attr.default), `${op}.${key}`).toBe(true);
      }
    }
  });
});
