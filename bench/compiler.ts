/**
 * The compiler end to end, and the SWAG programs it emits against the hand-written kernels.
 *
 * - `compile.ms`: the transformer finetune (UseLiteSwagFull: LoRA inside layer 1 and on the pooling layer) source (examples/use_lite_classifier.swag with its imports)
 *   → WGSL programs: checkSource + lowerProgram + simplify + compileProgram of the forward,
 *   training, posterior collect and posterior sample graphs; median of 3.
 * - `swag.*`: SWAG (examples/swag.swag, K = 20) over the transformer finetune's own trainable
 *   parameters (UseLiteSwagFull: LoRA in layer 1 and the pooling layer, and the head; p = 66,562)
 *   — the DSL-compiled collect and sample programs (one kernel each), and the fused kernels of
 *   kernels/swag.ts on the same p.
 */
import { existsSync, readFileSync } from 'node:fs';
import { checkSource } from '../compiler/index.ts';
import { compileProgram, type CompileOptions } from '../compiler/pipeline.ts';
import { formatLowerDiagnostic, lowerProgram, type LoweredNetwork, type LoweredPosterior } from '../compiler/lower/index.ts';
import { simplify } from '../compiler/passes/simplify.ts';
import type { ScheduleLimits } from '../compiler/schedule/types.ts';
import { createSwagState, swagCollect, swagSample } from '../kernels/swag.ts';
import { type Device, type Program, loadProgram, timeGpu } from '../runtime/index.ts';
import type { BenchResult } from './result.ts';

const FILE = 'examples/use_lite_classifier.swag';
const K = 20;
/** The finetune's own sizes (vocab 8000, d1 256, d2 512, …) and a per-call batch of b × t tokens. */
const CALL = { b: 8, t: 64 };

const readFile = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);

interface Compiled {
  network: LoweredNetwork;
  posterior: LoweredPosterior;
  programs: Program[];
}

/** Source text → the four programs of the finetune. */
function compileUseLite(text: string, options: CompileOptions): Compiled {
  const checked = checkSource(text, FILE, { readFile });
  if (checked.diagnostics.length) throw new Error(`${FILE}: ${checked.diagnostics.map((d) => d.message).join('; ')}`);
  const r = lowerProgram(checked.program, { kind: 'finetune', name: 'UseLiteSwagFull', dims: CALL, posterior: { dims: { K } } });
  if (!r.ok) throw new Error(r.errors.map(formatLowerDiagnostic).join('\n'));
  const network = r.network!;
  const posterior = r.posterior!;
  const graphs = [network.forward, ...(network.training ? [network.training] : []), posterior.collect, posterior.sample];
  return { network, posterior, programs: graphs.map((g) => compileProgram(simplify(g), options)) };
}

/** Median ms per call of each task, timed round-robin: `inner` calls and a sync per sample. */
async function roundRobin(device: Device, tasks: (() => void | Promise<void>)[], { rounds = 9, inner = 3, warmup = 2 } = {}): Promise<number[]> {
  const samples: number[][] = tasks.map(() => []);
  for (let r = 0; r < warmup + rounds; r++) {
    for (const [k, task] of tasks.entries()) {
      const t = await timeGpu(device, task, { warmup: 0, samples: 1, inner });
      if (r >= warmup) samples[k]!.push(t.medianMs);
    }
  }
  return samples.map(median);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function randomData(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 2 ** 31 - 1) * scale;
  });
}

