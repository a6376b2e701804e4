/**
 * `randomNormal(seed) {shape, stream}` on the GPU draws Philox normals with the layout of
 * kernels/philox.ts `randomNormal` (key (seed, 0), counter (i div 4, 0, stream, 0), normal i mod 4
 * of the block's Box–Muller), in its own kernel or fused into an elementwise kernel as a producer;
 * `philoxNormal` (compiler/codegen/wgsl/dropout.ts) is its CPU twin for the interpreter.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, parseBody } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import { fuseGraph } from '../../compiler/pipeline.ts';
import { randomNormal, seedKey } from '../../kernels/philox.ts';
import { randomNormalCpu } from '../../kernels/cpu/philox.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { deviceOptions, runProgram } from './run.ts';

describe('Philox randomNormal', () => {
  it('philoxNormal is randomNormalCpu element for element (key (seed, 0), counter (i div 4, 0, stream, 0))', () => {
    for (const [seed, stream] of [[7, 0], [123456789, 5], [2 ** 31 - 1, 1]] as const) {
      const expected = randomNormalCpu(37, { key: seedKey(seed), stream });
      for (let i = 0; i < 37; i++) expect(Math.fround(philoxNormal(seed, stream, i))).toBe(expected[i]);
    }
    // A negative i32 seed is its two's complement bits.
    expect(Math.fround(philoxNormal(-1, 2, 5))).toBe(randomNormalCpu(8, { key: [0xffffffff, 0], stream: 2 })[5]);
  });

  it('its own kernel and a fused producer equal randomNormalCpu, kernels/philox.ts randomNormal and the interpreter', async () => {
    const device = await testDevice();
    const b = new GraphBuilder();
    const x = b.input('x', [33, 31]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    b.output('plain', b.randomNormal(seed, [1001], { stream: 3 }));
    // Fused into an elementwise kernel, broadcast along rows and read through a transpose.
    b.output('fused', b.add(b.mul(x, b.randomNormal(seed, [31], { stream: 1 })), b.transpose(b.randomNormal(seed, [31, 33], { stream: 2 }), [1, 0])));
    const g = b.build();
    const bodies = fuseGraph(g).nodes.filter((n) => n.op === 'fusedElementwise').map((n) => parseBody(n.attrs.body as string).map((ins) => ins.op));
    expect(bodies.some((ops) => ops.filter((op) => op === 'randomNormal').length === 2 && ops.includes('mul'))).toBe(true);
    const program = compileProgram(g, deviceOptions(device));
    const data = randomArray(33 * 31, 4);
    for (const s of [42, 2 ** 31 - 5, -7]) {
      const feeds = { x: data, seed: [s] };
      const got = await runProgram(device, program, feeds);
      const want = evaluate(g, feeds, { normal: philoxNormal });
      const key: [number, number] = [s >>> 0, 0];
      expect(maxRelError(got.plain!, randomNormalCpu(1001, { key, stream: 3 })), `plain, seed ${s}`).toBeLessThan(1e-4);
      expect(maxRelError(got.plain!, want.plain!), `plain vs interpreter, seed ${s}`).toBeLessThan(1e-4);
      expect(maxRelError(got.fused!, want.fused!), `fused vs interpreter, seed ${s}`).toBeLessThan(1e-4);
      const kernel = await randomNormal(device, [1001], { seed: key, stream: 3 });
      expect(maxRelError(got.plain!, await device.read(kernel)), `plain vs kernels/philox.ts, seed ${s}`).toBeLessThan(1e-6);
      kernel.release();
      const z = Array.from(got.plain!);
      const mean = z.reduce((a, v) => a + v, 0) / z.length;
      const variance = z.reduce((a, v) => a + (v - mean) ** 2, 0) / z.length;
      expect(Math.abs(mean)).toBeLessThan(0.15);
      expect(Math.abs(variance - 1)).toBeLessThan(0.15);
    }
  });
});
