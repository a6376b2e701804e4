/** Kernel texts of the fused state updates and of the low-rank sampler; `mod` and small reductions on the device. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, parseBody, type Graph } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { groupKernel } from '../../compiler/codegen/wgsl/kernelGroup.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError } from '../helpers/random.ts';
import { randomFeeds } from '../ir/randomFeeds.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

const f32 = (...shape: number[]) => ({ shape, dtype: 'f32' as const });

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

describe('groupKernel', () => {
  it('binds each buffer once, read_write where written, and stores the members in order', () => {
    // m0: b1[i] = b0 + b1 (in place), m1: row (b2 mod 3) of b3 = b1 (its new value) · 2.
    const k = groupKernel([
      { n: 8, body: parseBody('add($0, $1)'), operands: [10, 11], types: [f32(8), f32(8)], out: 11, outDtype: 'f32' },
      { n: 8, body: parseBody('mul($0, 2)'), index: parseBody('mod($1, 3)'), operands: [11, 12], types: [f32(8), f32()], out: 13, outDtype: 'f32', rows: 3 },
    ], 'test', 65535)!;
    expect(k.buffers).toEqual([10, 11, 12, 13]);
    expect(k.spec.bindings).toEqual(['read', 'read_write', 'read', 'read_write', 'uniform']);
    const main = k.spec.wgsl.slice(k.spec.wgsl.indexOf('fn main'));
    expect(main.indexOf('b1[i] = m0_value(i);')).toBeLessThan(main.indexOf('b3[u32(m1_row) * params.m1_cols + i] = m1_value(i);'));
  });

  it('refuses to read a written buffer at another element', () => {
    const transposed = groupKernel([
      { n: 6, body: parseBody('mul($0, 2)'), operands: [1], types: [f32(6)], out: 2, outDtype: 'f32' },
      { n: 6, body: parseBody('transpose($0) {perm: [1, 0]}'), operands: [2], types: [f32(2, 3)], out: 3, outDtype: 'f32' },
    ], 'test', 65535);
    expect(transposed).toBeUndefined();
  });
});

describe('on the device', () => {
  it('mod gives n mod K exactly for whole numbers up to 2^24 − 1', async () => {
    const device = await testDevice();
    const ns = [0, 1, 19, 20, 21, 2 ** 20 + 3, 2 ** 23 - 1, 2 ** 23 + 17, 2 ** 24 - 21, 2 ** 24 - 1, ...Array.from({ length: 200 }, (_, i) => 16_777_215 - 7919 * i)];
    for (const K of [3, 7, 20, 64]) {
      const g = graph((b) => b.output('r', b.mod(b.input('n', [ns.length]), K)));
      const got = await runProgram(device, compileProgram(g, deviceOptions(device)), { n: ns });
      expect(Array.from(got.r!), `K = ${K}`).toEqual(ns.map((n) => n % K));
    }
  });

  it('a small reduction inside an elementwise kernel (a count of filled rows) matches the interpreter', async () => {
    const device = await testDevice();
    const g = graph((b) => {
      const filled = b.input('filled', [5]);
      b.output('y', b.mul(b.input('x', [33]), b.sqrt(b.div(0.5, b.max(b.sub(b.sum(filled), 1), 1)))));
      b.output('top', b.add(b.input('z', [2]), b.reduceMax(filled)));
    });
    const program = compileProgram(g, deviceOptions(device));
    expect(program.steps.map((s) => s.label.split(' ')[0])).toEqual(['fusedElementwise', 'fusedElementwise']);
    const feeds = randomFeeds(g, 4);
    const want = evaluate(g, feeds);
    const got = await runProgram(device, program, feeds);
    for (const name of Object.keys(want)) expect(maxRelError(got[name]!, want[name]!), name).toBeLessThan(1e-6);
  });
});
