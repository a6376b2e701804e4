/**
 * The skinny matmul (codegen/wgsl/skinnyMatmul.ts): few output columns, many rows — LoRA's
 * u = x·Aᵀ and the products of its gradients — against the interpreter, on odd sizes that are
 * no multiple of any tile (and K both a multiple of 4, read as vec4, and not).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { simplify } from '../../compiler/passes/simplify.ts';
import { testDevice } from '../helpers/device.ts';
import { compare, deviceOptions } from './run.ts';

function skinnyGraph(M: number, K: number, N: number, transB: boolean, alpha: number) {
  const b = new GraphBuilder();
  const x = b.input('x', [M, K]);
  const w = b.param('A', transB ? [N, K] : [K, N]);
  const y = b.matmul(x, w, { transB });
  b.output('y', alpha === 1 ? y : b.mul(y, alpha));
  return { name: 'skinny', given: {}, graph: simplify(b.build()) };
}

describe('skinny matmul', () => {
  for (const [M, K, N, transB, alpha] of [
    [301, 37, 5, true, 1],
    [257, 44, 8, true, 2],
    [129, 19, 3, false, 1],
    [200, 64, 16, false, 0.5],
    [131, 36, 8, false, 1], // B [K, N] read as vec4 rows, odd M
    [150, 38, 8, false, 1], // K no multiple of 4: scalar
    [519, 36, 8, true, 1], // tall: four rows per invocation, the last invocation's clamped
    [517, 40, 12, false, 2], // tall, B [K, N] as vec4 rows
    [514, 23, 5, false, 1], // tall, scalar
  ] as const) {
    it(`[${M}, ${K}]·${transB ? `[${N}, ${K}]ᵀ` : `[${K}, ${N}]`}${alpha !== 1 ? ` × ${alpha}` : ''}`, async () => {
      const device = await testDevice();
      const options = deviceOptions(device, 'cpu');
      const model = skinnyGraph(M, K, N, transB, alpha);
      const program = compileProgram(model.graph, options);
      expect(program.kernels.some((k) => /skinny/.test(k.label))).toBe(true);
      const { errors } = await compare(device, model, options);
      expect(errors.y).toBeLessThan(1e-4);
    });
  }
});
