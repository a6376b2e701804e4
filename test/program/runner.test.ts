/** runtime/program.ts: load once, run many times, one submit per run, tensors bound across calls. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { ProgramError, ShapeError, loadProgram, type Program } from '../../runtime/index.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { loraModel } from './graphs.ts';
import { deviceOptions } from './run.ts';

const sizes = { n: 7, inF: 33, outF: 17, r: 3, bias: true };

describe('loadProgram / run', () => {
  it('records every step in one submit and reads nothing back', async () => {
    // run() leaves its steps in the device's open batch: the read of the output submits them with its copy.
    const device = await testDevice();
    const model = loraModel(sizes);
    const program = compileProgram(model.graph, deviceOptions(device));
    const p = await loadProgram(device, program);
    const feeds = { x: randomArray(7 * 33, 1), W: randomArray(17 * 33, 2), A: randomArray(3 * 33, 3), B: randomArray(17 * 3, 4), bias: randomArray(17, 5) };
    const before = { ...device.stats };
    const out = p.run(feeds);
    expect(device.stats.submits - before.submits).toBe(0);
    expect(device.stats.dispatches - before.dispatches).toBe(program.steps.length);
    expect(device.stats.readbacks - before.readbacks).toBe(0);
    expect(out.y!.shape).toEqual([7, 17]);
    const want = evaluate(model.graph, feeds).y!;
    expect(maxRelError(await device.read(out.y!), want)).toBeLessThan(1e-4);
    expect(device.stats.submits - before.submits).toBe(1);
    p.destroy();
  });

  it('keeps bound tensors (params on the device) across calls', async () => {
    const device = await testDevice();
    const model = loraModel(sizes);
    const p = await loadProgram(device, compileProgram(model.graph, deviceOptions(device)));
    const frozen = { W: randomArray(17 * 33, 2), bias: randomArray(17, 5) };
    const a = device.tensor([3, 33], randomArray(3 * 33, 3));
    const bTensor = device.tensor([17, 3], randomArray(17 * 3, 4));
    p.bind('A', a);
    p.bind('B', bTensor);
    p.write('W', frozen.W);
    p.write('bias', frozen.bias);
    for (let step = 0; step < 3; step++) {
      const x = randomArray(7 * 33, 10 + step);
      const newA = randomArray(3 * 33, 20 + step);
      device.write(a, newA); // an optimizer step, on the device
      const out = p.run({ x });
      const want = evaluate(model.graph, { ...frozen, x, A: newA, B: await device.read(bTensor) }).y!;
      expect(maxRelError(await device.read(out.y!), want), `step ${step}`).toBeLessThan(1e-4);
    }
    expect(p.tensor('A')).toBe(a);
    p.destroy();
    a.release();
    bTensor.release();
  });

  it('passes one program\'s output tensor to the next without a copy', async () => {
    const device = await testDevice();
    const first = (() => {
      const b = new GraphBuilder();
      b.output('h', b.relu(b.matmul(b.input('x', [4, 6]), b.param('W', [5, 6]), { transB: true })));
      return b.build();
    })();
    const second = (() => {
      const b = new GraphBuilder();
      const h = b.input('h', [4, 5]);
      b.output('y', b.sum(b.mul(h, h), 1));
      b.output('same', b.reshape(h, [20]));
      return b.build();
    })();
    const p1 = await loadProgram(device, compileProgram(first, deviceOptions(device)));
    const p2 = await loadProgram(device, compileProgram(second, deviceOptions(device)));
    const feeds = { x: randomArray(24, 1), W: randomArray(30, 2) };
    const h = p1.run(feeds).h!;
    const out = p2.run({ h });
    expect(out.same!.buffer).toBe(h.buffer); // an output that is an input is that input's buffer
    const hData = evaluate(first, feeds).h!;
    expect(maxRelError(await device.read(out.y!), evaluate(second, { h: hData }).y!)).toBeLessThan(1e-4);
    p1.destroy();
    p2.destroy();
  });

  it('says which inputs are missing and refuses tensors of the wrong shape', async () => {
    const device = await testDevice();
    const p = await loadProgram(device, compileProgram(loraModel(sizes).graph, deviceOptions(device)));
    expect(() => p.run({ x: randomArray(7 * 33, 1) })).toThrow(ProgramError);
    expect(() => p.run({ x: randomArray(7 * 33, 1) })).toThrow(/'W' \(frozen f32\[17, 33\]\)/);
    const wrong = device.zeros([3, 34]);
    expect(() => p.bind('A', wrong)).toThrow(ShapeError);
    expect(() => p.bind('nope', wrong)).toThrow(/no buffer named 'nope'/);
    wrong.release();
    p.destroy();
  });

  it('loads a program that went through JSON', async () => {
    const device = await testDevice();
    const model = loraModel({ ...sizes, p: 0.2 });
    const program = compileProgram(model.graph, deviceOptions(device));
    const copy = JSON.parse(JSON.stringify(program)) as Program;
    const feeds = { x: randomArray(7 * 33, 1), W: randomArray(17 * 33, 2), A: randomArray(3 * 33, 3), B: randomArray(17 * 3, 4), bias: randomArray(17, 5), seed: [9] };
    const [a, b] = await Promise.all([loadProgram(device, program), loadProgram(device, copy)]);
    const ya = await device.read(a.run(feeds).y!);
    const yb = await device.read(b.run(feeds).y!);
    expect(Array.from(yb)).toEqual(Array.from(ya));
    a.destroy();
    b.destroy();
  });
});
