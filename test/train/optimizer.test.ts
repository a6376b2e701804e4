import { describe, expect, it } from 'vitest';
import type { Device, Tensor } from '../../runtime/index.ts';
import { AdamW, type AdamWOptions, OptimizerStateError } from '../../train/optimizer.ts';
import { learningRate } from '../../train/schedule.ts';
import { testDevice } from '../helpers/device.ts';
import { randomArray } from '../helpers/random.ts';

/**
 * f(p) = ½ Σ aᵢ (pᵢ − cᵢ)² over three named tensors: minimum at p = c, gradient a ⊙ (p − c),
 * curvatures a from 0.5 to 50 (ill-conditioned, so the step sizes matter).
 */
const SHAPES: Record<string, number[]> = { 'layer.A': [3, 5], 'layer.B': [7], bias: [1] };

interface Quadratic {
  a: Record<string, Float32Array>;
  c: Record<string, Float32Array>;
}

function quadratic(): Quadratic {
  const a: Record<string, Float32Array> = {};
  const c: Record<string, Float32Array> = {};
  Object.entries(SHAPES).forEach(([name, shape], k) => {
    const n = shape.reduce((x, y) => x * y, 1);
    a[name] = randomArray(n, 10 + k).map((x) => 0.5 + 49.5 * Math.abs(x));
    c[name] = randomArray(n, 20 + k, 2);
  });
  return { a, c };
}

function makeParams(device: Device, values?: Record<string, Float32Array>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(SHAPES).map(([name, shape]) => [name, values ? device.tensor(shape, values[name]!) : device.zeros(shape)]));
}

async function readAll(device: Device, tensors: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = (await device.read(t)) as Float32Array;
  return out;
}

/** The gradient at the parameters' current values, computed on the host in f32 and uploaded. */
async function gradients(device: Device, q: Quadratic, params: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const p = await readAll(device, params);
  return Object.fromEntries(Object.entries(p).map(([name, v]) => [name, device.tensor(params[name]!.shape, v.map((x, i) => q.a[name]![i]! * (x - q.c[name]![i]!)))]));
}

const SCHEDULE = { peak: 0.05, warmupSteps: 10, totalSteps: 300 };

/** Takes steps [from, to) of the schedule. */
async function run(device: Device, q: Quadratic, params: Record<string, Tensor>, optimizer: AdamW, from: number, to: number): Promise<void> {
  for (let step = from; step < to; step++) {
    const grads = await gradients(device, q, params);
    optimizer.step(grads, learningRate(step, SCHEDULE));
    for (const g of Object.values(grads)) g.release();
  }
}

