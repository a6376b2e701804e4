import type { Device } from './device.ts';

export interface Timing {
  /** Median milliseconds per call of `work`. */
  medianMs: number;
  minMs: number;
  samples: number[];
}

/**
 * Times GPU work as seen from the host (no timestamp queries on the GL ES path): `work`
 * records dispatches, each sample runs it `inner` times and waits for the queue.
 * Warm-up runs first so pipeline compilation is never timed.
 */
export async function timeGpu(
  device: Device,
  work: () => void | Promise<void>,
  { warmup = 1, samples = 5, inner = 1 }: { warmup?: number; samples?: number; inner?: number } = {},
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) {
    await work();
    await device.sync();
  }
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) await work();
    await device.sync();
    times.push((performance.now() - t0) / inner);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)]!, minMs: sorted[0]!, samples: times };
}
