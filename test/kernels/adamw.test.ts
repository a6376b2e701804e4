import { describe, expect, it } from 'vitest';
import {
  type AdamWHyper,
  type AdamWSlot,
  CLIP_NORM_INDEX,
  CLIP_SCALE_INDEX,
  SumOfSquaresPlan,
  adamwKernels,
  adamwUpdate,
  clipScale,
  sumOfSquares,
} from '../../kernels/adamw.ts';
import { type AdamWSlotCpu, adamwUpdateCpu, clipScaleCpu, sumOfSquaresCpu } from '../../kernels/cpu/adamw.ts';
import { MAX_LOOP_ITERATIONS_PER_INVOCATION } from '../../kernels/limits.ts';
import { LimitError, ShapeError } from '../../runtime/errors.ts';
import { testDevice } from '../helpers/device.ts';
import { randomArray } from '../helpers/random.ts';

const SIZES = [1, 7, 97, 4099, 70000];
const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };

describe('AdamW CPU reference', () => {
  it('matches a two-step case computed by hand', () => {
    // p₀ = 1, m₀ = v₀ = 0, lr = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 0, wd = 0.1, no clipping.
    // Step 1, g = 0.5:  m = 0.1·0.5 = 0.05;  v = 0.001·0.25 = 0.00025;
    //   1 − β₁ = 0.1, √(1 − β₂) = √0.001;  √v/√0.001 = √0.25 = 0.5;
    //   p = 1·(1 − 0.1·0.1) − (0.1/0.1)·0.05/0.5 = 0.99 − 0.1 = 0.89.
    // Step 2, g = −0.25:  m = 0.9·0.05 + 0.1·(−0.25) = 0.045 − 0.025 = 0.02;
    //   v = 0.999·0.00025 + 0.001·0.0625 = 0.00024975 + 0.0000625 = 0.00031225;
    //   1 − β₁² = 0.19, 1 − β₂² = 1 − 0.998001 = 0.001999;
    //   √v/√0.001999 = √(0.00031225/0.001999) = √0.1562031016 = 0.3952253807;
    //   step = (0.1/0.19)·0.02/0.3952253807 = 0.5263157895·0.0506038678 = 0.0266337040;
    //   p = 0.89·0.99 − 0.0266337040 = 0.8811 − 0.0266337040 = 0.8544662960.
    const slot: AdamWSlotCpu = { param: Float64Array.of(1), m: new Float64Array(1), v: new Float64Array(1) };
    const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0.1 };
    adamwUpdateCpu(slot, [0.5], 1, { ...h, step: 1 });
    expect(slot.m[0]).toBeCloseTo(0.05, 12);
    expect(slot.v[0]).toBeCloseTo(0.00025, 12);
    expect(slot.param[0]).toBeCloseTo(0.89, 12);
    adamwUpdateCpu(slot, [-0.25], 1, { ...h, step: 2 });
    expect(slot.m[0]).toBeCloseTo(0.02, 12);
    expect(slot.v[0]).toBeCloseTo(0.00031225, 12);
    expect(slot.param[0]).toBeCloseTo(0.854466296, 9);
  });

  it('clips by the global norm and marks a non-finite norm with a NaN scale', () => {
    // g = [3, 4] → ‖g‖ = 5; maxNorm 1 → scale 1/(5 + 1e-6); maxNorm 10 → no clipping.
    expect(sumOfSquaresCpu([[3], [4]])).toBe(25);
    expect(clipScaleCpu(25, 1).norm).toBe(5);
    expect(clipScaleCpu(25, 1).scale).toBeCloseTo(1 / 5.000001, 15);
    expect(clipScaleCpu(25, 10)).toEqual({ scale: 1, norm: 5 });
    expect(clipScaleCpu(25, undefined)).toEqual({ scale: 1, norm: 5 });
    expect(clipScaleCpu(Infinity, 1).scale).toBeNaN();
    expect(clipScaleCpu(NaN, undefined).scale).toBeNaN();
  });
});

