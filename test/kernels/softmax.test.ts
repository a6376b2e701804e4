import { describe, expect, it } from 'vitest';
import { type RowStrategy, crossEntropy, crossEntropyBackward, planRows, softmax, softmaxBackward, softmaxWgsl } from '../../kernels/softmax.ts';
import { crossEntropyBackwardCpu, crossEntropyCpu, softmaxBackwardCpu, softmaxCpu } from '../../kernels/cpu/softmax.ts';
import { ShapeError } from '../../runtime/errors.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray, rng } from '../helpers/random.ts';

const SHAPES = [[1], [7], [97], [3, 131], [2, 5, 7], [4, 1000], [257, 3]];
const STRATEGIES: (RowStrategy | undefined)[] = [undefined, 'thread', 'workgroup'];
const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Logits with a few extreme entries (±1e4) mixed in. */
function logits(shape: readonly number[], seed: number, extreme = false): Float32Array {
  const x = randomArray(size(shape), seed, 5);
  if (extreme) x.forEach((_, i) => { if (i % 5 === 0) x[i] = i % 10 === 0 ? 1e4 : -1e4; });
  return x;
}

function labelsFor(rows: number, cols: number, seed: number, ignored = 0): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: rows }, (_, i) => (i < ignored ? -100 : Math.floor(r() * cols)));
}

describe('planRows', () => {
  it('loops per row for short or plentiful rows, and never past the loop limit', () => {
    expect(planRows(1000, 10, 2)).toBe('thread');
    expect(planRows(64, 4096, 2)).toBe('workgroup');
    expect(planRows(100000, 128, 2)).toBe('thread');
    expect(planRows(4096, 512, 2, 'cpu')).toBe('thread');
    expect(planRows(4, 50000, 2, 'cpu')).toBe('workgroup');
    expect(() => planRows(1, 1e8, 2)).toThrow(/longer than one workgroup/);
  });

  it('generates byte-stable kernel text per config', () => {
    const config = { strategy: 'workgroup' as const, maskRank: 2, keep: 'i32' as const, keepRank: 2 };
    expect(softmaxWgsl(config)).toBe(softmaxWgsl({ ...config }));
    expect(softmaxWgsl(config)).toContain('keep_row_offset');
  });
});

describe('softmax', () => {
  for (const strategy of STRATEGIES) {
    it(`matches the CPU reference, extreme logits included (${strategy ?? 'planned'})`, async () => {
      const device = await testDevice();
      const cases = SHAPES.flatMap((shape, k) =>
        [false, true].map((extreme) => {
          const x = logits(shape, k + 1, extreme);
          return { shape, x, y: softmax(device, device.tensor(shape, x), { strategy }) };
        }),
      );
      for (const { shape, x, y } of cases) {
        const out = await device.read(await y);
        expect(maxRelError(out, softmaxCpu({ data: x, shape })), `${shape}`).toBeLessThan(1e-4);
      }
    });
  }

  it('adds a broadcast additive mask, −inf and −1e9 entries included', async () => {
    const device = await testDevice();
    const xShape = [2, 3, 5, 131];
    const x = logits(xShape, 3, true);
    for (const maskShape of [[131], [5, 131], [2, 1, 1, 131], [2, 3, 5, 131], [5, 1]]) {
      const m = randomArray(size(maskShape), 9, 2);
      m.forEach((_, i) => { if (i % 7 === 3) m[i] = i % 2 ? -Infinity : -1e9; });
      for (const strategy of ['thread', 'workgroup'] as const) {
        const y = await softmax(device, device.tensor(xShape, x), { mask: device.tensor(maskShape, m), strategy });
        const expected = softmaxCpu({ data: x, shape: xShape }, { mask: { data: m, shape: maskShape } });
        expect(maxRelError(await device.read(y), expected), `mask ${maskShape} (${strategy})`).toBeLessThan(1e-4);
      }
    }
  });

  it('excludes padded keys, and a fully padded row comes out all zeros', async () => {
    const device = await testDevice();
    const xShape = [3, 2, 97];
    const x = logits(xShape, 4);
    const keep = Int32Array.from({ length: 3 * 97 }, (_, i) => (i >= 2 * 97 ? 0 : i % 97 < 60 + 17 * Math.floor(i / 97) ? 1 : 0));
    for (const dtype of ['i32', 'f32'] as const) {
      for (const strategy of ['thread', 'workgroup'] as const) {
        const y = await softmax(device, device.tensor(xShape, x), { keyPaddingMask: device.tensor([3, 97], keep, dtype), strategy });
        const out = await device.read(y);
        expect(maxRelError(out, softmaxCpu({ data: x, shape: xShape }, { keyPaddingMask: { data: keep, shape: [3, 97] } }))).toBeLessThan(1e-4);
        expect(out.slice(4 * 97).every((v) => v === 0)).toBe(true);
      }
    }
  });

  it('throws ShapeError naming both shapes for a mask that does not fit', async () => {
    const device = await testDevice();
    const x = device.zeros([4, 7]);
    await expect(softmax(device, x, { mask: device.zeros([3, 7]) })).rejects.toThrow(ShapeError);
    await expect(softmax(device, x, { mask: device.zeros([3, 7]) })).rejects.toThrow(/\[3, 7\].*\[4, 7\]/);
    await expect(softmax(device, x, { keyPaddingMask: device.zeros([4, 6], 'i32') })).rejects.toThrow(/\[batch, cols\].*\[4, 7\].*\[4, 6\]/);
  });
});

