/**
 * `npm run bench` keeps working: the suites that finish in seconds run here in full, the posterior-
 * averaging one with a single timing round. Only that each reports its named figures as finite
 * positive numbers is checked — tests never assert a time.
 */
import { describe, expect, it } from 'vitest';
import { benchBma } from '../../bench/bma.ts';
import { benchCompiler } from '../../bench/compiler.ts';
import { benchKernels } from '../../bench/kernels.ts';
import { benchLora } from '../../bench/lora.ts';
import { benchPaper } from '../../bench/paper.ts';
import type { BenchResult } from '../../bench/result.ts';
import { benchRuntime } from '../../bench/runtime.ts';
import { testDevice } from '../helpers/device.ts';

function expectFigures(results: BenchResult[], names: string[]): void {
  for (const name of names) {
    const r = results.find((x) => x.name === name);
    expect(r, name).toBeDefined();
    expect(Number.isFinite(r!.value) && r!.value > 0, `${name} = ${r!.value}`).toBe(true);
  }
}

describe('benchmark suites', () => {
  it('runtime', async () => {
    expectFigures(await benchRuntime(await testDevice()), ['dispatch.overhead_us', 'readback.roundtrip_ms']);
  });

  it('kernels', async () => {
    expectFigures(await benchKernels(await testDevice()), ['reduce.sum.gbps', 'philox.normals_per_s', 'swag.collect_ms.p1m', 'swag.sample_ms.p1m']);
  });

  it('lora: fused against unfused and against the base matmul', async () => {
    expectFigures(await benchLora(await testDevice()), ['lora.forward.fused_speedup', 'lora.forward.overhead']);
  });

  it('compiler: compile time and the DSL SWAG kernels', async () => {
    expectFigures(await benchCompiler(await testDevice()), ['compile.ms', 'swag.collect_ms', 'swag.sample_ms']);
  });

  it('bma: posterior-averaged prediction against MAP on the demo network', async () => {
    expectFigures(await benchBma(await testDevice(), { rounds: 1 }), ['bma.cost_ratio.s16', 'bma.map_ms', 'bma.s16_ms']);
    // It compiles USE-Lite and predicts 16 draws: 30-45 s alone on 2 cores, past 60 s under load.
  }, 180_000);

  it('paper: a training step, its efficiency, peak memory and the cost of S draws (tiny sizes)', async () => {
    expectFigures(await benchPaper(await testDevice(), { batch: 2, tokens: 4, draws: 2, rounds: 1 }), ['train.step_ms.paper', 'train.step_efficiency', 'train.peak_rss_mb.paper', 'bma.cost_ratio.paper.s2']);
  }, 180_000);
});