export async function benchCompiler(device: Device): Promise<BenchResult[]> {
  const options: CompileOptions = { target: device.report.isCpu ? 'cpu' : 'gpu', limits: device.limits as unknown as ScheduleLimits };
  const text = readFileSync(FILE, 'utf8');
  const times: number[] = [];
  let compiled: Compiled | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    compiled = compileUseLite(text, options);
    times.push(performance.now() - t0);
  }
  const { network, programs } = compiled!;
  const thetaSize = network.theta.size;
  const kernels = programs.reduce((n, prog) => n + prog.kernels.length, 0);
  const steps = programs.reduce((n, prog) => n + prog.steps.length, 0);
  const sizes = `b ${CALL.b}, t ${CALL.t}, K ${K}`;

  // The DSL-compiled SWAG programs, statistics bound on the device (a full ring: every row of D
  // filled); the sampler draws its own noise.
  const p = thetaSize;
  const swag = checkSource(readFileSync('examples/swag.swag', 'utf8'), 'examples/swag.swag');
  const lowered = lowerProgram(swag.program, { kind: 'posterior', name: 'SWAG', p, dims: { K } });
  if (!lowered.ok) throw new Error(lowered.errors.map(formatLowerDiagnostic).join('\n'));
  const posterior: LoweredPosterior = lowered.posterior!;
  const collectProgram = compileProgram(simplify(posterior.collect), options);
  const sampleProgram = compileProgram(simplify(posterior.sample), options);
  const stats = Object.fromEntries(posterior.stats.map((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    return [s.name, device.tensor(s.shape, s.name === 'filled' ? new Float32Array(size).fill(1) : randomData(size, 10 + i, 0.1))];
  }));
  const collect = await loadProgram(device, collectProgram);
  collect.bind('theta', device.tensor([p], randomData(p, 1)));
  collect.write('n', [25]);
  for (const [name, t] of Object.entries(stats)) collect.bind(name, t);
  const sample = await loadProgram(device, sampleProgram);
  for (const [name, t] of Object.entries(stats)) sample.bind(name, t);
  // The hand-written kernels on the same p and K (a full ring: n ≥ K).
  const state = createSwagState(device, p, K);
  const theta = device.tensor([p], randomData(p, 1));
  for (let i = 0; i < K; i++) await swagCollect(device, state, theta);
  let dslSeed = 1;
  let seed = 1;
  // Round-robin, one sample of each per round, so a drift in the machine's speed (other jobs on
  // the cores) lands on the DSL programs and the kernels alike.
  const [dslCollect, dslSample, kernelCollect, kernelSample] = await roundRobin(device, [
    () => void collect.run(),
    () => void sample.run({ seed: [dslSeed++] }),
    async () => {
      state.n = 25;
      await swagCollect(device, state, theta);
    },
    async () => void (await swagSample(device, state, { seed: seed++ })).release(),
  ]) as [number, number, number, number];
  collect.destroy();
  sample.destroy();
  for (const t of [theta, state.mean, state.sqMean, state.deviations, ...Object.values(stats)]) t.release();

  return [
    { name: 'compile.ms', value: median(times), unit: `ms (USE-Lite transformer finetune UseLiteSwagFull, real sizes, ${sizes}: 4 graphs → ${kernels} kernels, ${steps} steps)` },
    { name: 'compile.p', value: thetaSize, unit: 'adapter parameters (theta)' },
    { name: 'swag.collect_ms', value: dslCollect, unit: `ms (DSL, p ${p}, K ${K}, ${collectProgram.steps.length} steps)` },
    { name: 'swag.sample_ms', value: dslSample, unit: `ms (DSL, p ${p}, K ${K}, ${sampleProgram.steps.length} steps, z drawn on the device)` },
    { name: 'swag.kernel.collect_ms', value: kernelCollect, unit: 'ms (hand-written, 1 dispatch)' },
    { name: 'swag.kernel.sample_ms', value: kernelSample, unit: 'ms (hand-written, 1 dispatch, z drawn in-kernel)' },
    { name: 'swag.collect_ratio', value: dslCollect / kernelCollect, unit: '× the hand-written kernel (goal ≤ 1.2)' },
    { name: 'swag.sample_ratio', value: dslSample / kernelSample, unit: '× the hand-written kernel (goal ≤ 1.2)' },
  ];
}
