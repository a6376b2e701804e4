/** The ring-buffer write: select(eq(iota, slot), row, ring) → writeRow → fusedWriteRow with its producers. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, type Graph } from '../../compiler/ir/index.ts';
import { fuseElementwise } from '../../compiler/passes/fuseElementwise.ts';
import { fuseRingBufferWrite, recognizeRingBufferWrite } from '../../compiler/passes/fuseRingBufferWrite.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { expectSameOutputs, opsOf } from './sameOutputs.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

/** A ring of K rows of [p] updated at row n mod K with e = theta − mean (as the SWAG lowering writes it). */
function ring(K: number, p: number, swapEq = false): Graph {
  return graph((b) => {
    const theta = b.input('theta', [p]);
    const n = b.input('n', []);
    const mean = b.state('mean', [p]);
    const D = b.state('D', [K, p]);
    const slot = b.mod(n, K);
    const rows = b.iota([K, 1], 0);
    const cond = swapEq ? b.eq(slot, rows) : b.eq(rows, slot);
    b.output('D', b.select(cond, b.reshape(b.sub(theta, mean), [1, p]), D));
  });
}

describe('writeRow', () => {
  it('replaces exactly the row its index names; an index that is not a whole row number writes nothing', () => {
    const g = graph((b) => b.output('y', b.writeRow(b.input('buf', [3, 2]), b.input('row', [2]), b.input('i', []))));
    const buf = [1, 2, 3, 4, 5, 6];
    const at = (i: number) => Array.from(evaluate(g, { buf, row: [-1, -2], i: [i] }).y!);
    expect(at(1)).toEqual([1, 2, -1, -2, 5, 6]);
    for (const i of [-1, 3, 0.5]) expect(at(i)).toEqual(buf);
  });

  it('mod is floored: n mod K for whole numbers up to 2^24 − 1, the sign of the divisor', () => {
    const g = graph((b) => b.output('r', b.mod(b.input('a', []), b.input('b', []))));
    const mod = (a: number, d: number) => evaluate(g, { a: [a], b: [d] }).r![0];
    for (const [a, d] of [[0, 4], [9, 4], [2 ** 24 - 1, 20], [2 ** 23 + 17, 3]]) expect(mod(a!, d!)).toBe(a! % d!);
    expect(mod(-1, 4)).toBe(3);
    expect(mod(1, -4)).toBe(-3);
  });
});

describe('recognizeRingBufferWrite', () => {
  for (const swapEq of [false, true]) {
    it(`turns the select over all K rows into one row write${swapEq ? ' (eq operands swapped)' : ''}`, () => {
      const g = runPipeline(ring(5, 7, swapEq));
      const r = recognizeRingBufferWrite(g);
      expect(opsOf(r)).toContain('writeRow');
      expect(opsOf(r)).not.toContain('select');
      expectSameOutputs(g, r, [1, 2, 3], { n: [3] });
      expectSameOutputs(g, r, [4], { n: [12] });
    });
  }

  it('leaves a select whose condition is not a row index alone', () => {
    const g = graph((b) => {
      const D = b.state('D', [3, 4]);
      b.output('D', b.select(b.eq(b.iota([3, 4], 1), b.input('s', [])), b.input('x', [1, 4]), D));
    });
    expect(recognizeRingBufferWrite(g)).toBe(g);
  });
});

describe('fuseRingBufferWrite', () => {
  it('moves the row and slot computations into one fusedWriteRow', () => {
    const g = runPipeline(ring(4, 9));
    const f = fuseRingBufferWrite(fuseElementwise(recognizeRingBufferWrite(g)));
    expect(opsOf(f)).toEqual(['input', 'input', 'input', 'input', 'fusedWriteRow']);
    expect(f.nodes[4]!.attrs).toMatchObject({ row: 'sub($0, $1)', index: 'mod($2, 4)' });
    for (const n of [0, 5, 11]) expectSameOutputs(g, f, [n + 1], { n: [n] });
  });

  it('recomputes a slot two rings share in each, and writes a constant row as a constant', () => {
    const g = runPipeline(graph((b) => {
      const n = b.input('n', []);
      const slot = b.mod(n, 3);
      const rows = b.iota([3, 1], 0);
      b.output('D', b.select(b.eq(rows, slot), b.reshape(b.input('e', [5]), [1, 5]), b.state('D', [3, 5])));
      b.output('filled', b.select(b.eq(b.iota([3], 0), slot), b.constant(1), b.state('filled', [3])));
    }));
    const f = fuseRingBufferWrite(fuseElementwise(recognizeRingBufferWrite(g)));
    expect(opsOf(f).filter((op) => op !== 'input')).toEqual(['fusedWriteRow', 'fusedWriteRow']);
    expect(f.nodes.at(-1)!.attrs.row).toBe('constant {value: 1}');
    expectSameOutputs(g, f, [1, 2], { n: [4] });
  });
});
