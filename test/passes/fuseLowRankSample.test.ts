/** fuseLowRankSample: tail(c·B) with c [1, K] computed elementwise → one fusedLowRank. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.ts';
import { fuseGraph } from '../../compiler/pipeline.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

/** SWAG's sampler over p parameters with a K-row D, the noise drawn in the graph. */
function sampler(p: number, K: number): Graph {
  return graph((b) => {
    const mean = b.state('mean', [p]);
    const sq = b.state('sq_mean', [p]);
    const D = b.state('D', [K, p]);
    const filled = b.state('filled', [K]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    const z1 = b.randomNormal(seed, [p], { stream: 0 });
    const z2 = b.randomNormal(seed, [K], { stream: 1 });
    const sigma = b.sqrt(b.max(b.sub(sq, b.mul(mean, mean)), 1e-30));
    const scale = b.sqrt(b.div(0.5, b.max(b.sub(b.sum(filled), 1), 1)));
    const low = b.reshape(b.matmul(b.reshape(z2, [1, K]), D), [p]);
    b.output('theta', b.add(b.add(mean, b.mul(b.mul(Math.SQRT1_2, sigma), z1)), b.mul(scale, low)));
  });
}

describe('fuseLowRankSample', () => {
  it('makes the SWAG sampler (z₂, the product with D, the tail, the count of filled rows) one node', () => {
    const g = runPipeline(sampler(11, 4));
    const f = fuseGraph(g);
    expect(opsOf(f).filter((op) => op !== 'input')).toEqual(['fusedLowRank']);
    expect(f.nodes.at(-1)!.attrs.coef).toBe('randomNormal($0) {shape: [4], stream: 1}');
    expectSameOutputs(g, f, [1, 2, 3], { seed: Int32Array.of(9) });
  });

  it('reads the coefficients from their buffer when something else needs them', () => {
    const g = runPipeline(graph((b) => {
      const c = b.input('c', [1, 3]);
      const B = b.input('B', [3, 6]);
      const z = b.exp(c);
      b.output('z', z);
      b.output('y', b.mul(b.matmul(z, B), b.input('w', [1, 6])));
    }));
    const f = fuseGraph(g);
    expect(opsOf(f).filter((op) => op !== 'input')).toEqual(['fusedElementwise', 'fusedLowRank']);
    expect(f.nodes.at(-1)!.attrs.coef).toBe('reshape($0) {shape: [1, 3]}');
    expectSameOutputs(g, f);
  });

  it('leaves a product with a transposed or many-row left operand to the matmul kernels', () => {
    for (const build of [
      (b: GraphBuilder) => b.output('y', b.mul(b.matmul(b.input('a', [2, 3]), b.input('B', [3, 5])), b.input('w', [2, 5]))),
      (b: GraphBuilder) => b.output('y', b.mul(b.matmul(b.input('a', [3, 1]), b.input('B', [3, 5]), { transA: true }), b.input('w', [1, 5]))),
    ]) {
      const f = fuseGraph(runPipeline(graph(build)));
      expect(opsOf(f)).not.toContain('fusedLowRank');
    }
  });
});
