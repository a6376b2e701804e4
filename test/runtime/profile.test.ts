/** The profiling mode: recorded dispatches, replayed alone, grouped by family. Never asserts a time. */
import { describe, expect, it } from 'vitest';
import { binary } from '../../kernels/elementwise.ts';
import { byFamily, formatProfile, kernelFamily, profileWork, shortLabel } from '../../runtime/index.ts';
import { testDevice } from '../helpers/device.ts';

describe('profile', () => {
  it('families from labels', () => {
    expect(kernelFamily('matmul %24 @ a.swag:1:2 | matmul %29 @ b.swag:3:4')).toBe('matmul');
    expect(kernelFamily('fusedMatmul %80 @ lora.swag:9:12 [reg16x16]')).toBe('matmul');
    expect(kernelFamily('fusedElementwise kh%34 @ x.swag:33:12')).toBe('elementwise');
    expect(kernelFamily('layerNorm y%27 @ x.swag:38:13')).toBe('norm');
    expect(kernelFamily('mean.pass0 %146 @ x.swag:57:25')).toBe('reduce');
    expect(kernelFamily('fusedSoftmax %61 @ x.swag:44:19')).toBe('softmax');
    expect(kernelFamily('adamw.update')).toBe('optimizer');
    expect(kernelFamily('swag.collect')).toBe('swag');
    expect(kernelFamily('fusedLowRank %3 @ swag.swag:9:3')).toBe('lowRank');
    expect(shortLabel('matmul %24 @ /a/b/use.swag:87:13 | matmul %29 @ /a/lora.swag:9:12 [reg4x4.w8x8]')).toBe('matmul %24 @ use.swag:87:13 (+1) [reg4x4.w8x8]');
  });

  it('records the dispatches of some work and times each one alone', async () => {
    const device = await testDevice();
    const a = device.tensor([1000], new Float32Array(1000).fill(1));
    const b = device.tensor([1000], new Float32Array(1000).fill(2));
    const made: { release(): void }[] = [];
    const profile = await profileWork(device, async () => {
      made.push(await binary(device, a, b, 'add'));
      made.push(await binary(device, a, b, 'mul'));
    }, { reps: 1, rounds: 1 });
    expect(profile.kernels).toHaveLength(2);
    for (const k of profile.kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
    expect(byFamily(profile).map((f) => f.family)).toEqual(['elementwise']);
    expect(formatProfile(profile)).toContain('| elementwise |');
    for (const t of [a, b, ...made]) t.release();
  });
});
