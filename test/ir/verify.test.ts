/** verifyGraph accepts what the builder makes and names what a broken pass would break. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IRVerifyError, graphProblems, verifyGraph, type Graph, type Node } from '../../compiler/ir/index.ts';

function base(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [3, 5]);
  const w = b.param('w', [5]);
  const y = b.mul(x, w);
  b.output('y', b.sum(y, 1));
  return b.build();
}

function withNode(g: Graph, id: number, patch: Partial<Node>): Graph {
  return { ...g, nodes: g.nodes.map((n) => (n.id === id ? ({ ...n, ...patch } as Node) : n)) };
}

describe('verifyGraph', () => {
  it('accepts built graphs', () => {
    expect(graphProblems(base())).toEqual([]);
    expect(() => verifyGraph(base())).not.toThrow();
  });

  it('catches a stored shape that the shape rule disagrees with', () => {
    expect(graphProblems(withNode(base(), 2, { shape: [5, 3] }))).toEqual([
      '%2: stored type f32[5, 3] but mul gives f32[3, 5]',
      '%3: stored type f32[3] but sum gives f32[5]',
    ]);
  });

  it('catches a wrong dtype', () => {
    expect(graphProblems(withNode(base(), 3, { dtype: 'i32' }))).toEqual(['%3: stored type i32[3] but sum gives f32[3]']);
  });

  it('catches forward references and self references (not SSA order)', () => {
    expect(graphProblems(withNode(base(), 2, { inputs: [0, 3] }))[0]).toBe('%2: operand %3 is not an earlier node');
    expect(graphProblems(withNode(base(), 2, { inputs: [2, 1] }))[0]).toBe('%2: operand %2 is not an earlier node');
  });

  it('catches wrong arity, unknown ops and bad attrs', () => {
    expect(graphProblems(withNode(base(), 2, { inputs: [0] }))).toContain('%2: mul takes 2 operands, has 1');
    expect(graphProblems(withNode(base(), 2, { op: 'fma' as never }))).toContain('%2: unknown op "fma"');
    expect(graphProblems(withNode(base(), 3, { attrs: { axes: [1], keepDims: 'yes' } }))).toContain(
      '%3: attr keepDims = "yes" is not a valid boolean',
    );
    expect(graphProblems(withNode(base(), 3, { attrs: { axes: [-1], keepDims: false } }))).toContain('%3: attrs of sum are not canonical');
    expect(graphProblems(withNode(base(), 2, { attrs: { extra: 1 } }))).toContain('%2: unknown attr "extra" on mul');
  });

  it('catches ids that are not indices', () => {
    expect(graphProblems(withNode(base(), 1, { id: 7 }))).toContain('%1: id is 7, expected its index 1');
  });

  it('catches inconsistent inputs and outputs', () => {
    const g = base();
    expect(graphProblems({ ...g, inputs: g.inputs.slice(0, 1) })).toContain('%1: input node not listed in graph inputs');
    expect(graphProblems({ ...g, inputs: [g.inputs[0]!, { ...g.inputs[1]!, role: 'frozen' }] })[0]).toMatch(/input "w" \(frozen\) disagrees/);
    expect(graphProblems({ ...g, outputs: [...g.outputs, { name: 'y', node: 2 }] })).toContain('output "y" listed twice');
    expect(graphProblems({ ...g, outputs: [{ name: 'z', node: 99 }] })).toContain('output "z" refers to missing node %99');
  });

  it('throws an IRVerifyError listing every problem', () => {
    try {
      verifyGraph(withNode(base(), 2, { shape: [1] }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IRVerifyError);
      expect((e as IRVerifyError).problems.length).toBe(2);
      expect((e as Error).message).toMatch(/^invalid graph:\n {2}%2: stored type f32\[1\]/);
    }
  });
});
