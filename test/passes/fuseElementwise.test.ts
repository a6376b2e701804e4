/** fuseElementwise: chains become one fusedElementwise node each, with the same outputs. */
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder, differentiate, evaluate, parseBody, printBody, printGraph, verifyGraph, type Graph, type Value,
} from '../../compiler/ir/index.ts';
import { elementwiseGroups, fuseElementwise } from '../../compiler/passes/fuseElementwise.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

const bodyOf = (g: Graph, k = 0) => g.nodes.filter((n) => n.op === 'fusedElementwise')[k]!.attrs.body as string;

describe('fusedElementwise bodies', () => {
  it('print and parse back to the same text', () => {
    const text = 'mul($0, $1); add(%0, 0.5); dropout(%1, $2) {p: 0.1, stream: 3}; iota {shape: [7, 5], axis: 1}; select(%3, %2, -0)';
    expect(printBody(parseBody(text))).toBe(text);
  });

  it('are checked by the ops\' shape rules', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 4]);
    const y = b.input('y', [5]);
    expect(() => b.node('fusedElementwise', [x, y], { body: 'add($0, $1)' })).toThrow(/do not broadcast/);
    expect(() => b.node('fusedElementwise', [x], { body: 'matmul($0, $0)' })).toThrow(/cannot be part/);
    expect(() => b.node('fusedElementwise', [x], { body: 'exp($1)' })).toThrow(/\$1/);
  });
});

describe('fuseElementwise', () => {
  it('fuses a broadcasting chain with scalar constants into one node', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 6]);
      const bias = b.input('bias', [6]);
      const scale = b.input('s', [4, 1]);
      b.output('y', b.tanh(b.add(b.mul(b.exp(b.sub(x, 0.5)), scale), b.mul(bias, 2))));
    });
    const f = fuseElementwise(g);
    expect(opsOf(f)).toEqual(['input', 'input', 'input', 'fusedElementwise']);
    expect(bodyOf(f)).toBe('sub($0, 0.5); exp(%0); mul(%1, $1); mul($2, 2); add(%2, %3); tanh(%4)');
    expectSameOutputs(g, f);
  });

  it('keeps a value two kernels need in its own buffer', () => {
    const g = graph((b) => {
      const x = b.input('x', [5]);
      const w = b.input('w', [5, 3]);
      const e = b.exp(x); // read by the matmul and by the elementwise output
      b.output('p', b.matmul(b.reshape(e, [1, 5]), w));
      b.output('q', b.mul(e, 3));
    });
    const f = fuseElementwise(g);
    expect(opsOf(f).filter((op) => op === 'fusedElementwise')).toHaveLength(2);
    expect(f.nodes.some((n) => n.op === 'exp')).toBe(false);
    expectSameOutputs(g, f);
  });

  it('recomputes index remaps of a leaf in every group that reads them', () => {
    const g = graph((b) => {
      const x = b.input('x', [3, 4]);
      const t = b.transpose(x, [1, 0]);
      b.output('a', b.exp(t));
      b.output('b', b.sin(b.add(t, 1)));
    });
    const f = fuseElementwise(g);
    expect(opsOf(f)).toEqual(['input', 'fusedElementwise', 'fusedElementwise']);
    expect(bodyOf(f, 0)).toBe('transpose($0) {perm: [1, 0]}; exp(%0)');
    expectSameOutputs(g, f);
  });

  it('fuses dropout, casts, iota and comparisons (the cross-entropy gradient shape)', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 3]);
      const labels = b.input('labels', [4], { dtype: 'i32' });
      const seed = b.input('seed', [], { dtype: 'i32' });
      const onehot = b.eq(b.reshape(b.cast(labels), [4, 1]), b.iota([4, 3], 1));
      b.output('y', b.mul(b.sub(b.dropout(x, seed, { p: 0.3, stream: 2 }), onehot), 0.25));
    });
    const f = fuseElementwise(g);
    expect(opsOf(f)).toEqual(['input', 'input', 'input', 'fusedElementwise']);
    expectSameOutputs(g, f, [1, 2], { labels: Int32Array.of(0, 2, 1, 2), seed: [7] });
  });

  it('leaves general reshapes outside (they are buffer aliases)', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 6]);
      b.output('y', b.exp(b.reshape(b.neg(x), [3, 8])));
    });
    const f = fuseElementwise(g);
    expect(opsOf(f)).toEqual(['input', 'fusedElementwise', 'reshape', 'fusedElementwise']);
    expectSameOutputs(g, f);
  });

  it('reads at most maxOperands buffers per kernel', () => {
    const g = graph((b) => {
      const xs: Value[] = [0, 1, 2, 3, 4].map((i) => b.input(`x${i}`, [8]));
      b.output('y', xs.slice(1).reduce((acc, x) => b.add(acc, b.exp(x)), xs[0]!));
    });
    const f = fuseElementwise(g, { maxOperands: 3 });
    for (const n of f.nodes) if (n.op === 'fusedElementwise') expect(n.inputs.length).toBeLessThanOrEqual(3);
    expect(opsOf(f).filter((op) => op === 'fusedElementwise').length).toBeGreaterThan(1);
    expectSameOutputs(g, f);
    expect(opsOf(fuseElementwise(g)).filter((op) => op === 'fusedElementwise')).toHaveLength(1);
  });

  it('groups are deterministic and the fused graph verifies and prints', () => {
    const g = graph((b) => {
      const x = b.input('x', [2, 3]);
      b.output('y', b.relu(b.mul(x, x)));
    });
    expect(elementwiseGroups(g)).toEqual(elementwiseGroups(g));
    const f = fuseElementwise(g);
    verifyGraph(f);
    expect(printGraph(f)).toContain('fusedElementwise(%0) {body: "mul($0, $0); relu(%0)"}');
    expect(evaluate(f, { x: [1, -2, 3, 0, 1, 2] }).y).toEqual(Float64Array.of(1, 4, 9, 0, 1, 4));
  });

  it('differentiate refuses fused graphs (differentiate first, then fuse)', () => {
    const g = graph((b) => {
      const x = b.param('x', [3]);
      b.output('loss', b.sum(b.exp(b.mul(x, 2))));
    });
    expect(() => differentiate(fuseElementwise(g), { loss: 'loss', wrt: ['x'] })).toThrow(/differentiate before fusing/);
  });
});
