/**
 * The skinny Aᵀ·B matmul (codegen/wgsl/skinnyTransAMatmul.ts): a narrow side (few rows or few
 * columns of C) and a long K over both operands stored K-major — the weight gradients of a LoRA
 * adapter — against the interpreter, on odd sizes that are no multiple of any tile, with the
 * wide side both a multiple of 4 (read as vec4) and not, and the narrow side both.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { simplify } from '../../compiler/passes/simplify.ts';
import { testDevice } from '../helpers/device.ts';
import { compare, deviceOptions } from './run.ts';

/** y = α · aᵀ·b with a [K, M], b [K, N]. */
function transAGraph(K: number, M: number, N: number, alpha: number) {
  const b = new GraphBuilder();
  const a = b.input('g', [K, M]);
  const x = b.input('x', [K, N]);
  const y = b.matmul(a, x, { transA: true });
  b.output('y', alpha === 1 ? y : b.mul(y, alpha));
  return { name: 'skinnyTransA', given: {}, graph: simplify(b.build()) };
}

describe('skinny Aᵀ·B matmul', () => {
  for (const [K, M, N, alpha] of [
    [301, 5, 67, 1], // narrow rows, wide side odd
    [257, 8, 132, 2], // narrow rows (a vec4 of them), wide side a multiple of 4
    [130, 97, 3, 1], // narrow columns, wide side odd
    [199, 100, 16, 0.5], // narrow columns, both multiples of 4
    [77, 12, 64, 1], // narrow rows in three vec4 groups, a short K
  ] as const) {
    it(`[${K}, ${M}]ᵀ·[${K}, ${N}]${alpha !== 1 ? ` × ${alpha}` : ''}`, async () => {
      const device = await testDevice();
      const options = deviceOptions(device, 'cpu');
      const model = transAGraph(K, M, N, alpha);
      const program = compileProgram(model.graph, options);
      expect(program.kernels.some((k) => /skinnyTA/.test(k.label))).toBe(true);
      const { errors } = await compare(device, model, options);
      expect(errors.y).toBeLessThan(1e-4);
    });
  }
});
