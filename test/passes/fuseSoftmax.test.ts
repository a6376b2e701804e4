/** fuseSoftmax: elementwise kernels before and after a softmax move into its row kernel. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.ts';
import { fuseElementwise } from '../../compiler/passes/fuseElementwise.ts';
import { fuseSoftmax } from '../../compiler/passes/fuseSoftmax.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

const fuse = (g: Graph) => fuseSoftmax(fuseElementwise(g));

describe('fuseSoftmax', () => {
  it('takes an additive mask (and scale) as its prologue', () => {
    const g = graph((b) => {
      const s = b.input('scores', [2, 4, 4]);
      b.output('p', b.softmax(b.add(b.mul(s, 0.5), b.input('mask', [4, 4])), -1));
    });
    const f = fuse(g);
    expect(opsOf(f)).toEqual(['input', 'input', 'fusedSoftmax']);
    expect(f.nodes[2]!.attrs).toMatchObject({ axis: 2, log: false, prologue: 'mul($0, 0.5); add(%0, $1)', epilogue: '' });
    expectSameOutputs(g, f);
  });

  it('takes the cross-entropy gradient as its epilogue', () => {
    const g = graph((b) => {
      const logits = b.param('logits', [5, 3]);
      b.output('loss', b.crossEntropy(logits, b.input('labels', [5], { dtype: 'i32' })));
    });
    const d = runPipeline(g, { gradients: { loss: 'loss', wrt: ['logits'] } });
    const f = fuse(d);
    expect(opsOf(f)).toEqual(['input', 'input', 'crossEntropy', 'fusedSoftmax']);
    expect(f.nodes[3]!.attrs.epilogue).toMatch(/^cast\(\$2\); .*sub\(\$0, %3\)/);
    expectSameOutputs(d, f, [1, 2], { labels: Int32Array.of(0, 2, 1, 1, 0) });
  });

  it('takes dropout on the probabilities (attention dropout)', () => {
    const g = graph((b) => {
      const p = b.logSoftmax(b.input('x', [3, 7]), 0);
      b.output('y', b.dropout(p, b.input('seed', [], { dtype: 'i32' }), { p: 0.3 }));
    });
    const f = fuse(g);
    expect(opsOf(f)).toEqual(['input', 'input', 'fusedSoftmax']);
    expect(f.nodes[2]!.attrs).toMatchObject({ log: true, epilogue: 'dropout($0, $2) {p: 0.3}' });
    expectSameOutputs(g, f, [1], { seed: [5] });
  });

  it('leaves consumers that read the probabilities through a remap, or that others need', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 4]);
      b.output('t', b.exp(b.transpose(b.softmax(x), [1, 0])));
      const s = b.softmax(b.neg(x));
      b.output('s', s);
      b.output('u', b.exp(s));
    });
    const f = fuse(g);
    expect(opsOf(f).filter((op) => op === 'softmax')).toHaveLength(1);
    expect(f.nodes.filter((n) => n.op === 'fusedSoftmax').map((n) => n.attrs.epilogue)).toEqual(['']);
    expectSameOutputs(g, f);
  });
});
