/** eliminateDeadCode: keeps what outputs need, and every graph input. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.ts';
import { eliminateDeadCode, liveNodes } from '../../compiler/passes/deadCode.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

describe('eliminateDeadCode', () => {
  it('drops nodes no output needs and renumbers in order', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3]);
    const dead = b.exp(x);
    b.log(dead);
    const y = b.tanh(x);
    b.output('y', b.mul(y, y));
    const g = b.build();
    expect(liveNodes(g)).toEqual([true, false, false, true, true]);
    const s = eliminateDeadCode(g);
    expect(opsOf(s)).toEqual(['input', 'tanh', 'mul']);
    expect(s.nodes[2]!.inputs).toEqual([1, 1]);
    expectSameOutputs(g, s);
  });

  it('keeps unused inputs so the interface does not change', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3]);
    b.param('unused', [7]);
    b.output('y', b.exp(x));
    const g = b.build();
    const s = eliminateDeadCode(g);
    expect(s.inputs.map((i) => i.name)).toEqual(['x', 'unused']);
    expectSameOutputs(g, s);
  });

  it('keeps a node two outputs share, once', () => {
    const b = new GraphBuilder();
    const y = b.sqrt(b.input('x', [2]));
    b.output('a', y);
    b.output('b', y);
    const s = eliminateDeadCode(b.build());
    expect(s.outputs).toEqual([{ name: 'a', node: 1 }, { name: 'b', node: 1 }]);
  });
});
