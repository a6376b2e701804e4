/** The theta layout: contiguous offsets in a stable order, trainable tensors only. */
import { describe, expect, it } from 'vitest';
import { evalDim } from '../../compiler/index.ts';
import { packTheta, thetaLayout, unpackTheta } from '../../compiler/lower/index.ts';
import { MLP_DIMS, USE_DIMS, example, network } from './helpers.ts';

describe('theta layout', () => {
  it('lays tensors back to back: offsets contiguous, p = the sum of sizes', () => {
    const t = thetaLayout([
      { path: 'a', shape: [2, 3] },
      { path: 'b', shape: [4] },
      { path: 'c', shape: [] },
    ]);
    expect(t.entries.map((e) => [e.path, e.offset, e.size])).toEqual([
      ['a', 0, 6],
      ['b', 6, 4],
      ['c', 10, 1],
    ]);
    expect(t.size).toBe(11);
  });

  it('for a finetune: the checker’s order (adapters per layer, then the head), frozen tensors left out', () => {
    const net = network(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS, posterior: false });
    const checkerOrder = example('mlp_classifier.swag').finetunes[0]!.theta.entries.map((e) => e.path);
    expect(net.theta.entries.map((e) => e.path)).toEqual(checkerOrder);
    let offset = 0;
    for (const e of net.theta.entries) {
      expect(e.offset).toBe(offset);
      expect(e.size).toBe(e.shape.reduce((a, b) => a * b, 1));
      offset += e.size;
    }
    const params = net.tensors.filter((t) => t.role === 'param');
    expect(net.theta.size).toBe(params.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0));
    expect(net.tensors.filter((t) => t.role === 'frozen').every((t) => t.theta === undefined)).toBe(true);
    expect(params.map((t) => t.theta!.offset)).toEqual(net.theta.entries.map((e) => e.offset));
    // The graphs list params in the same order.
    expect(net.forward.inputs.filter((i) => i.role === 'param').map((i) => i.name)).toEqual(checkerOrder);
  });

  it('matches the checker’s symbolic size at the finetune’s own sizes', () => {
    const ft = example('mlp_classifier.swag').finetunes[0]!;
    const net = network(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: { n: 2 }, posterior: false });
    expect(net.theta.size).toBe(evalDim(ft.theta.size, {}));
  });

  it('is stable: lowering twice gives the same layout and graphs', () => {
    const req = { kind: 'finetune', name: 'UseLiteSwag', dims: USE_DIMS } as const;
    const a = network(example('use_lite_classifier.swag'), req);
    const b = network(example('use_lite_classifier.swag'), req);
    expect(JSON.stringify(b.theta)).toBe(JSON.stringify(a.theta));
    expect(JSON.stringify(b.training)).toBe(JSON.stringify(a.training));
  });

  it('packs and unpacks per-tensor values', () => {
    const t = thetaLayout([
      { path: 'A', shape: [2, 2] },
      { path: 'B', shape: [3] },
    ]);
    const theta = packTheta(t, { A: [1, 2, 3, 4], B: [5, 6, 7] });
    expect([...theta]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...unpackTheta(t, theta).get('B')!]).toEqual([5, 6, 7]);
    expect(() => packTheta(t, { A: [1, 2, 3, 4], B: [5] })).toThrow(/B has 1 elements/);
  });
});
