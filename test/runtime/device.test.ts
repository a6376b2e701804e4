import { describe, expect, it } from 'vitest';
import { KernelError, LimitError, ShapeError, UNIFORM_CACHE_LIMIT, foldGrid, type KernelSpec } from '../../runtime/index.ts';
import { testDevice } from '../helpers/device.ts';

const addOne: KernelSpec = {
  label: 'test.add_scalar',
  bindings: ['read', 'read_write', 'uniform'],
  wgsl: /* wgsl */ `
struct Params { n: u32, value: f32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.n) { dst[gid.x] = src[gid.x] + params.value; }
}`,
};

function params(n: number, value: number): ArrayBuffer {
  const buf = new ArrayBuffer(8);
  new Uint32Array(buf, 0, 1)[0] = n;
  new Float32Array(buf, 4, 1)[0] = value;
  return buf;
}

describe('device', () => {
  it('reports the adapter it chose', async () => {
    const device = await testDevice();
    expect(device.describe()).toMatch(/via/);
    expect(device.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });

  it('uploads, dispatches and reads back', async () => {
    const device = await testDevice();
    const n = 131;
    const data = Array.from({ length: n }, (_, i) => i * 0.5);
    const src = device.tensor([n], data);
    const dst = device.empty([n]);
    const kernel = await device.kernel(addOne);
    device.dispatch(kernel, [src, dst, new Uint8Array(params(n, 2))], [Math.ceil(n / 64)]);
    const out = await device.read(dst);
    expect(Array.from(out)).toEqual(data.map((v) => v + 2));
  });

  it('runs many dispatches in one submit, in order', async () => {
    const device = await testDevice();
    const n = 7;
    const a = device.tensor([n], new Array(n).fill(0));
    const b = device.empty([n]);
    const kernel = await device.kernel(addOne);
    const before = device.stats.submits;
    for (let i = 0; i < 10; i++) {
      device.dispatch(kernel, [a, b, new Uint8Array(params(n, 1))], [1]);
      device.dispatch(kernel, [b, a, new Uint8Array(params(n, 0))], [1]);
    }
    const out = await device.read(a);
    expect(Array.from(out)).toEqual(new Array(n).fill(10));
    expect(device.stats.submits - before).toBe(1);
  });

  it('keeps both uniforms of a dispatch alive when the uniform cache fills up between them', async () => {
    const device = await testDevice();
    const spec: KernelSpec = {
      label: 'two-uniforms',
      bindings: ['read_write', 'uniform', 'uniform'],
      wgsl: `struct A { x: f32 }
struct B { y: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> a: A;
@group(0) @binding(2) var<uniform> b: B;
@compute @workgroup_size(1) fn main() { out[0] = out[0] + a.x * b.y; }`,
    };
    const kernel = await device.kernel(spec);
    const out = device.zeros([1]);
    const one = new Float32Array([1, 0, 0, 0]);
    // `a` stays cached from the first dispatch; each `b` is new, so the cache fills mid-dispatch.
    for (let i = 0; i < UNIFORM_CACHE_LIMIT + 50; i++) device.dispatch(kernel, [out, one, new Float32Array([1, i, 0, 0])], [1]);
    expect((await device.read(out))[0]).toBe(UNIFORM_CACHE_LIMIT + 50);
    out.release();
  });

  it('caches pipelines by their WGSL', async () => {
    const device = await testDevice();
    const k1 = await device.kernel(addOne);
    const k2 = await device.kernel({ ...addOne });
    expect(k2).toBe(k1);
  });

  it('reuses released buffers from the pool', async () => {
    const device = await testDevice();
    const t = device.zeros([100]);
    const buffer = t.buffer;
    t.release();
    const u = device.empty([120]);
    expect(u.buffer).toBe(buffer);
    u.release();
  });

  it('names the kernel and the line when WGSL does not compile', async () => {
    const device = await testDevice();
    const bad = { ...addOne, label: 'test.broken', wgsl: addOne.wgsl.replace('params.value', 'params.missing') };
    await expect(device.kernel(bad)).rejects.toThrow(KernelError);
    await expect(device.kernel(bad)).rejects.toThrow(/test\.broken[\s\S]*missing/);
  });

  it('rejects data that does not fit the shape, naming both', async () => {
    const device = await testDevice();
    expect(() => device.tensor([2, 3], [1, 2, 3])).toThrow(ShapeError);
    expect(() => device.tensor([2, 3], [1, 2, 3])).toThrow(/length 3.*\[2, 3\].*6/);
    const t = device.zeros([6]);
    expect(() => t.reshape([4, 2])).toThrow(/\[6\].*\[4, 2\]/);
  });

  it('rejects a tensor larger than a storage binding, naming the sizes', async () => {
    const device = await testDevice();
    const max = device.limits.maxStorageBufferBindingSize;
    expect(() => device.empty([max / 4 + 1])).toThrow(LimitError);
    expect(() => device.empty([max / 4 + 1])).toThrow(/maxStorageBufferBindingSize/);
  });

  it('rejects grids past the per-dimension limit and folds big grids', async () => {
    const device = await testDevice();
    const kernel = await device.kernel(addOne);
    const t = device.zeros([4]);
    expect(() => device.dispatch(kernel, [t, device.zeros([4]), new Uint8Array(params(4, 0))], [70000])).toThrow(/test\.add_scalar.*70000/);
    expect(foldGrid(10)).toEqual([10, 1, 1]);
    const [x, y, z] = foldGrid(200_000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y * z).toBeGreaterThanOrEqual(200_000);
  });

  it('surfaces a validation error at sync, naming the kernel', async () => {
    const device = await testDevice();
    const kernel = await device.kernel(addOne);
    const t = device.zeros([4]);
    // The same buffer bound read-only and writable in one dispatch is invalid in WebGPU.
    device.dispatch(kernel, [t, t, new Uint8Array(params(4, 0))], [1]);
    await expect(device.sync()).rejects.toThrow(/test\.add_scalar/);
    await device.sync();
  });
});
