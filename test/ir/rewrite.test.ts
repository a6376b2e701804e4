/** rewriteGraph: the skeleton of every pass. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IRError, printGraph, rewriteGraph } from '../../compiler/ir/index.ts';

function graph() {
  const b = new GraphBuilder();
  const x = b.param('x', [3], { file: 'a.swag', line: 1, col: 1 });
  const e = b.named(b.exp(x), 'e');
  b.output('y', b.log(e));
  b.output('x', x);
  return b.build();
}

describe('rewriteGraph', () => {
  it('copies a graph exactly when the visitor does nothing', () => {
    expect(printGraph(rewriteGraph(graph()))).toBe(printGraph(graph()));
    expect(rewriteGraph(graph())).toEqual(graph());
  });

  it('replaces nodes with values the visitor builds', () => {
    const g = rewriteGraph(graph(), (node, ctx) => (node.op === 'exp' ? ctx.builder.tanh(ctx.inputs[0]!) : undefined));
    expect(g.nodes.map((n) => n.op)).toEqual(['input', 'tanh', 'log']);
  });

  it('drops users of a dropped node and refuses outputs that need it', () => {
    expect(() => rewriteGraph(graph(), (node) => (node.op === 'exp' ? null : undefined))).toThrow(
      new IRError('rewrite: output "y" uses %2, which was dropped'),
    );
  });
});