describe('AdamW optimizer', () => {
  it('converges to the minimum of a quadratic, with clipping active early on', async () => {
    const device = await testDevice();
    const q = quadratic();
    const params = makeParams(device);
    const optimizer = await AdamW.create(device, params, { weightDecay: 0, maxGradNorm: 1 });
    await run(device, q, params, optimizer, 0, 1);
    expect(await optimizer.gradNorm()).toBeGreaterThan(1);
    await run(device, q, params, optimizer, 1, SCHEDULE.totalSteps);
    expect(optimizer.steps).toBe(SCHEDULE.totalSteps);
    const p = await readAll(device, params);
    for (const name of Object.keys(SHAPES)) {
      const worst = Math.max(...p[name]!.map((x, i) => Math.abs(x - q.c[name]![i]!)));
      expect(worst, name).toBeLessThan(1e-3);
    }
    optimizer.destroy();
  });

  it('reports the global gradient norm before clipping', async () => {
    const device = await testDevice();
    const q = quadratic();
    const params = makeParams(device);
    const optimizer = await AdamW.create(device, params, { maxGradNorm: 0.1 });
    await expect(optimizer.gradNorm()).rejects.toThrow(OptimizerStateError);
    const grads = await gradients(device, q, params);
    optimizer.step(grads, 0.01);
    let sumSq = 0;
    for (const g of Object.values(await readAll(device, grads))) for (const x of g) sumSq += x * x;
    expect(Math.abs((await optimizer.gradNorm()) - Math.sqrt(sumSq)) / Math.sqrt(sumSq)).toBeLessThan(1e-6);
    optimizer.destroy();
  });

  it('with zero gradients only decays the weights: p·(1 − lr·wd) per step', async () => {
    const device = await testDevice();
    const start = Object.fromEntries(Object.keys(SHAPES).map((name, k) => [name, randomArray(SHAPES[name]!.reduce((x, y) => x * y, 1), 40 + k)]));
    const params = makeParams(device, start);
    const zeros = makeParams(device);
    const optimizer = await AdamW.create(device, params, { weightDecay: 0.1 });
    for (let k = 0; k < 5; k++) optimizer.step(zeros, 0.2);
    const p = await readAll(device, params);
    for (const name of Object.keys(SHAPES)) {
      p[name]!.forEach((x, i) => expect(x).toBeCloseTo(start[name]![i]! * 0.98 ** 5, 6));
    }
    expect(await optimizer.gradNorm()).toBe(0);
    optimizer.destroy();
  });

  it('skips a step whose gradient is not finite and reports the non-finite norm', async () => {
    const device = await testDevice();
    const q = quadratic();
    const params = makeParams(device);
    const optimizer = await AdamW.create(device, params, { maxGradNorm: 1 });
    await run(device, q, params, optimizer, 0, 3);
    const before = await readAll(device, params);
    const stateBefore = await optimizer.state();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const grads = await gradients(device, q, params);
      device.write(grads['layer.B']!, Array.from({ length: 7 }, (_, i) => (i === 3 ? bad : 1)));
      optimizer.step(grads, 0.01);
      expect(Number.isFinite(await optimizer.gradNorm())).toBe(false);
      expect(await readAll(device, params)).toEqual(before);
      const { step: _, ...moments } = await optimizer.state();
      const { step: __, ...momentsBefore } = stateBefore;
      expect(moments).toEqual(momentsBefore);
    }
    optimizer.destroy();
  });

  it('resumes from exported state bit-identically to an uninterrupted run', async () => {
    const device = await testDevice();
    const q = quadratic();
    const options: AdamWOptions = { weightDecay: 0.05, maxGradNorm: 2 };
    // Uninterrupted: 12 steps.
    const straight = makeParams(device);
    const a = await AdamW.create(device, straight, options);
    await run(device, q, straight, a, 0, 12);
    // Interrupted after 5: parameters and optimizer state through the host, a fresh optimizer.
    const first = makeParams(device);
    const b = await AdamW.create(device, first, options);
    await run(device, q, first, b, 0, 5);
    const savedParams = await readAll(device, first);
    const savedState = await b.state();
    expect(Array.from(savedState.step!)).toEqual([5]);
    b.destroy();
    const resumed = makeParams(device, savedParams);
    const c = await AdamW.create(device, resumed, options);
    c.loadState(savedState);
    expect(c.steps).toBe(5);
    await run(device, q, resumed, c, 5, 12);
    expect(await readAll(device, resumed)).toEqual(await readAll(device, straight));
    expect(await c.state()).toEqual(await a.state());
    a.destroy();
    c.destroy();
  });

  it('rejects gradients and states that do not fit, changing nothing', async () => {
    const device = await testDevice();
    const params = makeParams(device);
    const optimizer = await AdamW.create(device, params);
    const grads = makeParams(device);
    expect(() => optimizer.step({ ...grads, extra: device.zeros([2]) }, 0.1)).toThrow(/unknown parameters: extra/);
    const { bias: _, ...missing } = grads;
    expect(() => optimizer.step(missing, 0.1)).toThrow(/no gradient for parameter 'bias'/);
    expect(() => optimizer.step({ ...grads, bias: device.zeros([2]) }, 0.1)).toThrow(OptimizerStateError);
    expect(() => optimizer.step(grads, Number.NaN)).toThrow(RangeError);
    expect(optimizer.steps).toBe(0);

    const state = await optimizer.state();
    expect(Object.keys(state).sort()).toEqual(['m.bias', 'm.layer.A', 'm.layer.B', 'step', 'v.bias', 'v.layer.A', 'v.layer.B']);
    const bad: Record<string, Float32Array>[] = [
      { ...state, 'm.layer.B': new Float32Array(6).fill(1) },
      { ...state, 'v.other': new Float32Array(1) },
      { ...state, step: Float32Array.of(2.5) },
    ];
    const { 'v.bias': __, ...noV } = state;
    bad.push(noV);
    for (const s of bad) expect(() => optimizer.loadState(s)).toThrow(OptimizerStateError);
    expect(await optimizer.state()).toEqual(state);
    optimizer.destroy();
    expect(() => optimizer.step(grads, 0.1)).toThrow(/after destroy/);
  });
});
