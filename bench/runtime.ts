import { type Device, type KernelSpec, timeGpu } from '../runtime/index.ts';
import { packParams } from '../kernels/params.ts';
import type { BenchResult } from './result.ts';

const touch: KernelSpec = {
  label: 'bench.touch',
  bindings: ['read_write', 'uniform'],
  wgsl: /* wgsl */ `
struct Params { value: f32 }
@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@compute @workgroup_size(1)
fn main() { data[0] = data[0] + params.value; }`,
};

/** Per-dispatch cost of a trivial kernel, and the cost of one submit + map + read. */
export async function benchRuntime(device: Device): Promise<BenchResult[]> {
  const kernel = await device.kernel(touch);
  const t = device.zeros([4]);
  const uniform = packParams([{ f32: 1 }]);
  const dispatches = 500;
  const batch = await timeGpu(device, () => {
    for (let i = 0; i < dispatches; i++) device.dispatch(kernel, [t, uniform], [1]);
  }, { warmup: 2, samples: 7 });
  const empty = await timeGpu(device, () => device.dispatch(kernel, [t, uniform], [1]), { warmup: 2, samples: 15 });
  const readback = await timeGpu(device, async () => {
    device.dispatch(kernel, [t, uniform], [1]);
    await device.read(t);
  }, { warmup: 3, samples: 21 });
  t.release();
  return [
    { name: 'dispatch.overhead_us', value: ((batch.medianMs - empty.medianMs) / (dispatches - 1)) * 1e3, unit: 'µs' },
    { name: 'submit.sync_ms', value: empty.medianMs, unit: 'ms' },
    { name: 'readback.roundtrip_ms', value: readback.medianMs, unit: 'ms' },
  ];
}
