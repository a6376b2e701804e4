import { describe, expect, it } from 'vitest';
import { PHILOX_WGSL, bernoulliMask, dropout, randomBits, randomNormal, randomUniform, seedKey } from '../../kernels/philox.ts';
import { bernoulliMaskCpu, philox4x32_10, randomBitsCpu, randomNormalCpu, randomUniformCpu } from '../../kernels/cpu/philox.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';

/** Known-answer vectors for Philox4x32-10 from Random123's kat_vectors: counter, key → output. */
const KAT: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

const SIZES = [1, 7, 97, 131, 3001];
/** Sampling bounds: a statistic more than this many standard errors from its expectation fails. */
const Z = 5;
const N = 100_000;

function meanVar(x: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - mean) ** 2;
  return { mean, variance: v / (x.length - 1) };
}

describe('Philox4x32-10 reference', () => {
  it('reproduces the Random123 known-answer vectors', () => {
    for (const [counter, key, expected] of KAT) expect(Array.from(philox4x32_10(counter, key))).toEqual(expected);
  });

  it('splits seeds into two u32 key words', () => {
    expect(seedKey(5)).toEqual([5, 0]);
    expect(seedKey(2 ** 32 + 7)).toEqual([7, 1]);
    expect(seedKey([0xffffffff, 3])).toEqual([0xffffffff, 3]);
    expect(() => seedKey(-1)).toThrow(/seed/);
  });
});

