/** foldConstants: folds what is constant, applies only identities safe for NaN/Inf by default. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, outputNode, printGraph, type Graph, type Value } from '../../compiler/ir/index.ts';
import { foldConstants } from '../../compiler/passes/constantFold.ts';
import { eliminateDeadCode } from '../../compiler/passes/deadCode.ts';
import { expectSameOutputs } from './sameOutputs.ts';

/** fold then DCE, as the pipeline runs them. */
const simplify = (g: Graph, assumeFinite = false) => eliminateDeadCode(foldConstants(g, { assumeFinite }));

function oneOutput(f: (b: GraphBuilder, x: Value) => Value, shape = [3, 5]): Graph {
  const b = new GraphBuilder();
  b.output('y', f(b, b.input('x', shape)));
  return b.build();
}

describe('foldConstants', () => {
  it('folds scalar arithmetic into one constant', () => {
    const g = oneOutput((b, x) => b.mul(x, b.add(b.mul(b.constant(2), 3), b.sqrt(b.constant(4)))));
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'constant', 'mul']);
    expect(s.nodes[1]!.attrs.value).toBe(8);
    expectSameOutputs(g, s);
  });

  it('folds small constant subgraphs into literals', () => {
    const g = oneOutput((b, x) => b.add(x, b.sin(b.mul(b.iota([3, 5], 1), 0.5))));
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'literal', 'add']);
    expectSameOutputs(g, s);
  });

  it('leaves large non-uniform constant subgraphs to the GPU', () => {
    const g = oneOutput((b, x) => b.add(x, b.sin(b.iota([64, 64], 0))), [64, 64]);
    expect(simplify(g).nodes.map((n) => n.op)).toEqual(['input', 'iota', 'sin', 'add']);
  });

  it('folds ops over filled tensors of any size', () => {
    const g = oneOutput((b, x) => b.add(x, b.sum(b.add(b.zeros([100, 200]), b.constant(0.5)), 1, { keepDims: true })), [100, 1]);
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'constant', 'add']);
    expect(s.nodes[1]).toMatchObject({ shape: [100, 1], attrs: { value: 100 } });
    expectSameOutputs(g, s);
  });

  it('removes exact identities: x·1, 1·x, x+0, x−0, x/1, x^1, −(−x)', () => {
    const g = oneOutput((b, x) =>
      b.pow(b.div(b.sub(b.add(b.mul(b.mul(b.neg(b.neg(x)), 1), b.constant(1, [3, 5])), 0), b.zeros([5])), 1), 1),
    );
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input']);
    expect(s.outputs[0]!.node).toBe(0);
    expectSameOutputs(g, s);
  });

  it('broadcasts the operand when an identity operand was the larger one', () => {
    const g = oneOutput((b, x) => b.add(x, b.zeros([2, 3, 5])));
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'broadcastTo']);
    expectSameOutputs(g, s);
  });

  it('rewrites powers with constant exponents into cheaper, GPU-safe ops', () => {
    const g = oneOutput((b, x) => b.add(b.add(b.pow(x, 2), b.pow(b.abs(x), 0.5)), b.pow(b.exp(x), -1)));
    const s = simplify(g);
    expect(s.nodes.filter((n) => n.op === 'pow')).toEqual([]);
    expect(s.nodes.map((n) => n.op)).toEqual(expect.arrayContaining(['square', 'sqrt', 'reciprocal']));
    expectSameOutputs(g, s);
  });

  it('rewrites 0 − x and x·(−1) as negation', () => {
    const g = oneOutput((b, x) => b.add(b.sub(0, x), b.mul(x, -1)));
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'neg', 'neg', 'add']);
    expectSameOutputs(g, s);
  });

  it('collapses layout no-ops and chains', () => {
    const g = oneOutput((b, x) => {
      const t = b.transpose(b.transpose(b.reshape(b.reshape(x, [5, 3]), [15]), [0]), [0]);
      const u = b.transpose(b.transpose(b.input('m', [2, 3, 4]), [1, 2, 0]), [2, 0, 1]);
      return b.add(b.sum(b.broadcastTo(b.slice(b.concat([t], 0), 0, 0, 15), [15]), []), b.sum(u));
    });
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'reshape', 'input', 'sum', 'add']);
    expectSameOutputs(g, s);
  });

  it('picks the branch of a select with a constant condition, drops p = 0 dropout', () => {
    const g = oneOutput((b, x) => b.add(b.select(b.constant(1), x, b.exp(x)), b.dropout(x, b.constant(3, [], 'i32'), { p: 0 })));
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op)).toEqual(['input', 'add']);
    expectSameOutputs(g, s);
  });

  it('keeps x·0 and x − x unless told operands are finite (NaN·0 is NaN)', () => {
    const g = oneOutput((b, x) => b.add(b.mul(x, 0), b.sub(x, x)));
    const kept = simplify(g);
    expect(kept.nodes.map((n) => n.op)).toEqual(['input', 'constant', 'mul', 'sub', 'add']);
    const nan = new Float64Array(15).fill(NaN);
    expect(evaluate(kept, { x: nan }).y![0]).toBeNaN();
    const fast = simplify(g, true);
    expect(fast.nodes.map((n) => n.op)).toEqual(['input', 'constant']);
    expect(outputNode(fast, 'y')).toMatchObject({ op: 'constant', shape: [3, 5], attrs: { value: 0 } });
  });

  it('does not fold non-finite results or invalid constant gathers', () => {
    const b = new GraphBuilder();
    b.output('a', b.log(b.constant(0)));
    b.output('b', b.gather(b.literal([1, 2, 3, 4], [2, 2]), b.constant(5, [1], 'i32')));
    const s = simplify(b.build());
    expect(s.nodes.map((n) => n.op)).toEqual(['constant', 'log', 'literal', 'constant', 'gather']);
  });

  it('never folds dropout (its mask generator is pluggable)', () => {
    const g = oneOutput((b) => b.dropout(b.constant(1, [4]), b.constant(1, [], 'i32'), { p: 0.5 }), [1]);
    expect(simplify(g).nodes.map((n) => n.op)).toContain('dropout');
  });

  it('is idempotent', () => {
    const g = oneOutput((b, x) => b.add(b.mul(x, b.add(b.constant(1), 1)), b.literal([1, 1, 1, 1, 1], [5])));
    const once = simplify(g);
    expect(printGraph(simplify(once))).toBe(printGraph(once));
    expectSameOutputs(g, once);
  });
});
