/**
 * The LoRA form compiles to what "Why it should be fast" promises: u = x·Aᵀ as one small matmul,
 * then ONE matmul over the concatenated inner dimension [x | s·u]·[W | B]ᵀ with the bias in its
 * epilogue — two kernels, where one kernel per op takes three matmuls and two adds.
 */
import { describe, expect, it } from 'vitest';
import { compileProgram } from '../../compiler/pipeline.ts';
import { programStats } from '../../compiler/emit/program.ts';
import { fuseGraph } from '../../compiler/pipeline.ts';
import { testDevice } from '../helpers/device.ts';
import { loraModel, loraTrainingModel } from './graphs.ts';
import { compare, deviceOptions } from './run.ts';

const sizes = { n: 7, inF: 33, outF: 17, r: 3 };

describe('LoRA fusion', () => {
  it('forward with bias: 2 matmul kernels (u, then the concatenated matmul), not 3 + adds', async () => {
    const model = loraModel({ ...sizes, bias: true });
    const fusedGraph = fuseGraph(model.graph);
    const mm = fusedGraph.nodes.filter((n) => n.op === 'fusedMatmul');
    expect(mm).toHaveLength(1);
    expect(mm[0]!.attrs).toMatchObject({ transB: true, concat: true, concatScale: 16 / 3, bias: true });

    const fused = compileProgram(model.graph);
    expect(programStats(fused).byOp).toEqual({ matmul: 1, fusedMatmul: 1 });
    expect(fused.steps.map((s) => s.label)).toEqual(['matmul %4 @ lora.swag:6:12', 'fusedMatmul %6 @ lora.swag:6:12']);
    expect(fused.kernels[1]!.wgsl).toContain('s·A2·B2ᵀ');
    const unfused = compileProgram(model.graph, { fuse: false });
    expect(programStats(unfused).byOp).toEqual({ matmul: 3, mul: 1, add: 2 });

    const device = await testDevice();
    const { errors } = await compare(device, model, deviceOptions(device));
    expect(errors.y).toBeLessThan(1e-4);
  });

  it('forward with dropout on the low-rank path: dropout, u, one concatenated matmul', () => {
    const p = compileProgram(loraModel({ ...sizes, p: 0.1 }).graph);
    expect(p.steps.map((s) => s.label.split(' ')[0])).toEqual(['fusedElementwise', 'matmul', 'fusedMatmul']);
  });

  it('training (forward, cross-entropy, grads wrt A and B): 9 kernels fused, 19 unfused', () => {
    const model = loraTrainingModel({ ...sizes, p: 0.1, bias: true });
    const fused = programStats(compileProgram(model.graph));
    const unfused = programStats(compileProgram(model.graph, { fuse: false }));
    // dropout; u; the concatenated matmul; loss rows + mean; softmax with the gradient in its epilogue; 3 grad matmuls.
    expect(fused.byOp).toEqual({ fusedElementwise: 1, matmul: 4, fusedMatmul: 1, crossEntropy: 2, fusedSoftmax: 1 });
    expect(fused.steps).toBe(9);
    expect(unfused.steps).toBe(19);
  });

  it('batched activations: the batch folds into M, and Σ_batch weight gradients into K', () => {
    const model = loraTrainingModel({ n: 5, inF: 12, outF: 8, r: 4, batch: 2 });
    const fused = fuseGraph(model.graph);
    expect(fused.nodes.some((n) => n.op === 'sum')).toBe(false);
    const p = compileProgram(model.graph);
    const concat = p.steps.find((s) => s.label.startsWith('fusedMatmul'))!;
    expect(concat.workgroups).toEqual([1, 1, 1]);
  });
});
