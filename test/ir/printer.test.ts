/** printGraph: readable, and byte-stable (same graph → same bytes, whatever the attr key order). */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, printGraph, type Graph } from '../../compiler/ir/index.ts';

function smallGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [128, 64]);
  const w = b.frozen('W', [32, 64]);
  const a = b.param('A', [8, 64], { file: 'lora.swag', line: 3, col: 9 });
  const ids = b.input('ids', [128], { dtype: 'i32' });
  b.span = { file: 'lora.swag', line: 6, col: 12 };
  const u = b.named(b.matmul(x, a, { transB: true }), 'u');
  b.span = undefined;
  const y = b.add(b.matmul(x, w, { transB: true }), b.mul(b.reshape(b.sum(u, 1, { keepDims: true }), [128, 1]), 0.25));
  b.output('y', b.softmax(y));
  b.output('n', b.cast(ids));
  return b.build();
}

const GOLDEN = `%0: f32[128, 64] = input "x"
%1: f32[32, 64] = frozen "W"
%2: f32[8, 64] = param "A"  # lora.swag:3:9
%3: i32[128] = input "ids"
%4 "u": f32[128, 8] = matmul(%0, %2) {transB: true}  # lora.swag:6:12
%5: f32[128, 32] = matmul(%0, %1) {transB: true}
%6: f32[128, 1] = sum(%4) {axes: [1], keepDims: true}
%7: f32[128, 1] = reshape(%6)
%8: f32[] = constant {value: 0.25}
%9: f32[128, 1] = mul(%7, %8)
%10: f32[128, 32] = add(%5, %9)
%11: f32[128, 32] = softmax(%10) {axis: 1}
%12: f32[128] = cast(%3)
outputs: y = %11, n = %12
`;

describe('printGraph', () => {
  it('prints one node a line with types, attrs, names and spans', () => {
    expect(printGraph(smallGraph())).toBe(GOLDEN);
  });

  it('is byte-stable across rebuilds, JSON round trips and attr key order', () => {
    const g = smallGraph();
    expect(printGraph(smallGraph())).toBe(printGraph(g));
    const roundTrip = JSON.parse(JSON.stringify(g)) as Graph;
    expect(printGraph(roundTrip)).toBe(GOLDEN);
    const shuffled: Graph = {
      ...g,
      nodes: g.nodes.map((node) => ({ ...node, attrs: Object.fromEntries(Object.entries(node.attrs).reverse()) })),
    };
    expect(printGraph(shuffled)).toBe(GOLDEN);
  });

  it('prints -0, small and large numbers exactly', () => {
    const b = new GraphBuilder();
    b.output('a', b.constant(-0));
    b.output('b', b.constant(1e-30));
    b.output('c', b.literal([0.1, 3], [2]));
    expect(printGraph(b.build())).toBe(
      '%0: f32[] = constant {value: -0}\n%1: f32[] = constant {value: 1e-30}\n%2: f32[2] = literal {values: [0.1, 3]}\noutputs: a = %0, b = %1, c = %2\n',
    );
  });
});
