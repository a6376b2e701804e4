/**
 * One op → WGSL table (kernels/elementwise/ops.ts): a matmul epilogue's activation and the
 * elementwise kernel of the same op are the same formula, with the same helper text, and on the
 * device they give the same numbers (and the interpreter's, to f32 accuracy).
 */
import { describe, expect, it } from 'vitest';
import { ACTIVATION_WGSL } from '../../compiler/codegen/wgsl/matmul.ts';
import { GraphBuilder, MATMUL_ACTIVATIONS, evaluate, type Graph, type OpName } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { helpersFor, renderUnary, type UnaryOp } from '../../kernels/elementwise/ops.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

const ACTIVATIONS = MATMUL_ACTIVATIONS.filter((a) => a !== '') as UnaryOp[];

/** y = act(x·Wᵀ + b): fusion puts the bias and the activation in the matmul's epilogue. */
function dense(act: UnaryOp): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [8, 16]);
  const w = b.input('W', [12, 16]);
  const bias = b.input('b', [12]);
  const pre = b.add(b.matmul(x, w, { transB: true }), bias);
  b.output('y', b.node(act as OpName, [pre]));
  return b.build();
}

describe('activations: matmul epilogue vs elementwise kernel', () => {
  it('covers every activation the epilogue accepts, each as the table’s own expression', () => {
    expect(ACTIVATIONS).toEqual(expect.arrayContaining(['relu', 'gelu', 'tanh', 'sigmoid']));
    for (const act of ACTIVATIONS) expect(ACTIVATION_WGSL[act]).toBe(renderUnary(act, 'v'));
  });

  it('writes the same helper functions into both kernels', async () => {
    const device = await testDevice();
    for (const act of ACTIVATIONS) {
      const fused = compileProgram(dense(act), deviceOptions(device));
      const unfused = compileProgram(dense(act), { ...deviceOptions(device), fuse: false });
      expect(fused.steps.map((s) => s.label.split(' ')[0]), act).toEqual(['fusedMatmul']);
      const elementwise = unfused.kernels[unfused.steps.at(-1)!.kernel]!;
      expect(unfused.steps.at(-1)!.label.split(' ')[0], act).toBe(act);
      for (const helper of helpersFor(renderUnary(act, 'x'))) {
        expect(fused.kernels[0]!.wgsl, act).toContain(helper.trim());
        expect(elementwise.wgsl, act).toContain(helper.trim());
      }
    }
  });

  it('gives the same numbers fused and unfused, and the interpreter’s', async () => {
    const device = await testDevice();
    // Pre-activations from about -6 to 6, small ones included (tanh's series branch, gelu's tail).
    const feeds = { x: randomArray(8 * 16, 1, 1.5), W: randomArray(12 * 16, 2, 0.5), b: randomArray(12, 3, 0.3) };
    for (const act of ACTIVATIONS) {
      const g = dense(act);
      const want = evaluate(g, feeds).y!;
      const fused = (await runProgram(device, compileProgram(g, deviceOptions(device)), feeds)).y!;
      const unfused = (await runProgram(device, compileProgram(g, { ...deviceOptions(device), fuse: false }), feeds)).y!;
      expect(maxRelError(fused, unfused), act).toBeLessThan(1e-5);
      expect(maxRelError(fused, want), act).toBeLessThan(1e-4);
    }
  });
});
