/** The CPU initializers: PyTorch's fan-in conventions, determinism, seeded sharing, expressions. */
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../compiler/ir/index.ts';
import { fanIn, initBuiltin, initializeNetwork, kaimingUniformBound } from '../../compiler/lower/index.ts';
import { MLP_DIMS, checked, example, network, uniform } from './helpers.ts';

function stats(v: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length), min: Math.min(...v), max: Math.max(...v) };
}

describe('builtin initializers', () => {
  it('kaiming_uniform: uniform in ±√(6 / ((1 + a²)·fan_in)), fan_in the last axis (PyTorch)', () => {
    const a = Math.sqrt(5);
    const shape = [64, 50];
    expect(fanIn(shape)).toBe(50);
    const bound = kaimingUniformBound(a, 50);
    expect(bound).toBeCloseTo(1 / Math.sqrt(50), 12); // nn.Linear's 1/√fan_in
    const v = initBuiltin('kaiming_uniform', { a }, shape, { seed: 1, path: 'A' });
    const s = stats(v);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeGreaterThan(0.98 * bound);
    expect(s.min).toBeLessThan(-0.98 * bound);
    expect(s.std).toBeCloseTo(bound / Math.sqrt(3), 2);
  });

  it('zeros, ones and fill', () => {
    expect([...initBuiltin('zeros', {}, [2, 2])]).toEqual([0, 0, 0, 0]);
    expect([...initBuiltin('ones', {}, [3])]).toEqual([1, 1, 1]);
    expect([...initBuiltin('fill', { value: 0.1 }, [2])]).toEqual([Math.fround(0.1), Math.fround(0.1)]);
  });

  it('normal(std): mean and std within sampling error', () => {
    const n = 20000;
    const s = stats(initBuiltin('normal', { mean: 0, std: 0.02 }, [n], { seed: 3, path: 'head.weight' }));
    expect(Math.abs(s.mean)).toBeLessThan((4 * 0.02) / Math.sqrt(n));
    expect(Math.abs(s.std - 0.02)).toBeLessThan(0.02 * (4 / Math.sqrt(2 * n)));
  });

  it('kaiming_normal and xavier_uniform follow their fan conventions', () => {
    const kn = stats(initBuiltin('kaiming_normal', { a: 0 }, [200, 100], { seed: 4, path: 'w' }));
    expect(kn.std).toBeCloseTo(Math.sqrt(2 / 100), 2);
    const xu = stats(initBuiltin('xavier_uniform', { gain: 1 }, [30, 70], { seed: 5, path: 'w' }));
    expect(xu.max).toBeLessThanOrEqual(Math.sqrt(6 / 100));
  });

  it('unseeded draws depend on the run seed and the path; seeded ones on the seed alone', () => {
    const at = (seed: number, path: string) => initBuiltin('normal', {}, [16], { seed, path });
    expect(at(1, 'fc1.A')).toEqual(at(1, 'fc1.A'));
    expect(at(1, 'fc1.A')).not.toEqual(at(2, 'fc1.A'));
    expect(at(1, 'fc1.A')).not.toEqual(at(1, 'fc2.A'));
    const seeded = (run: number, path: string) => initBuiltin('kaiming_uniform', { a: Math.sqrt(5), seed: 1 }, [3, 7], { seed: run, path });
    expect(seeded(1, 'fc1.A')).toEqual(seeded(2, 'fc2.A'));
    expect(initBuiltin('kaiming_uniform', { a: Math.sqrt(5), seed: 2 }, [3, 7])).not.toEqual(seeded(1, 'x'));
  });
});

describe('initializing a lowered network', () => {
  it('VeRA on two layers: the same seeded frozen A and B on both, fresh trainable vectors', () => {
    const program = checked(`import "vera.swag"
model Two(d: dim = 6) {
  linear fc1: [d, d]
  linear fc2: [d, d]
  fn forward(x: [n, d]) -> [n, d] {
    return fc2(fc1(x))
  }
}
finetune TwoVeRA = Two() {
  adapt "fc*" with VeRA(r: 4)
}
`);
    const net = network(program, { kind: 'finetune', name: 'TwoVeRA', dims: { n: 2 } });
    expect(net.theta.entries.map((e) => e.path)).toEqual(['fc1.d', 'fc1.b', 'fc2.d', 'fc2.b']);
    const loaded = { 'fc1.weight': uniform(36, 1), 'fc2.weight': uniform(36, 2) };
    const v = initializeNetwork(net, { seed: 11, loaded });
    expect(v.get('fc1.A')).toEqual(v.get('fc2.A'));
    expect(v.get('fc1.B')).toEqual(v.get('fc2.B'));
    expect(v.get('fc1.A')).not.toEqual(v.get('fc1.B'));
    expect([...v.get('fc1.d')!]).toEqual(Array(4).fill(Math.fround(0.1)));
    expect(initializeNetwork(net, { seed: 12, loaded }).get('fc1.A')).toEqual(v.get('fc1.A'));
  });

  it('DoRA’s m = row_norm(W) is the row norms of the layer’s weight', () => {
    const program = checked(`import "dora.swag"
model One(d: dim = 5, e: dim = 3) {
  linear fc: [e, d] + bias
  fn forward(x: [n, d]) -> [n, e] {
    return fc(x)
  }
}
finetune OneDoRA = One() {
  adapt "fc" with DoRA(r: 2)
}
`);
    const net = network(program, { kind: 'finetune', name: 'OneDoRA', dims: { n: 2 } });
    const m = net.tensors.find((t) => t.path === 'fc.m')!;
    expect(m.init.kind).toBe('expr');
    if (m.init.kind === 'expr') expect(m.init.inputs).toEqual(['fc.weight']);
    const W = Float32Array.from(uniform(15, 3));
    const v = initializeNetwork(net, { seed: 1, loaded: { 'fc.weight': W, 'fc.bias': uniform(3, 4) } });
    const want = [0, 1, 2].map((o) => Math.fround(Math.hypot(...W.slice(o * 5, o * 5 + 5))));
    expect([...v.get('fc.m')!]).toEqual(want);
    // At initialization DoRA is the base layer: B = 0 and m = ‖W‖ per row.
    const x = uniform(10, 5);
    const feeds = Object.fromEntries([...v].map(([k, val]) => [k, val]));
    const y = evaluate(net.forward, { ...feeds, x }).y!;
    const base = Array.from({ length: 6 }, (_, k) => {
      const [i, o] = [Math.floor(k / 3), k % 3];
      let s = feeds['fc.bias']![o]!;
      for (let j = 0; j < 5; j++) s += x[i * 5 + j]! * W[o * 5 + j]!;
      return s;
    });
    for (let k = 0; k < 6; k++) expect(y[k]).toBeCloseTo(base[k]!, 6);
  });

  it('needs the checkpoint for loaded tensors and says which are missing', () => {
    const net = network(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS, posterior: false });
    expect(() => initializeNetwork(net, {})).toThrow(/fc1.weight, fc1.bias, fc2.weight, fc2.bias/);
  });
});
