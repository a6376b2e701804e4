/** The fused elementwise emitter: merged axes, strided reads, i32 data, sources, readable text. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, parseBody, type Graph } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { elementwiseKernel } from '../../compiler/codegen/wgsl/elementwise.ts';
import { ACTIVATION_WGSL } from '../../compiler/codegen/wgsl/matmul.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

const f32 = (...shape: number[]) => ({ shape, dtype: 'f32' as const });

describe('elementwiseKernel', () => {
  it('a same-shape chain is 1-D: every operand read at i, no coordinates', () => {
    const k = elementwiseKernel(parseBody('mul($0, $1); add(%0, 0.5); tanh(%1)'), [f32(3, 4, 5), f32(3, 4, 5)], 'test', 65535);
    expect(k.spec.wgsl).toContain('let v0: f32 = in_0[i];');
    expect(k.spec.wgsl).not.toContain('rest');
    expect(k.spec.wgsl).toContain('fn op_tanh');
    expect(k.spec.bindings).toEqual(['read', 'read', 'read_write', 'uniform']);
    expect(Array.from(new Uint32Array(k.uniform.buffer).slice(0, 1))).toEqual([60]);
  });

  it('merges axes only where every access allows: a row broadcast is 2-D', () => {
    const k = elementwiseKernel(parseBody('add($0, $1)'), [f32(2, 3, 4), f32(4)], 'test', 65535);
    expect(k.spec.wgsl).toContain('let c1 = rest % params.size1;');
    expect(k.spec.wgsl).not.toContain('c2');
    expect(k.spec.wgsl).toContain('in_1[c1 * params.stride1_1]');
  });

  it('activations in matmul epilogues are single expressions of v', () => {
    for (const expr of Object.values(ACTIVATION_WGSL)) expect(expr).not.toMatch(/[;{}]/);
  });
});

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

describe('fused elementwise kernels on the device', () => {
  it('copy i32 data through remaps, materialise iota and filled constants, inline literals', async () => {
    const device = await testDevice();
    const g = graph((b) => {
      const ids = b.input('ids', [3, 4], { dtype: 'i32' });
      const x = b.input('x', [4, 3]);
      b.output('idsT', b.transpose(ids, [1, 0]));
      b.output('iota', b.iota([2, 5], 1));
      b.output('ones', b.constant(1, [2, 3]));
      b.output('picked', b.select(b.gt(x, 0), b.cast(b.transpose(ids, [1, 0])), b.literal([0.5, -1, 2], [3])));
      b.output('sliced', b.mul(b.slice(b.broadcastTo(b.reshape(x, [1, 4, 3]), [2, 4, 3]), 2, 1, 2), b.iota([2, 4, 2], 0)));
      // A literal too big to inline is a constant buffer written at load; extreme i32 constants.
      b.output('big', b.add(b.literal(Array.from({ length: 120 }, (_, i) => i / 7), [10, 12]), b.constant(1, [10, 12])));
      b.output('extreme', b.select(b.gt(b.input('z', [2]), 0), b.constant(-2147483648, [2], 'i32'), b.constant(2147483647, [2], 'i32')));
    });
    const feeds = { ids: Int32Array.from({ length: 12 }, (_, i) => i * 3 - 7), x: randomArray(12, 3), z: [1, -1] };
    const got = await runProgram(device, compileProgram(g, deviceOptions(device)), feeds);
    const want = evaluate(g, feeds);
    expect(got.idsT).toBeInstanceOf(Int32Array);
    expect(Array.from(got.extreme!)).toEqual([-2147483648, 2147483647]);
    for (const name of Object.keys(want)) expect(maxRelError(got[name]!, want[name]!), name).toBeLessThan(1e-6);
  });

  it('every elementwise op matches the interpreter, fused in one kernel', async () => {
    const device = await testDevice();
    const g = graph((b) => {
      const x = b.input('x', [5, 7]);
      const y = b.input('y', [7]);
      const pos = b.add(b.abs(x), 0.1);
      const parts = [
        b.neg(x), b.exp(x), b.log(pos), b.sqrt(pos), b.rsqrt(pos), b.tanh(x), b.relu(x), b.gelu(x), b.sigmoid(x),
        b.sin(x), b.cos(x), b.square(x), b.reciprocal(pos), b.sub(x, y), b.div(x, pos), b.max(x, y), b.min(x, y),
        b.pow(pos, y), b.pow(x, 3), b.gt(x, y), b.ge(x, y), b.lt(x, y), b.le(x, y), b.eq(x, x),
      ];
      b.output('all', parts.reduce((acc, p, i) => b.add(acc, b.mul(p, 1 / (i + 1)))));
    });
    const feeds = { x: randomArray(35, 1, 2), y: randomArray(7, 2) };
    const program = compileProgram(g, deviceOptions(device));
    expect(program.steps).toHaveLength(1);
    const got = await runProgram(device, program, feeds);
    expect(maxRelError(got.all!, evaluate(g, feeds).all!)).toBeLessThan(1e-5);
  });
});