describe('Philox on the GPU', () => {
  it('reproduces the known-answer vectors in WGSL', async () => {
    const device = await testDevice();
    const kernel = await device.kernel({
      label: 'test.philox_kat',
      bindings: ['read', 'read_write'],
      wgsl: `${PHILOX_WGSL}
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@compute @workgroup_size(1)
fn main(@builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.x * 6u;
  let c = vec4<u32>(input[b], input[b + 1u], input[b + 2u], input[b + 3u]);
  let r = philox4x32_10(c, vec2<u32>(input[b + 4u], input[b + 5u]));
  for (var j = 0u; j < 4u; j++) { output[wid.x * 4u + j] = r[j]; }
}`,
    });
    const input = device.tensor([KAT.length * 6], KAT.flatMap(([c, k]) => [...c, ...k]), 'u32');
    const output = device.empty([KAT.length * 4], 'u32');
    device.dispatch(kernel, [input, output], [KAT.length]);
    expect(Array.from(await device.read(output))).toEqual(KAT.flatMap(([, , e]) => e));
  });

  it('produces exactly the CPU bits for the same seed, stream and offset', async () => {
    const device = await testDevice();
    const cases = SIZES.flatMap((n, k) =>
      [{ seed: 0 }, { seed: 12345 + k, stream: 3, offset: 17 }, { seed: [0xffffffff, 0xffffffff] as const, stream: 0xffffffff, offset: 0xffffffff }].map(
        (options) => ({ n, options, bits: randomBits(device, [n], options) }),
      ),
    );
    for (const { n, options, bits } of cases) {
      const expected = randomBitsCpu(n, { key: seedKey(options.seed), stream: options.stream, offset: options.offset });
      expect(Array.from(await device.read(await bits))).toEqual(Array.from(expected));
    }
    // Element 0..3 for seed 0, stream 0, offset 0 is the first known-answer vector.
    expect(Array.from(await device.read(await randomBits(device, [4], { seed: 0 })))).toEqual(KAT[0]![2]);
  });

  it('repeats for the same seed and differs for another seed, stream or offset', async () => {
    const device = await testDevice();
    const draw = async (options: Parameters<typeof randomUniform>[2]) => Array.from(await device.read(await randomUniform(device, [1000], options)));
    const base = await draw({ seed: 7 });
    expect(await draw({ seed: 7 })).toEqual(base);
    for (const other of [{ seed: 8 }, { seed: 7, stream: 1 }, { seed: 7, offset: 1 }, { seed: 7 + 2 ** 32 }]) {
      const values = await draw(other);
      // Independent uniforms agree in essentially no position.
      expect(values.filter((v, i) => v === base[i]).length, JSON.stringify(other)).toBeLessThan(5);
    }
  });

  it('draws uniforms strictly inside (0, 1), equal to the CPU values', async () => {
    const device = await testDevice();
    const u = await device.read(await randomUniform(device, [N], { seed: 99, stream: 2 }));
    expect(Array.from(u)).toEqual(Array.from(randomUniformCpu(N, { key: seedKey(99), stream: 2 })));
    expect(Math.min(...u)).toBeGreaterThan(0);
    expect(Math.max(...u)).toBeLessThan(1);
    // Uniform(0,1): mean 1/2, variance 1/12; SE of the mean √(1/12/N).
    const { mean } = meanVar(u);
    expect(Math.abs(mean - 0.5)).toBeLessThan(Z * Math.sqrt(1 / 12 / N));
  });

  it('draws standard normals matching the CPU reference and N(0, 1) statistics', async () => {
    const device = await testDevice();
    for (const n of SIZES) {
      const z = await device.read(await randomNormal(device, [n], { seed: n, stream: 1, offset: 2 }));
      expect(maxRelError(z, randomNormalCpu(n, { key: seedKey(n), stream: 1, offset: 2 })), `n = ${n}`).toBeLessThan(1e-4);
    }
    const a = await device.read(await randomNormal(device, [N], { seed: 2024 }));
    const b = await device.read(await randomNormal(device, [N], { seed: 2024, stream: 1 }));
    const { mean, variance } = meanVar(a);
    // SE of the sample mean is 1/√N; of the sample variance of a normal, √(2/(N−1)).
    expect(Math.abs(mean)).toBeLessThan(Z / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(Z * Math.sqrt(2 / (N - 1)));
    // Two streams are uncorrelated: the sample correlation of independent normals has SE ≈ 1/√N.
    const mb = meanVar(b);
    let cov = 0;
    for (let i = 0; i < N; i++) cov += (a[i]! - mean) * (b[i]! - mb.mean);
    const correlation = cov / (N - 1) / Math.sqrt(variance * mb.variance);
    expect(Math.abs(correlation)).toBeLessThan(Z / Math.sqrt(N));
    // Tails: P(|z| > 2) = 0.0455; a binomial proportion has SE √(p(1−p)/N).
    const tail = a.filter((v) => Math.abs(v) > 2).length / N;
    expect(Math.abs(tail - 0.0455)).toBeLessThan(Z * Math.sqrt((0.0455 * 0.9545) / N));
    // Mean and std are applied in-kernel.
    const shifted = await device.read(await randomNormal(device, [97], { seed: 2024, mean: 3, std: 0.5 }));
    expect(maxRelError(shifted, a.slice(0, 97).map((v) => 3 + 0.5 * v))).toBeLessThan(1e-5);
  });

  it('keeps each element with probability 1 − p, scaled by 1/(1 − p)', async () => {
    const device = await testDevice();
    for (const p of [0.1, 0.5, 0.9]) {
      const mask = await device.read(await bernoulliMask(device, [N], { p, seed: 5, stream: 4 }));
      expect(Array.from(mask)).toEqual(Array.from(bernoulliMaskCpu(N, p, { key: seedKey(5), stream: 4 })));
      const scale = Math.fround(1 / (1 - p));
      expect(mask.every((v) => v === 0 || v === scale)).toBe(true);
      const kept = mask.filter((v) => v !== 0).length / N;
      expect(Math.abs(kept - (1 - p)), `p = ${p}`).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / N));
    }
  });

  it('applies dropout with the same mask as bernoulliMask, and handles p = 0 and p = 1', async () => {
    const device = await testDevice();
    for (const n of SIZES) {
      const x = randomArray(n, n);
      const y = await device.read(await dropout(device, device.tensor([n], x), { p: 0.3, seed: 11, offset: n }));
      const mask = bernoulliMaskCpu(n, 0.3, { key: seedKey(11), offset: n });
      expect(maxRelError(y, x.map((v, i) => v * mask[i]!))).toBeLessThan(1e-6);
    }
    const x = randomArray(131, 1);
    expect(Array.from(await device.read(await dropout(device, device.tensor([131], x), { p: 0, seed: 1 })))).toEqual(Array.from(x));
    expect(Array.from(await device.read(await dropout(device, device.tensor([131], x), { p: 1, seed: 1 }))).every((v) => v === 0)).toBe(true);
    await expect(dropout(device, device.tensor([131], x), { p: 1.5, seed: 1 })).rejects.toThrow(/\[0, 1\]/);
  });
});
