import { compileProgram, type CompileOptions } from '../compiler/pipeline.ts';
import { GraphBuilder, type Graph } from '../compiler/ir/index.ts';
import { simplify } from '../compiler/passes/simplify.ts';
import type { ScheduleLimits } from '../compiler/schedule/types.ts';
import { type Device, type Tensor, loadProgram, timeGpu } from '../runtime/index.ts';
import type { BenchResult } from './result.ts';

/** The shapes the issue names: 512 tokens, a 512→512 layer, rank 8. */
const N = 512;
const IN = 512;
const OUT = 512;
const R = 8;

/** y = x·Wᵀ + (α/r)·((x·Aᵀ)·Bᵀ), or the base alone. */
function loraGraph(withAdapter: boolean): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [N, IN]);
  const w = b.frozen('W', [OUT, IN]);
  let y = b.matmul(x, w, { transB: true });
  if (withAdapter) {
    const a = b.param('A', [R, IN]);
    const bb = b.param('B', [OUT, R]);
    y = b.add(y, b.mul(b.matmul(b.matmul(x, a, { transB: true }), bb, { transB: true }), 16 / R));
  }
  b.output('y', y);
  return simplify(b.build());
}

function randomData(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/**
 * Median times of several programs, measured round-robin (one sample of each per round) so a
 * drift in the machine's speed lands on all of them alike and their ratios stay meaningful.
 */
async function timePrograms(device: Device, programs: { graph: Graph; options: CompileOptions }[], feeds: Record<string, Tensor>, rounds = 15): Promise<number[]> {
  const loaded = await Promise.all(programs.map((p) => loadProgram(device, compileProgram(p.graph, p.options))));
  for (const l of loaded) for (const name of l.inputNames()) l.bind(name, feeds[name]!);
  const samples: number[][] = loaded.map(() => []);
  for (let r = 0; r < rounds + 2; r++) {
    for (const [k, l] of loaded.entries()) {
      const t = await timeGpu(device, () => void l.run(), { warmup: 0, samples: 1, inner: 3 });
      if (r >= 2) samples[k]!.push(t.medianMs); // the first two rounds warm up
    }
  }
  for (const l of loaded) l.destroy();
  return samples.map((xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
}

/**
 * The fused LoRA forward against the same graph compiled one kernel per op, and against the
 * base matmul alone, side by side on the same device with the same data.
 */
export async function benchLora(device: Device): Promise<BenchResult[]> {
  const options: CompileOptions = { target: device.report.isCpu ? 'cpu' : 'gpu', limits: device.limits as unknown as ScheduleLimits };
  const feeds = {
    x: device.tensor([N, IN], randomData(N * IN, 1)),
    W: device.tensor([OUT, IN], randomData(OUT * IN, 2)),
    A: device.tensor([R, IN], randomData(R * IN, 3)),
    B: device.tensor([OUT, R], randomData(OUT * R, 4)),
  };
  const lora = loraGraph(true);
  const [fused, unfused, base] = (await timePrograms(device, [
    { graph: lora, options },
    { graph: lora, options: { ...options, fuse: false } },
    { graph: loraGraph(false), options },
  ], feeds)) as [number, number, number];
  for (const t of Object.values(feeds)) t.release();
  return [
    { name: 'lora.forward.fused_ms', value: fused, unit: 'ms' },
    { name: 'lora.forward.unfused_ms', value: unfused, unit: 'ms' },
    { name: 'lora.forward.base_ms', value: base, unit: 'ms' },
    { name: 'lora.forward.fused_speedup', value: unfused / fused, unit: '×' },
    { name: 'lora.forward.overhead', value: fused / base, unit: `× (ideal ${(1 + R / IN).toFixed(3)})` },
  ];
}
