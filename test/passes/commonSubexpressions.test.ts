/** eliminateCommonSubexpressions: merges structurally equal nodes and nothing else. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.ts';
import { eliminateCommonSubexpressions } from '../../compiler/passes/commonSubexpressions.ts';
import { eliminateDeadCode } from '../../compiler/passes/deadCode.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

const cse = (g: Graph) => eliminateDeadCode(eliminateCommonSubexpressions(g));

describe('eliminateCommonSubexpressions', () => {
  it('merges repeated subexpressions, transitively', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    const f = () => b.add(b.exp(x), 1);
    b.output('y', b.mul(f(), f()));
    const g = b.build();
    const s = cse(g);
    expect(opsOf(s)).toEqual(['input', 'exp', 'constant', 'add', 'mul']);
    expect(s.nodes[4]!.inputs).toEqual([3, 3]);
    expectSameOutputs(g, s);
  });

  it('merges commutative ops with swapped operands, not others', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    const y = b.input('y', [5]);
    b.output('m', b.sub(b.mul(x, y), b.mul(y, x)));
    b.output('s', b.add(b.sub(x, y), b.sub(y, x)));
    const g = b.build();
    const s = cse(g);
    expect(opsOf(s).filter((op) => op === 'mul')).toHaveLength(1);
    expect(opsOf(s).filter((op) => op === 'sub')).toHaveLength(3);
    expectSameOutputs(g, s);
  });

  it('keeps nodes whose attrs differ, merges those whose attrs agree', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    b.output('a', b.add(b.sum(x, 0), b.sum(x, [-2])));
    b.output('b', b.sum(x, 1));
    b.output('d', b.sub(b.dropout(x, seed, { p: 0.5, stream: 1 }), b.dropout(x, seed, { p: 0.5, stream: 2 })));
    b.output('e', b.sub(b.dropout(x, seed, { p: 0.5, stream: 3 }), b.dropout(x, seed, { p: 0.5, stream: 3 })));
    const g = b.build();
    const s = cse(g);
    expect(opsOf(s).filter((op) => op === 'sum')).toHaveLength(2);
    expect(opsOf(s).filter((op) => op === 'dropout')).toHaveLength(3);
    expectSameOutputs(g, s, [1, 2], { seed: [42] });
  });

  it('never merges distinct inputs, and merges equal constants', () => {
    const b = new GraphBuilder();
    const p = b.input('p', [4]);
    const q = b.input('q', [4]);
    b.output('y', b.add(b.mul(p, 2), b.mul(q, 2)));
    const g = b.build();
    const s = cse(g);
    expect(opsOf(s)).toEqual(['input', 'input', 'constant', 'mul', 'mul', 'add']);
    expectSameOutputs(g, s);
  });

  it('keeps the first node\u2019s name and span', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2]);
    b.span = { file: 'a.swag', line: 1, col: 2 };
    const first = b.named(b.exp(x), 'first');
    b.span = { file: 'a.swag', line: 9, col: 9 };
    const second = b.exp(x);
    b.output('y', b.add(first, second));
    const s = cse(b.build());
    expect(s.nodes[1]).toMatchObject({ op: 'exp', name: 'first', span: { line: 1, col: 2 } });
  });
});
