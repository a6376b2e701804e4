import type { Device } from '../../runtime/device.ts';
import { ShapeError, formatShape } from '../../runtime/errors.ts';
import { ceilDiv } from '../../runtime/grid.ts';
import type { KernelSpec } from '../../runtime/kernel.ts';
import type { Tensor } from '../../runtime/tensor.ts';
import { packParams } from '../params.ts';

/**
 * The baseline: one thread per output element, a plain loop over K, no tiling. Kept as the
 * yardstick the tiled kernels are measured against (bench: matmul.naive.gflops.n512).
 */
export const NAIVE_MATMUL: KernelSpec = {
  label: 'matmul.naive',
  bindings: ['read', 'read', 'read_write', 'uniform'],
  wgsl: /* wgsl */ `
struct NaiveParams { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: NaiveParams;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  if (m >= p.M || n >= p.N) { return; }
  var sum = 0.0;
  for (var k = 0u; k < p.K; k++) {
    sum = fma(a[m * p.K + k], b[k * p.N + n], sum);
  }
  c[m * p.N + n] = sum;
}
`,
};

/** Records out = A·B for A [M, K], B [K, N] with the naive kernel. */
export async function naiveMatmul(device: Device, a: Tensor, b: Tensor, out?: Tensor): Promise<Tensor> {
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[1] !== b.shape[0]) {
    throw new ShapeError(`naive matmul: A is ${formatShape(a.shape)} but B is ${formatShape(b.shape)}; it takes A [M, K] and B [K, N]`);
  }
  const [M, K] = a.shape as [number, number];
  const N = b.shape[1]!;
  const c = out ?? device.empty([M, N]);
  if (c.size !== M * N) throw new ShapeError(`naive matmul: out is ${formatShape(c.shape)}, expected ${formatShape([M, N])}`);
  const kernel = await device.kernel(NAIVE_MATMUL);
  device.dispatch(kernel, [a, b, c, packParams([{ u32: M }, { u32: N }, { u32: K }])], [ceilDiv(N, 8), ceilDiv(M, 8)]);
  return c;
}
