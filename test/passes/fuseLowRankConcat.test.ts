/** fuseLowRankConcat: x·Wᵀ + s·(u·Bᵀ) → one fusedMatmul over the concatenated inner dimension. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph, type Value } from '../../compiler/ir/index.ts';
import { fuseLowRankConcat } from '../../compiler/passes/fuseLowRankConcat.ts';
import { fuseMatmulEpilogue } from '../../compiler/passes/fuseMatmulEpilogue.ts';
import { fuseMatmulOperandScale } from '../../compiler/passes/fuseMatmulOperandScale.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

type Form = (b: GraphBuilder, x: Value, w: Value, u: Value, bb: Value) => Value;

function lora(form: Form, lead: number[] = []): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [...lead, 7, 33]);
  const w = b.frozen('W', [17, 33]);
  const a = b.param('A', [3, 33]);
  const bb = b.param('B', [17, 3]);
  const u = b.matmul(x, a, { transB: true });
  b.output('y', form(b, x, w, u, bb));
  return b.build();
}

const main = (b: GraphBuilder, x: Value, w: Value) => b.matmul(x, w, { transB: true });
const low = (b: GraphBuilder, u: Value, bb: Value) => b.matmul(u, bb, { transB: true });

const FORMS: Record<string, Form> = {
  'x·Wᵀ + (u·Bᵀ)·s': (b, x, w, u, bb) => b.add(main(b, x, w), b.mul(low(b, u, bb), 0.5)),
  's·(u·Bᵀ) + x·Wᵀ': (b, x, w, u, bb) => b.add(b.mul(0.5, low(b, u, bb)), main(b, x, w)),
  'x·Wᵀ + (u·Bᵀ)/s': (b, x, w, u, bb) => b.add(main(b, x, w), b.div(low(b, u, bb), 2)),
  'x·Wᵀ + u·Bᵀ': (b, x, w, u, bb) => b.add(main(b, x, w), low(b, u, bb)),
};

const concatNodes = (g: Graph) => g.nodes.filter((n) => n.op === 'fusedMatmul' && n.attrs.concat);

describe('fuseLowRankConcat', () => {
  for (const [name, form] of Object.entries(FORMS)) {
    it(`fuses ${name}`, () => {
      const g = lora(form);
      const f = fuseLowRankConcat(g);
      const [mm] = concatNodes(f);
      expect(mm).toBeDefined();
      expect(mm!.attrs.concatScale).toBeCloseTo(name.includes('s') ? 0.5 : 1, 12);
      expect(opsOf(f).filter((op) => op === 'matmul')).toHaveLength(1); // u stays its own small matmul
      expectSameOutputs(g, f);
    });
  }

  it('takes a scale on u once fuseMatmulOperandScale has made it alpha', () => {
    const g = lora((b, x, w, u, bb) => b.add(main(b, x, w), b.matmul(b.mul(u, 0.25), bb, { transB: true })));
    const f = fuseLowRankConcat(fuseMatmulOperandScale(g));
    expect(concatNodes(f)[0]!.attrs.concatScale).toBe(0.25);
    expectSameOutputs(g, f);
  });

  it('works on batched activations and leaves the bias to the epilogue pass', () => {
    const g = (() => {
      const b = new GraphBuilder();
      const x = b.input('x', [2, 7, 33]);
      const w = b.frozen('W', [17, 33]);
      const u = b.matmul(b.dropout(x, b.input('seed', [], { dtype: 'i32' }), { p: 0.2 }), b.param('A', [3, 33]), { transB: true });
      const y = b.add(b.add(main(b, x, w), b.mul(low(b, u, b.param('B', [17, 3])), 4)), b.frozen('bias', [17]));
      b.output('y', y);
      return b.build();
    })();
    const f = fuseMatmulEpilogue(fuseLowRankConcat(g));
    expect(opsOf(f).filter((op) => op.includes('atmul'))).toEqual(['matmul', 'fusedMatmul']);
    expect(concatNodes(f)[0]!.attrs).toMatchObject({ concat: true, bias: true, concatScale: 4 });
    expectSameOutputs(g, f, [1, 2], { seed: [3] });
  });

  it('leaves products whose value is used elsewhere, and non-transposed right factors, alone', () => {
    const shared = (() => {
      const b = new GraphBuilder();
      const x = b.input('x', [4, 6]);
      const m1 = b.matmul(x, b.input('W', [5, 6]), { transB: true });
      const m2 = b.matmul(b.input('u', [4, 2]), b.input('B', [5, 2]), { transB: true });
      b.output('y', b.add(m1, m2));
      b.output('m2', m2);
      return b.build();
    })();
    expect(concatNodes(fuseLowRankConcat(shared))).toHaveLength(0);
    const plainB = (() => {
      const b = new GraphBuilder();
      const m1 = b.matmul(b.input('x', [4, 6]), b.input('W', [6, 5]));
      const m2 = b.matmul(b.input('u', [4, 2]), b.input('B', [2, 5]));
      b.output('y', b.add(m1, m2));
      return b.build();
    })();
    expect(concatNodes(fuseLowRankConcat(plainB))).toHaveLength(0);
  });
});