describe('softmax backward', () => {
  for (const strategy of STRATEGIES) {
    it(`dx = y ⊙ (dy − Σ dy ⊙ y) matches the CPU reference (${strategy ?? 'planned'})`, async () => {
      const device = await testDevice();
      for (const [k, shape] of SHAPES.entries()) {
        const y = softmaxCpu({ data: logits(shape, k), shape });
        const dy = randomArray(size(shape), k + 100);
        const dx = await softmaxBackward(device, device.tensor(shape, y), device.tensor(shape, dy), { strategy });
        expect(maxRelError(await device.read(dx), softmaxBackwardCpu(y, dy, shape)), `${shape}`).toBeLessThan(1e-4);
      }
    });
  }

  it('throws ShapeError naming both shapes', async () => {
    const device = await testDevice();
    await expect(softmaxBackward(device, device.zeros([2, 3]), device.zeros([3, 2]))).rejects.toThrow(/\[2, 3\].*\[3, 2\]/);
  });
});

describe('CPU backward references', () => {
  /** Central differences of a scalar function of x, stepped in f64 (the forwards round only their outputs to f32). */
  function numericGradient(x: Float32Array, f: (x: Float64Array) => number, h = 1e-2): Float32Array {
    return x.map((_, i) => {
      const plus = Float64Array.from(x), minus = Float64Array.from(x);
      plus[i]! += h;
      minus[i]! -= h;
      return (f(plus) - f(minus)) / (2 * h);
    });
  }

  /** max |a − b| / max |b|: the f32-rounded forwards leave noise that per-entry relative error would magnify. */
  const normError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let worst = 0, scale = 0;
    for (let i = 0; i < b.length; i++) {
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    return worst / scale;
  };

  it('agree with finite differences of the forward references', () => {
    const shape = [3, 7];
    const x = randomArray(21, 1);
    const dy = randomArray(21, 2);
    const y = softmaxCpu({ data: x, shape });
    const softmaxLoss = (v: Float64Array) => softmaxCpu({ data: v, shape }).reduce((s, p, i) => s + p * dy[i]!, 0);
    expect(normError(softmaxBackwardCpu(y, dy, shape), numericGradient(x, softmaxLoss))).toBeLessThan(1e-3);
    const labels = Int32Array.of(4, -100, 0);
    const ceLoss = (v: Float64Array) => 2.5 * crossEntropyCpu({ data: v, shape }, labels).mean;
    expect(normError(crossEntropyBackwardCpu({ data: x, shape }, labels, 2.5), numericGradient(x, ceLoss))).toBeLessThan(1e-3);
  });
});

describe('cross-entropy', () => {
  const CE_SHAPES = [[1, 1], [7, 3], [97, 10], [131, 7], [2, 3, 131], [3, 3000]];

  for (const strategy of STRATEGIES) {
    it(`forward losses and mean match the CPU reference, extreme logits included (${strategy ?? 'planned'})`, async () => {
      const device = await testDevice();
      for (const [k, shape] of CE_SHAPES.entries()) {
        for (const extreme of [false, true]) {
          const x = logits(shape, k + 7, extreme);
          const rows = size(shape.slice(0, -1));
          const labels = labelsFor(rows, shape[shape.length - 1]!, k, rows > 3 ? 2 : 0);
          const { losses, mean } = await crossEntropy(device, device.tensor(shape, x), device.tensor(shape.slice(0, -1), labels, 'i32'), { strategy });
          const expected = crossEntropyCpu({ data: x, shape }, labels);
          expect(losses.shape).toEqual(shape.slice(0, -1));
          expect(maxRelError(await device.read(losses), expected.losses), `${shape}`).toBeLessThan(1e-4);
          expect(maxRelError(await device.read(mean), [expected.mean]), `${shape}`).toBeLessThan(1e-4);
        }
      }
    });

    it(`backward (softmax − onehot)/n matches the CPU reference (${strategy ?? 'planned'})`, async () => {
      const device = await testDevice();
      for (const [k, shape] of CE_SHAPES.entries()) {
        const x = logits(shape, k + 70, k % 2 === 1);
        const rows = size(shape.slice(0, -1));
        const labels = labelsFor(rows, shape[shape.length - 1]!, k + 1, rows > 3 ? 1 : 0);
        const upstream = k % 2 === 0 ? undefined : device.tensor([1], [2.5]);
        const dx = await crossEntropyBackward(device, device.tensor(shape, x), device.tensor(shape.slice(0, -1), labels, 'i32'), { upstream, strategy });
        expect(maxRelError(await device.read(dx), crossEntropyBackwardCpu({ data: x, shape }, labels, upstream ? 2.5 : 1)), `${shape}`).toBeLessThan(1e-4);
      }
    });
  }

  it('gives the exact loss of a confident prediction at ±1e4 without overflow', async () => {
    const device = await testDevice();
    const x = [1e4, -1e4, 0, -1e4, 1e4, 1e4];
    const { losses, mean } = await crossEntropy(device, device.tensor([2, 3], x), device.tensor([2], [0, 2], 'i32'));
    const out = await device.read(losses);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(Math.log(2), 6);
    expect((await device.read(mean))[0]).toBeCloseTo(Math.log(2) / 2, 6);
  });

  it('checks label shape and dtype, naming both shapes', async () => {
    const device = await testDevice();
    await expect(crossEntropy(device, device.zeros([4, 7]), device.zeros([5], 'i32'))).rejects.toThrow(/\[5\].*\[4\].*\[4, 7\]/);
    await expect(crossEntropy(device, device.zeros([4, 7]), device.zeros([4]))).rejects.toThrow(/i32/);
  });
});
