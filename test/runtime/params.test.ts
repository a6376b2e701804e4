import { describe, expect, it } from 'vitest';
import { packParams } from '../../kernels/params.ts';

describe('packParams', () => {
  it('packs u32, i32 and f32 fields little-endian in order, padded to 16 bytes', () => {
    const bytes = packParams([{ u32: 7 }, { i32: -2 }, { f32: 1.5 }, { u32: 0xffffffff }, { f32: -0 }]);
    expect(bytes.byteLength).toBe(32);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getInt32(4, true)).toBe(-2);
    expect(view.getFloat32(8, true)).toBe(1.5);
    expect(view.getUint32(12, true)).toBe(0xffffffff);
    expect(Object.is(view.getFloat32(16, true), -0)).toBe(true);
    expect(packParams([]).byteLength).toBe(16);
  });
});
