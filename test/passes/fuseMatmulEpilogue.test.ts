/** fuseMatmulEpilogue, fuseMatmulOperandScale, fuseMatmulTranspose, fuseBatchedWeightGradient. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.ts';
import { fuseBatchedWeightGradient } from '../../compiler/passes/fuseBatchedWeightGradient.ts';
import { fuseMatmulEpilogue } from '../../compiler/passes/fuseMatmulEpilogue.ts';
import { fuseMatmulOperandScale } from '../../compiler/passes/fuseMatmulOperandScale.ts';
import { fuseMatmulTranspose } from '../../compiler/passes/fuseMatmulTranspose.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

const fusedAttrs = (g: Graph) => g.nodes.find((n) => n.op === 'fusedMatmul')?.attrs;

describe('fuseMatmulEpilogue', () => {
  for (const act of ['relu', 'gelu', 'tanh', 'sigmoid'] as const) {
    it(`folds bias, scale and ${act} into the matmul`, () => {
      const g = graph((b) => {
        const y = b.matmul(b.input('x', [5, 7]), b.input('W', [6, 7]), { transB: true });
        b.output('y', b[act](b.mul(b.add(b.mul(y, 2), b.input('bias', [6])), 0.5)));
      });
      const f = fuseMatmulEpilogue(g);
      expect(opsOf(f)).toEqual(['input', 'input', 'input', 'fusedMatmul']);
      expect(fusedAttrs(f)).toMatchObject({ transB: true, bias: true, alpha: 2, scale: 0.5, activation: act });
      expectSameOutputs(g, f);
    });
  }

  it('takes a row bias [M, 1] and a [1, N] bias', () => {
    const g = graph((b) => {
      const y = b.matmul(b.input('x', [5, 7]), b.input('W', [7, 6]));
      b.output('y', b.add(b.add(y, b.input('r', [5, 1])), b.input('c', [1, 6])));
    });
    const f = fuseMatmulEpilogue(g);
    expect(fusedAttrs(f)).toMatchObject({ bias: true, rowBias: true });
    expectSameOutputs(g, f);
  });

  it('stops where the form ends: a bias after the scale, a second activation, a full tensor add', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 3]);
      const w = b.input('W', [3, 4]);
      const y = b.matmul(x, w);
      b.output('a', b.add(b.mul(b.add(y, b.input('b1', [4])), 3), b.input('b2', [4])));
      b.output('b', b.exp(b.relu(b.matmul(w, x))));
      b.output('c', b.add(b.matmul(x, w, { transB: false }), b.input('full', [4, 4])));
    });
    const f = fuseMatmulEpilogue(g);
    expect(opsOf(f).filter((op) => op === 'fusedMatmul')).toHaveLength(2);
    expect(opsOf(f)).toContain('exp');
    expect(opsOf(f).filter((op) => op === 'add')).toHaveLength(2);
    expectSameOutputs(g, f);
  });

  it('leaves a matmul whose value is also an output alone', () => {
    const g = graph((b) => {
      const y = b.matmul(b.input('x', [2, 3]), b.input('W', [3, 2]));
      b.output('y', y);
      b.output('z', b.relu(y));
    });
    expect(fuseMatmulEpilogue(g)).toBe(g);
  });
});

describe('fuseMatmulOperandScale', () => {
  it('moves scalar multiples of operands into alpha', () => {
    const g = graph((b) => {
      const x = b.mul(b.input('x', [3, 4]), 0.5);
      const w = b.mul(3, b.input('W', [4, 2]));
      b.output('y', b.matmul(x, w));
    });
    const f = fuseMatmulOperandScale(g);
    expect(opsOf(f)).toEqual(['input', 'input', 'fusedMatmul']);
    expect(fusedAttrs(f)!.alpha).toBe(1.5);
    expectSameOutputs(g, f);
  });
});

describe('fuseMatmulTranspose', () => {
  it('turns transposes of the last two axes into transA / transB', () => {
    const g = graph((b) => {
      const q = b.input('q', [2, 5, 3]);
      const k = b.input('k', [2, 5, 3]);
      b.output('s', b.matmul(b.transpose(q, [0, 2, 1]), b.transpose(k, [0, 2, 1]), { transB: true }));
      b.output('t', b.matmul(b.transpose(q, [1, 0, 2]), b.input('w', [5, 3, 4])));
    });
    const f = fuseMatmulTranspose(g);
    const mm = f.nodes.filter((n) => n.op === 'matmul');
    expect(mm[0]!.attrs).toEqual({ transA: true, transB: false });
    expect(mm[0]!.inputs).toEqual([0, 1]);
    expect(f.nodes.filter((n) => n.op === 'transpose')).toHaveLength(1); // a batch permute is not a transA
    expectSameOutputs(g, f);
  });
});

describe('fuseBatchedWeightGradient', () => {
  it('folds Σ_batch gᵦᵀ·xᵦ into one matmul over batch·rows', () => {
    const g = graph((b) => {
      const gr = b.input('g', [2, 3, 5, 4]);
      const x = b.input('x', [2, 3, 5, 6]);
      b.output('dW', b.sum(b.matmul(gr, x, { transA: true }), [0, 1]));
      b.output('keep', b.sum(b.matmul(b.mul(gr, 2), x, { transA: true }), [0, 1], { keepDims: true }));
    });
    const f = fuseBatchedWeightGradient(fuseMatmulOperandScale(g));
    expect(opsOf(f).filter((op) => op === 'sum')).toHaveLength(0);
    expectSameOutputs(g, f);
  });

  it('needs both operands fully batched and the sum over exactly the batch axes', () => {
    const g = graph((b) => {
      const gr = b.input('g', [2, 5, 4]);
      b.output('a', b.sum(b.matmul(gr, b.input('x', [5, 6]), { transA: true }), [0]));
      b.output('b', b.sum(b.matmul(gr, b.input('y', [2, 5, 6]), { transA: true }), [0, 1]));
    });
    expect(fuseBatchedWeightGradient(g)).toBe(g);
  });
});
