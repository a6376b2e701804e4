import { describe, expect, it } from 'vitest';
import { REDUCE_OPS, type ReducePlan, checkPlan, planReduce, reduce, reduceDims, reduceWgsl } from '../../kernels/reduce.ts';
import { reduceCpu } from '../../kernels/cpu/reduce.ts';
import { LimitError, ShapeError } from '../../runtime/errors.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';

const CASES: { shape: number[]; axis: number | 'all' }[] = [
  { shape: [1], axis: 0 },
  { shape: [7], axis: 0 },
  { shape: [97], axis: -1 },
  { shape: [131], axis: 0 },
  { shape: [3001], axis: 0 },
  { shape: [7, 97], axis: 0 },
  { shape: [7, 97], axis: 1 },
  { shape: [3, 131, 5], axis: 1 },
  { shape: [2, 3, 4, 5], axis: 2 },
  { shape: [5, 1300], axis: -1 },
  { shape: [13, 311], axis: 'all' },
];

/** Each kernel shape, forced, so small tests cover what big tensors would pick. */
const FORCED: Record<string, (axis: number) => ReducePlan> = {
  thread: (n) => ({ strategy: 'thread', chunks: 1, chunkLength: n }),
  workgroup: (n) => ({ strategy: 'workgroup', chunks: 1, chunkLength: n }),
  'workgroup, 3 chunks': (n) => ({ strategy: 'workgroup', chunks: Math.ceil(n / Math.ceil(n / 3)), chunkLength: Math.ceil(n / 3) }),
  'thread, 4 chunks': (n) => ({ strategy: 'thread', chunks: Math.ceil(n / Math.ceil(n / 4)), chunkLength: Math.ceil(n / 4) }),
};

describe('planReduce', () => {
  it('loops per output for short axes or many outputs, and chunks long axes with few outputs', () => {
    expect(planReduce({ outer: 1000, axis: 64, inner: 1 }).strategy).toBe('thread');
    expect(planReduce({ outer: 100000, axis: 4096, inner: 1 }).strategy).toBe('thread');
    expect(planReduce({ outer: 1000, axis: 4096, inner: 1 })).toEqual({ strategy: 'workgroup', chunks: 1, chunkLength: 4096 });
    const long = planReduce({ outer: 1, axis: 1 << 20, inner: 1 });
    expect(long.strategy).toBe('workgroup');
    expect(long.chunks).toBeGreaterThan(1);
    expect(long.chunks * long.chunkLength).toBeGreaterThanOrEqual(1 << 20);
    // A loop per output never runs past llvmpipe's loop limit: a long axis is chunked instead.
    const tall = planReduce({ outer: 20000, axis: 100000, inner: 1 });
    expect(tall).toMatchObject({ strategy: 'thread', chunks: 4 });
    // llvmpipe: always loops, chunked until every core has work.
    const cpu = planReduce({ outer: 1, axis: 1 << 20, inner: 1 }, 'cpu');
    expect(cpu.strategy).toBe('thread');
    expect(cpu.chunks).toBeGreaterThanOrEqual(1024);
    expect(planReduce({ outer: 4096, axis: 1024, inner: 1 }, 'cpu')).toEqual({ strategy: 'thread', chunks: 1, chunkLength: 1024 });
  });

  it('views any axis as [outer, axis, inner]', () => {
    expect(reduceDims([2, 3, 4, 5], 2)).toEqual({ dims: { outer: 6, axis: 4, inner: 5 }, outShape: [2, 3, 5] });
    expect(reduceDims([2, 3], -1, true)).toEqual({ dims: { outer: 2, axis: 3, inner: 1 }, outShape: [2, 1] });
    expect(reduceDims([2, 3], 'all')).toEqual({ dims: { outer: 1, axis: 6, inner: 1 }, outShape: [] });
    expect(() => reduceDims([2, 3], 2)).toThrow(ShapeError);
    expect(() => reduceDims([2, 3], 2)).toThrow(/axis 2.*\[2, 3\]/);
  });

  it('keeps sizes out of the kernel text', () => {
    const text = reduceWgsl({ map: 'square', combine: 'add', finish: 'sqrt', strategy: 'workgroup', workgroupSize: 128 });
    expect(text).toContain('params.axis');
    expect(text).toBe(reduceWgsl({ map: 'square', combine: 'add', finish: 'sqrt', strategy: 'workgroup', workgroupSize: 128 }));
  });
});

describe('reductions', () => {
  for (const op of REDUCE_OPS) {
    it(`${op} matches the CPU reference on every axis, planned and forced`, async () => {
      const device = await testDevice();
      const pending: { label: string; result: Promise<import('../../runtime/tensor.ts').Tensor>; expected: Float32Array }[] = [];
      CASES.forEach(({ shape, axis }, k) => {
        const data = randomArray(shape.reduce((p, d) => p * d, 1), 31 * k + 1, 3);
        const x = device.tensor(shape, data);
        const expected = reduceCpu(data, shape, op, axis);
        pending.push({ label: `${shape} axis ${axis}`, result: reduce(device, x, op, { axis }), expected });
        const length = reduceDims(shape, axis).dims.axis;
        for (const [name, plan] of Object.entries(FORCED)) {
          pending.push({ label: `${shape} axis ${axis} (${name})`, result: reduce(device, x, op, { axis, plan: plan(length) }), expected });
        }
      });
      for (const { label, result, expected } of pending) {
        const out = await device.read(await result);
        expect(maxRelError(out, expected), label).toBeLessThan(1e-4);
      }
    });
  }

  it('sums long rows with error far below a sequential f32 sum', async () => {
    const device = await testDevice();
    const n = 100_003;
    const x = device.tensor([n], new Float32Array(n).fill(0.1));
    const exact = n * Math.fround(0.1);
    // 100,003 steps would pass llvmpipe's 65,535-iteration loop limit in one invocation: chunk it.
    expect(() => checkPlan(FORCED.thread!(n), n)).toThrow(LimitError);
    for (const plan of [FORCED['thread, 4 chunks']!(n), FORCED.workgroup!(n), undefined]) {
      const s = (await device.read(await reduce(device, x, 'sum', { axis: 0, plan })))[0]!;
      expect(Math.abs(s - exact) / exact).toBeLessThan(2e-6);
    }
  });

  it('keeps dims on request and handles empty axes', async () => {
    const device = await testDevice();
    const y = await reduce(device, device.tensor([2, 3], [1, 2, 3, 4, 5, 6]), 'mean', { axis: 1, keepDims: true });
    expect(y.shape).toEqual([2, 1]);
    expect(Array.from(await device.read(y))).toEqual([2, 5]);
    const empty = device.zeros([3, 0]);
    expect(Array.from(await device.read(await reduce(device, empty, 'sum', { axis: 1 })))).toEqual([0, 0, 0]);
    await expect(reduce(device, empty, 'max', { axis: 1 })).rejects.toThrow(/empty axis of \[3, 0\]/);
  });

  it('gives max of all-negative rows and -inf rows exactly', async () => {
    const device = await testDevice();
    const data = [-5, -3, -4, -Infinity, -Infinity, -Infinity];
    const out = await device.read(await reduce(device, device.tensor([2, 3], data), 'max', { axis: 1 }));
    expect(Array.from(out)).toEqual([-3, -Infinity]);
  });
});
