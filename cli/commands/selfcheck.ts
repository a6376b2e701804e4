import { reduceCpu } from '../../kernels/cpu/reduce.ts';
import { matmulCpu } from '../../kernels/cpu/matmul.ts';
import { randomNormalCpu } from '../../kernels/cpu/philox.ts';
import { crossEntropyCpu, softmaxCpu } from '../../kernels/cpu/softmax.ts';
import { mulberry32 } from '../../kernels/cpu/seeded.ts';
import { createSwagStateCpu, swagCollectCpu, swagSampleCpu } from '../../kernels/cpu/swag.ts';
import { matmul } from '../../kernels/matmul/index.ts';
import { randomNormal, seedKey } from '../../kernels/philox.ts';
import { reduce } from '../../kernels/reduce.ts';
import { crossEntropy, softmax } from '../../kernels/softmax.ts';
import { createSwagState, swagCollect, swagSample } from '../../kernels/swag.ts';
import { type BackendChoice, type Device, type Tensor, openDevice } from '../../runtime/index.ts';
import { parseArgs } from '../args.ts';
import type { Command } from '../command.ts';

/** Tolerance of every check: the kernels' contract with their CPU references. */
const TOLERANCE = 1e-4;

function random(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 1e-30;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = actual.length === expected.length ? 0 : Infinity;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), scale * 1e-3);
    worst = Number.isFinite(actual[i]!) ? Math.max(worst, err) : Infinity;
  }
  return worst;
}

interface Check {
  name: string;
  run(device: Device): Promise<{ actual: ArrayLike<number>; expected: ArrayLike<number> }>;
}

async function readAndRelease(device: Device, ...tensors: Tensor[]): Promise<Float32Array> {
  const out = (await device.read(tensors[0]!)) as Float32Array;
  for (const t of tensors) t.release();
  return out;
}

/** Small, odd-sized cases of each kernel family, each against its plain CPU reference. */
const CHECKS: Check[] = [
  {
    name: 'matmul: fused LoRA form [x | s·u] @ [W | B]ᵀ + bias, 97×131 → 33, r=3',
    async run(device) {
      const [n, d, o, r, s] = [97, 131, 33, 3, 2.5];
      const x = random(n * d, 1), w = random(o * d, 2), u = random(n * r, 3), b = random(o * r, 4), bias = random(o, 5);
      const args = { a: { data: x, shape: [n, d] }, b: { data: w, shape: [o, d] }, transB: true, biasN: { data: bias, shape: [o] }, concat: { a2: { data: u, shape: [n, r] }, b2: { data: b, shape: [o, r] }, scale: s } };
      const expected = matmulCpu(args).data;
      const gx = device.tensor([n, d], x), gw = device.tensor([o, d], w), gu = device.tensor([n, r], u), gb = device.tensor([o, r], b), gbias = device.tensor([o], bias);
      const out = await matmul(device, { a: gx, b: gw, transB: true, bias: gbias, concat: { a2: gu, b2: gb, scale: s } });
      return { actual: await readAndRelease(device, out, gx, gw, gu, gb, gbias), expected };
    },
  },
  {
    name: 'matmul: batched Aᵀ·B, 3×(7×97)ᵀ @ (7×13)',
    async run(device) {
      const a = random(3 * 7 * 97, 6), b = random(3 * 7 * 13, 7);
      const expected = matmulCpu({ a: { data: a, shape: [3, 7, 97] }, b: { data: b, shape: [3, 7, 13] }, transA: true }).data;
      const ga = device.tensor([3, 7, 97], a), gb = device.tensor([3, 7, 13], b);
      const out = await matmul(device, { a: ga, b: gb, transA: true });
      return { actual: await readAndRelease(device, out, ga, gb), expected };
    },
  },
  {
    name: 'reduce: row L2 norm of 131×97',
    async run(device) {
      const x = random(131 * 97, 8);
      const gx = device.tensor([131, 97], x);
      const out = await reduce(device, gx, 'l2norm', { axis: 1 });
      return { actual: await readAndRelease(device, out, gx), expected: reduceCpu(x, [131, 97], 'l2norm', 1) };
    },
  },
  {
    name: 'softmax over 7 rows of 1031, extreme logits',
    async run(device) {
      const x = random(7 * 1031, 9).map((v) => v * 1e4);
      const gx = device.tensor([7, 1031], x);
      const out = await softmax(device, gx);
      return { actual: await readAndRelease(device, out, gx), expected: softmaxCpu({ data: x, shape: [7, 1031] }) };
    },
  },
  {
    name: 'cross-entropy of 97 rows × 5 classes',
    async run(device) {
      const logits = random(97 * 5, 10).map((v) => v * 8);
      const labels = Int32Array.from({ length: 97 }, (_, i) => (i * 7) % 5);
      const gl = device.tensor([97, 5], logits), gy = device.tensor([97], labels, 'i32');
      const { losses, mean } = await crossEntropy(device, gl, gy);
      const actual = await readAndRelease(device, losses, gl, gy);
      mean.release();
      return { actual, expected: crossEntropyCpu({ data: logits, shape: [97, 5] }, labels).losses };
    },
  },
  {
    name: 'Philox4x32-10 normals, 1031 values, seed 2024',
    async run(device) {
      const out = await randomNormal(device, [1031], { seed: 2024, stream: 3 });
      return { actual: await readAndRelease(device, out), expected: randomNormalCpu(1031, { key: seedKey(2024), stream: 3 }) };
    },
  },
  {
    name: 'SWAG: 5 snapshots collected, then a sample (P=97, K=4)',
    async run(device) {
      const [P, K] = [97, 4];
      const state = createSwagState(device, P, K);
      const cpu = createSwagStateCpu(P, K);
      for (let i = 0; i < 5; i++) {
        const theta = random(P, 20 + i);
        const t = device.tensor([P], theta);
        await swagCollect(device, state, t);
        t.release();
        swagCollectCpu(cpu, theta);
      }
      const sample = await swagSample(device, state, { seed: 11 });
      const actual = await readAndRelease(device, sample, state.mean, state.sqMean, state.deviations);
      return { actual, expected: swagSampleCpu(cpu, { key: seedKey(11) }) };
    },
  },
];

export const selfcheckCommand: Command = {
  name: 'selfcheck',
  usage: 'selfcheck [--backend B]',
  summary: 'run every kernel family on the chosen adapter against its CPU reference',
  async run(args, io) {
    const { flags } = parseArgs(args, ['backend']);
    const device = await openDevice({ backend: flags.get('backend') as BackendChoice | undefined });
    io.out(`selfcheck on ${device.describe()}\n`);
    let failures = 0;
    try {
      for (const check of CHECKS) {
        const t0 = performance.now();
        const { actual, expected } = await check.run(device);
        const error = relError(actual, expected);
        const ok = error <= TOLERANCE;
        if (!ok) failures++;
        const ms = (performance.now() - t0).toFixed(0).padStart(5);
        io.out(`  ${ok ? 'ok  ' : 'FAIL'} ${check.name.padEnd(72)} max rel err ${error.toExponential(1)} ${ms} ms\n`);
      }
    } finally {
      device.destroy();
    }
    io.out(failures === 0 ? `all ${CHECKS.length} checks passed\n` : `${failures} of ${CHECKS.length} checks FAILED (tolerance ${TOLERANCE})\n`);
    return failures === 0 ? 0 : 1;
  },
};
