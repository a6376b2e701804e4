/**
 * The back end's bar: every model, compiled to a Program (fused, and one kernel per op) and run
 * on the test device, matches the f64 interpreter within 1e-4 relative error; fused and unfused
 * programs agree with each other.
 */
import { describe, expect, it } from 'vitest';
import { testDevice } from '../helpers/device.ts';
import { maxRelError } from '../helpers/random.ts';
import { attentionModel, doraModel, embeddingModel, layoutModel, loraModel, loraTrainingModel, mlpModel, softmaxModel, type Model } from './graphs.ts';
import { compare, deviceOptions } from './run.ts';

const MODELS: (() => Model)[] = [
  () => loraModel({ n: 7, inF: 33, outF: 17, r: 3, bias: true }),
  () => loraModel({ n: 7, inF: 33, outF: 17, r: 3, p: 0.25 }),
  () => loraTrainingModel({ n: 7, inF: 33, outF: 17, r: 3, p: 0.1, bias: true }),
  () => ({ ...loraTrainingModel({ n: 5, inF: 12, outF: 8, r: 4, batch: 2 }), name: 'lora training, batched x' }),
  () => doraModel(),
  () => mlpModel(),
  () => attentionModel(),
  () => embeddingModel(),
  () => layoutModel(),
  () => softmaxModel(),
];

describe('compiled programs match the interpreter', () => {
  for (const make of MODELS) {
    const model = make();
    it(`${model.name}${model.graph.inputs.some((i) => i.name === 'seed') ? ' (dropout)' : ''}`, async () => {
      const device = await testDevice();
      const fused = await compare(device, model, deviceOptions(device));
      const unfused = await compare(device, model, { ...deviceOptions(device), fuse: false });
      for (const [name, err] of Object.entries(fused.errors)) expect(err, `fused ${name}`).toBeLessThan(1e-4);
      for (const [name, err] of Object.entries(unfused.errors)) expect(err, `unfused ${name}`).toBeLessThan(1e-4);
      for (const name of Object.keys(fused.want)) expect(maxRelError(fused.got[name]!, unfused.got[name]!), `fused vs unfused ${name}`).toBeLessThan(1e-4);
      expect(fused.program.steps.length).toBeLessThanOrEqual(unfused.program.steps.length);
    });
  }

  it('GPU-target kernels (shared-memory matmuls, workgroup rows) compile and match too', async () => {
    const device = await testDevice();
    for (const model of [loraTrainingModel({ n: 7, inF: 33, outF: 17, r: 3, bias: true }), attentionModel()]) {
      const { errors } = await compare(device, model, deviceOptions(device, 'gpu'), 3);
      for (const [name, err] of Object.entries(errors)) expect(err, `${model.name} ${name}`).toBeLessThan(1e-4);
    }
  });
});