describe('sumOfSquares on the device', () => {
  it('sums the squares of several odd-sized tensors like the CPU reference', async () => {
    const device = await testDevice();
    const data = SIZES.map((n, i) => randomArray(n, 10 + i));
    const out = device.zeros([1]);
    await sumOfSquares(device, data.map((d, i) => device.tensor([SIZES[i]!], d)), out);
    const expected = sumOfSquaresCpu(data);
    expect(Math.abs((await device.read(out))[0]! - expected) / expected).toBeLessThan(1e-5);
  });

  it('gives the same bits every time, through many levels of partial sums', async () => {
    const device = await testDevice();
    const data = randomArray(70000, 3);
    const x = device.tensor([70000], data);
    // Chunks of 4: 17,500 → 4,375 → 1,094 → 274 → 69 → 18 → 5 → 2 → 1 partial sums.
    const results: number[] = [];
    for (let run = 0; run < 3; run++) {
      const out = device.zeros([1]);
      await sumOfSquares(device, [x], out, { chunkLength: 4 });
      results.push((await device.read(out))[0]!);
    }
    expect(new Set(results).size).toBe(1);
    const expected = sumOfSquaresCpu([data]);
    expect(Math.abs(results[0]! - expected) / expected).toBeLessThan(1e-5);
  });

  it('writes 0 for no elements and skips empty tensors', async () => {
    const device = await testDevice();
    const out = device.tensor([1], [123]);
    await sumOfSquares(device, [], out);
    expect((await device.read(out))[0]).toBe(0);
    await sumOfSquares(device, [device.zeros([0]), device.tensor([2], [3, 4]), device.zeros([0])], out);
    expect((await device.read(out))[0]).toBe(25);
  });

  it('refuses a chunk length past llvmpipe’s loop limit', async () => {
    const device = await testDevice();
    expect(() => new SumOfSquaresPlan(device, [10], MAX_LOOP_ITERATIONS_PER_INVOCATION)).toThrow(LimitError);
  });

  it('throws ShapeError for tensors other than the planned sizes', async () => {
    const device = await testDevice();
    const kernels = await adamwKernels(device);
    const plan = new SumOfSquaresPlan(device, [3, 5]);
    expect(() => plan.record(kernels, [device.zeros([3]), device.zeros([4])], device.zeros([1]))).toThrow(ShapeError);
    expect(() => plan.record(kernels, [device.zeros([3])], device.zeros([1]))).toThrow(/planned for sizes \[3, 5\], got tensors \[3\]/);
    plan.destroy();
  });
});

describe('clipScale on the device', () => {
  it('writes [scale, norm], and a NaN scale for a non-finite norm', async () => {
    const device = await testDevice();
    const out = device.zeros([2]);
    const cases: [number, number | undefined][] = [[25, 1], [25, 10], [25, undefined], [0, 1], [Infinity, 1], [NaN, undefined]];
    for (const [sumSq, maxNorm] of cases) {
      await clipScale(device, device.tensor([1], [sumSq]), maxNorm, out);
      const [scale, norm] = await device.read(out);
      const expected = clipScaleCpu(sumSq, maxNorm);
      expect(norm, `norm of ${sumSq}`).toBe(expected.norm);
      if (Number.isNaN(expected.scale)) expect(scale, `scale of ${sumSq}`).toBeNaN();
      else expect(scale, `scale of ${sumSq}, ${maxNorm}`).toBeCloseTo(expected.scale, 6);
    }
  });
});

/**
 * max |a − b| / max |b|: error relative to the tensor's scale. A parameter is its start plus a
 * sum of updates, so where it crosses zero its own relative error measures only that
 * cancellation; llvmpipe's sqrt and division (a few ulp, as WGSL allows) set the rest.
 */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(actual[i]!)) return Infinity;
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return worst / Math.max(scale, 1e-30);
}

