/** compiler/emit/program.ts: plain, byte-stable data; kernels deduplicated; every kernel compiles. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { testDevice } from '../helpers/device.ts';
import { attentionModel, doraModel, embeddingModel, layoutModel, loraModel, loraTrainingModel, mlpModel } from '../program/graphs.ts';
import { deviceOptions } from '../program/run.ts';

const models = () => [
  loraModel({ n: 7, inF: 33, outF: 17, r: 3, bias: true, p: 0.1 }),
  loraTrainingModel({ n: 7, inF: 33, outF: 17, r: 3, p: 0.1, bias: true }),
  doraModel(), mlpModel(), attentionModel(), embeddingModel(), layoutModel(),
];

describe('Program', () => {
  it('is byte-stable: the same graph and options give the same JSON and WGSL', () => {
    const first = models();
    const second = models();
    for (let i = 0; i < first.length; i++) {
      for (const target of ['cpu', 'gpu'] as const) {
        const a = compileProgram(first[i]!.graph, { target });
        const b = compileProgram(second[i]!.graph, { target });
        expect(JSON.stringify(b), `${first[i]!.name} ${target}`).toBe(JSON.stringify(a));
      }
    }
  });

  it('is plain data: JSON round-trips it exactly', () => {
    const p = compileProgram(loraTrainingModel({ n: 7, inF: 33, outF: 17, r: 3 }).graph);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    for (const step of p.steps) {
      expect(step.args.filter((a) => typeof a !== 'number')).toHaveLength(1);
      expect(step.kernel).toBeLessThan(p.kernels.length);
    }
  });

  it('shares one kernel between identical launches and names every node it runs for', () => {
    const b = new GraphBuilder();
    b.span = { file: 'two.swag', line: 3, col: 5 };
    const a = b.exp(b.input('a', [4, 5]));
    b.span = { file: 'two.swag', line: 4, col: 5 };
    const c = b.exp(b.input('c', [6, 7]));
    b.output('a', a);
    b.output('c', c);
    const p = compileProgram(b.build(), { fuse: true });
    expect(p.steps).toHaveLength(2);
    expect(p.kernels).toHaveLength(1);
    expect(p.kernels[0]!.label).toBe('fusedElementwise %1 @ two.swag:3:5 | fusedElementwise %3 @ two.swag:4:5');
    expect(p.kernels[0]!.wgsl.split('\n')[0]).toBe('// swaglet fusedElementwise: exp($0)');
  });

  it('labels launches with the op, node and source span', () => {
    const p = compileProgram(loraModel({ n: 7, inF: 33, outF: 17, r: 3, bias: true }).graph);
    expect(p.kernels.every((k) => k.label.includes('@ lora.swag:6:12'))).toBe(true);
  });

  it('every kernel of every model compiles on the device, for both targets', async () => {
    const device = await testDevice();
    for (const model of models()) {
      for (const target of ['cpu', 'gpu'] as const) {
        for (const fuse of [true, false]) {
          const p = compileProgram(model.graph, { ...deviceOptions(device, target), fuse });
          await Promise.all(p.kernels.map((k) => device.kernel(k)));
        }
      }
    }
  });
});