/** Runs `steps` clipped AdamW steps over SIZES on both sides; returns the worst relative errors. */
async function runBoth(maxNorm: number | undefined, gradScale: number, steps: number): Promise<{ p: number; m: number; v: number; norm: number; clipped: boolean }> {
  const device = await testDevice();
  const gpu: AdamWSlot[] = [];
  const cpu: AdamWSlotCpu[] = [];
  SIZES.forEach((n, k) => {
    const p = randomArray(n, 100 + k);
    gpu.push({ param: device.tensor([n], p), grad: device.zeros([n]), m: device.zeros([n]), v: device.zeros([n]) });
    cpu.push({ param: Float64Array.from(p), m: new Float64Array(n), v: new Float64Array(n) });
  });
  const sumSq = device.zeros([1]);
  const clip = device.zeros([2]);
  let worstNorm = 0;
  let clipped = false;
  for (let step = 1; step <= steps; step++) {
    const grads = SIZES.map((n, k) => randomArray(n, 1000 * step + k, gradScale));
    grads.forEach((g, k) => device.write(gpu[k]!.grad, g));
    const hyper: AdamWHyper = { ...HYPER, lr: 0.01 * step, step };
    await sumOfSquares(device, gpu.map((s) => s.grad), sumSq);
    await clipScale(device, sumSq, maxNorm, clip);
    await adamwUpdate(device, gpu, clip, hyper);
    const reference = clipScaleCpu(sumOfSquaresCpu(grads), maxNorm);
    clipped ||= reference.scale < 1;
    cpu.forEach((s, k) => adamwUpdateCpu(s, grads[k]!, reference.scale, hyper));
    const norm = (await device.read(clip))[CLIP_NORM_INDEX]!;
    worstNorm = Math.max(worstNorm, Math.abs(norm - reference.norm) / reference.norm);
  }
  const worst = { p: 0, m: 0, v: 0 };
  for (const [k, s] of gpu.entries()) {
    worst.p = Math.max(worst.p, scaledError(await device.read(s.param), cpu[k]!.param));
    worst.m = Math.max(worst.m, scaledError(await device.read(s.m), cpu[k]!.m));
    worst.v = Math.max(worst.v, scaledError(await device.read(s.v), cpu[k]!.v));
  }
  return { ...worst, norm: worstNorm, clipped };
}

describe('AdamW update on the device', () => {
  it('matches the CPU reference over several steps with clipping active', async () => {
    // ‖g‖ ≈ √(Σn/3) ≈ 160 with gradients in [−1, 1): a max norm of 1 clips every step.
    const e = await runBoth(1, 1, 4);
    expect(e.clipped).toBe(true);
    for (const [what, err] of Object.entries({ p: e.p, m: e.m, v: e.v, norm: e.norm })) expect(err, what).toBeLessThan(1e-5);
  });

  it('matches the CPU reference over several steps with clipping inactive', async () => {
    // Gradients in [−1e-3, 1e-3): ‖g‖ ≈ 0.16, under the max norm of 1.
    const e = await runBoth(1, 1e-3, 4);
    expect(e.clipped).toBe(false);
    for (const [what, err] of Object.entries({ p: e.p, m: e.m, v: e.v, norm: e.norm })) expect(err, what).toBeLessThan(1e-5);
  });

  it('leaves parameter and moments untouched when the scale is not finite', async () => {
    const device = await testDevice();
    const p = randomArray(97, 5);
    const slot: AdamWSlot = { param: device.tensor([97], p), grad: device.tensor([97], randomArray(97, 6)), m: device.tensor([97], randomArray(97, 7)), v: device.zeros([97]) };
    const m = await device.read(slot.m);
    for (const bad of [NaN, Infinity]) {
      await adamwUpdate(device, [slot], device.tensor([1], [bad]), { ...HYPER, lr: 0.1, step: 3 });
      expect(await device.read(slot.param)).toEqual(p);
      expect(await device.read(slot.m)).toEqual(m);
      expect(await device.read(slot.v)).toEqual(new Float32Array(97));
    }
    // A finite scale at index 0 of a [scale, norm] buffer does update.
    const clip = device.tensor([2], [0.5, 2]);
    expect(CLIP_SCALE_INDEX).toBe(0);
    await adamwUpdate(device, [slot], clip, { ...HYPER, lr: 0.1, step: 3 });
    expect(await device.read(slot.param)).not.toEqual(p);
  });

  it('throws ShapeError for moments of another size', async () => {
    const device = await testDevice();
    const slot: AdamWSlot = { param: device.zeros([7]), grad: device.zeros([7]), m: device.zeros([6]), v: device.zeros([7]) };
    await expect(adamwUpdate(device, [slot], device.tensor([1], [1]), { ...HYPER, lr: 0.1, step: 1 })).rejects.toThrow(ShapeError);
  });
});
