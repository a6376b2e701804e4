import { describe, expect, it } from 'vitest';
import { type HostTensor, matmulCpu } from '../../kernels/cpu/matmul.ts';
import { type MatmulConfig, candidateConfigs, configName, defaultConfig, matmul, naiveMatmul, targetConfigs } from '../../kernels/matmul/index.ts';
import { type Device, KernelError, ShapeError } from '../../runtime/index.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray, rng } from '../helpers/random.ts';

/**
 * Random values on a grid of 1/16 in [-1, 1]: products and sums of a few hundred of them are
 * exact in f32, so the GPU and the double-precision reference agree to rounding of the final
 * scaling only, whatever order the kernel adds in.
 */
function gridArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round((r() * 2 - 1) * 16) / 16;
  return out;
}

interface MatmulCase {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Batch of A / B: undefined for a plain matrix, a number for a leading batch dimension. */
  batchA?: number;
  batchB?: number;
  alpha?: number;
  beta?: number;
  /** Where β·C comes from: a separate `c` (default), or `out` updated in place. */
  inPlace?: boolean;
  bias?: boolean;
  rowBias?: boolean;
  scale?: number;
  /** The same function as a WGSL expression and as JS. */
  fn?: [string, (v: number) => number];
  /** The concatenated pair: K2 and s. */
  concat?: { K2: number; scale: number; batched?: boolean };
  config?: MatmulConfig;
  /** Plain random values in [-1, 1) instead of the exact 1/16 grid. */
  inexact?: boolean;
  seed?: number;
}

/** Runs one matmul on the device and on the CPU reference; returns the max relative error. */
async function runMatmulCase(device: Device, c: MatmulCase): Promise<{ error: number; shape: readonly number[] }> {
  let seed = c.seed ?? c.M * 7919 + c.N * 104729 + c.K * 1299709;
  const data = (n: number) => (c.inexact ? randomArray(n, seed++) : gridArray(n, seed++));
  const host = (shape: number[]): HostTensor => ({ data: data(shape.reduce((x, y) => x * y, 1)), shape });
  const batched = (b: number | undefined, shape: number[]) => (b === undefined ? shape : [b, ...shape]);
  const batch = Math.max(c.batchA ?? 1, c.batchB ?? 1);
  const anyBatch = c.batchA !== undefined || c.batchB !== undefined;
  const a = host(batched(c.batchA, c.transA ? [c.K, c.M] : [c.M, c.K]));
  const b = host(batched(c.batchB, c.transB ? [c.N, c.K] : [c.K, c.N]));
  const outShape = anyBatch ? [batch, c.M, c.N] : [c.M, c.N];
  const cIn = c.beta ? host(outShape) : undefined;
  const bias = c.bias ? host([c.N]) : undefined;
  const rowBias = c.rowBias ? host([c.M]) : undefined;
  const concatBatch = c.concat?.batched ? batch : undefined;
  const a2 = c.concat ? host(batched(concatBatch, [c.M, c.concat.K2])) : undefined;
  const b2 = c.concat ? host(batched(concatBatch, [c.N, c.concat.K2])) : undefined;

  const upload = (t: HostTensor) => device.tensor(t.shape, t.data);
  const cTensor = cIn ? upload(cIn) : undefined;
  const result = await matmul(device, {
    a: upload(a),
    b: upload(b),
    transA: c.transA,
    transB: c.transB,
    alpha: c.alpha,
    beta: c.beta,
    c: c.inPlace ? undefined : cTensor,
    out: c.inPlace ? cTensor : undefined,
    bias: bias && upload(bias),
    rowBias: rowBias && upload(rowBias),
    epilogue: c.scale !== undefined || c.fn ? { scale: c.scale, fn: c.fn?.[0] } : undefined,
    concat: c.concat && { a2: upload(a2!), b2: upload(b2!), scale: c.concat.scale },
    config: c.config,
  });
  const got = await device.read(result);
  const expected = matmulCpu({
    a,
    b,
    transA: c.transA,
    transB: c.transB,
    alpha: c.alpha,
    beta: c.beta,
    c: cIn,
    biasN: bias,
    biasM: rowBias,
    scale: c.scale,
    activation: c.fn?.[1],
    concat: c.concat && { a2: a2!, b2: b2!, scale: c.concat.scale },
  });
  return { error: maxRelError(got, expected.data), shape: result.shape };
}

const TOLERANCE = 1e-4;

/** Small tiles of every kind (big tiles compile slowly on llvmpipe and are exercised by the bench). */
const reg = (tileM: number, tileN: number, workgroupX: number, workgroupY: number, tileK = 4, vec4 = true): MatmulConfig => ({
  kind: 'register', tileM, tileN, workgroupX, workgroupY, tileK, vec4,
});
const SMALL_REGISTER = reg(4, 4, 8, 2);
const CONFIG_KINDS: Array<[string, MatmulConfig]> = [
  ['register, vec4', SMALL_REGISTER],
  ['register, scalar loads', reg(4, 8, 8, 2, 4, false)],
  ['register, 8-deep k steps', reg(4, 4, 8, 2, 8)],
  ['register, odd tileM', reg(3, 4, 8, 2)],
  ['register, lanes along M (skinny)', reg(4, 4, 1, 16)],
  ['shared memory', { kind: 'shared', tileM: 2, tileN: 4, workgroupX: 8, workgroupY: 8, tileK: 8, vec4: true }],
  ['shared memory, scalar stores', { kind: 'shared', tileM: 4, tileN: 4, workgroupX: 4, workgroupY: 4, tileK: 4, vec4: false }],
];

const relu: [string, (v: number) => number] = ['max(v, 0.0)', (v) => Math.max(v, 0)];
const tanh: [string, (v: number) => number] = ['tanh(v)', Math.tanh];

async function expectClose(device: Device, c: MatmulCase): Promise<void> {
  const { error } = await runMatmulCase(device, c);
  expect(error, JSON.stringify({ ...c, fn: c.fn?.[0], config: c.config && configName(c.config) })).toBeLessThan(TOLERANCE);
}

describe('matmul against the CPU reference', () => {
  const oddShapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [97, 1, 131],
    [7, 97, 1],
    [131, 7, 97],
    [1, 131, 7],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`odd sizes, ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`, async () => {
        const device = await testDevice();
        for (const [M, N, K] of oddShapes) await expectClose(device, { M, N, K, transA, transB, config: SMALL_REGISTER });
      });
      it(`vec4 paths (sizes multiples of 4) and plain random data, ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`, async () => {
        const device = await testDevice();
        await expectClose(device, { M: 36, N: 20, K: 44, transA, transB, config: SMALL_REGISTER });
        await expectClose(device, { M: 12, N: 8, K: 16, transA, transB, config: SMALL_REGISTER, inexact: true });
      });
    }
  }

  it('uses the shape-derived default config when none is given', async () => {
    const device = await testDevice();
    await expectClose(device, { M: 13, N: 5, K: 9 });
  });

  for (const [kind, config] of CONFIG_KINDS) {
    it(`config kind: ${kind} (${configName(config)})`, async () => {
      const device = await testDevice();
      await expectClose(device, { M: 97, N: 20, K: 131, config });
      await expectClose(device, { M: 7, N: 13, K: 8, transA: true, transB: true, config });
      await expectClose(device, {
        M: 33, N: 9, K: 12, transB: true, alpha: 0.5, beta: -1.5, bias: true, rowBias: true, scale: 2, fn: relu,
        concat: { K2: 5, scale: 0.25 }, config,
      });
    });
  }

  // The tiles added for the autotuner on llvmpipe (batches of small products such as attention's
  // per-head 64×64 ones, and 512-wide rows): odd batched sizes and vec4 ones. 32×32 tiles compile
  // slowly on llvmpipe, so those run one variant; the rest each transpose.
  for (const config of targetConfigs('cpu').filter((c) => c.kind === 'register' && c.workgroupX * c.workgroupY < 32)) {
    const big = config.tileM * config.tileN >= 1024;
    it(`tuning candidate ${configName(config)}: batched, odd and vec4 sizes${big ? '' : ', each transpose'}`, async () => {
      const device = await testDevice();
      const transposes = big ? ([[false, true]] as const) : ([[false, false], [false, true], [true, false]] as const);
      for (const [transA, transB] of transposes) {
        await expectClose(device, { M: 67, N: 70, K: 37, batchA: 3, batchB: 3, transA, transB, config });
        await expectClose(device, { M: 68, N: 132, K: 36, batchA: 2, batchB: 2, transA, transB, config });
      }
    });
  }

  it('α and β: a separate C, C updated in place, and β = 0 ignoring C', async () => {
    const device = await testDevice();
    await expectClose(device, { M: 9, N: 7, K: 5, alpha: -2, beta: 0.5, config: SMALL_REGISTER });
    await expectClose(device, { M: 9, N: 8, K: 4, alpha: 0.25, beta: 3, inPlace: true, config: SMALL_REGISTER });
    await expectClose(device, { M: 9, N: 7, K: 5, alpha: 1.5, config: SMALL_REGISTER });
  });

  it('epilogue: bias along N, bias along M, scale and an elementwise function', async () => {
    const device = await testDevice();
    await expectClose(device, { M: 97, N: 13, K: 7, bias: true, config: SMALL_REGISTER });
    await expectClose(device, { M: 7, N: 16, K: 12, rowBias: true, bias: true, config: SMALL_REGISTER });
    await expectClose(device, { M: 7, N: 16, K: 12, scale: 0.5, fn: tanh, config: SMALL_REGISTER });
    await expectClose(device, { M: 17, N: 3, K: 12, bias: true, fn: relu, config: SMALL_REGISTER });
  });

  it('batched, with per-operand batch strides and broadcasting', async () => {
    const device = await testDevice();
    await expectClose(device, { M: 7, N: 9, K: 5, batchA: 3, batchB: 3, config: SMALL_REGISTER });
    // A shared weight: B is one matrix (stride 0) for every batch entry, and the other way round.
    await expectClose(device, { M: 7, N: 8, K: 12, batchA: 3, transB: true, bias: true, config: SMALL_REGISTER });
    await expectClose(device, { M: 8, N: 9, K: 5, batchB: 2, transA: true, config: SMALL_REGISTER });
    // A batch of 1 broadcasts like a plain matrix; β reads a batched C.
    await expectClose(device, { M: 5, N: 6, K: 7, batchA: 4, batchB: 1, beta: 1, config: SMALL_REGISTER });
    const { shape } = await runMatmulCase(device, { M: 5, N: 6, K: 7, batchA: 1, config: SMALL_REGISTER });
    expect(shape).toEqual([1, 5, 6]);
  });

  it('the fused LoRA form [x | s·u] @ [W | B]ᵀ in one dispatch', async () => {
    const device = await testDevice();
    // x [n, in], W [out, in], u [n, r], B [out, r]: y = x·Wᵀ + s·u·Bᵀ + bias.
    const [n, inDim, outDim, r] = [13, 24, 20, 4];
    const data = (len: number, seed: number) => gridArray(len, seed);
    const host = (shape: number[], seed: number): HostTensor => ({ data: data(shape[0]! * shape[1]!, seed), shape });
    const x = host([n, inDim], 1);
    const W = host([outDim, inDim], 2);
    const u = host([n, r], 3);
    const B = host([outDim, r], 4);
    const bias = { data: data(outDim, 5), shape: [outDim] };
    const up = (t: HostTensor) => device.tensor(t.shape, t.data);
    const before = device.stats.dispatches;
    const y = await matmul(device, { a: up(x), b: up(W), transB: true, bias: up(bias), concat: { a2: up(u), b2: up(B), scale: 0.5 }, config: SMALL_REGISTER });
    expect(device.stats.dispatches - before).toBe(1);
    const expected = matmulCpu({ a: x, b: W, transB: true, biasN: bias, concat: { a2: u, b2: B, scale: 0.5 } });
    expect(maxRelError(await device.read(y), expected.data)).toBeLessThan(TOLERANCE);
    // Odd and vec4 K2, batched pairs, and with every other feature on.
    await expectClose(device, { M: 97, N: 7, K: 131, transB: true, concat: { K2: 1, scale: 2 }, config: SMALL_REGISTER });
    await expectClose(device, { M: 16, N: 12, K: 20, transB: true, concat: { K2: 8, scale: -0.5 }, config: SMALL_REGISTER });
    await expectClose(device, { M: 6, N: 5, K: 3, batchA: 2, transB: true, concat: { K2: 3, scale: 0.75, batched: true }, config: SMALL_REGISTER });
  });

  it('handles empty dimensions: no rows writes nothing, K = 0 leaves β·C + bias', async () => {
    const device = await testDevice();
    const empty = await matmul(device, { a: device.zeros([0, 5]), b: device.zeros([5, 3]) });
    expect(empty.shape).toEqual([0, 3]);
    await expectClose(device, { M: 5, N: 6, K: 0, beta: 2, bias: true, config: SMALL_REGISTER });
  });

  it('the naive baseline kernel agrees too', async () => {
    const device = await testDevice();
    const [M, N, K] = [33, 17, 9];
    const a = gridArray(M * K, 1);
    const b = gridArray(K * N, 2);
    const out = await naiveMatmul(device, device.tensor([M, K], a), device.tensor([K, N], b));
    const expected = matmulCpu({ a: { data: a, shape: [M, K] }, b: { data: b, shape: [K, N] } });
    expect(maxRelError(await device.read(out), expected.data)).toBeLessThan(TOLERANCE);
  });

  it('the default CPU configs compile and agree (small shape, default tiles)', async () => {
    const device = await testDevice();
    const shape = { M: 20, N: 36, K: 8 };
    for (const config of candidateConfigs(shape, device.limits, 'cpu').filter((c) => c.tileM * c.tileN <= 256)) {
      await expectClose(device, { ...shape, config });
    }
    expect(defaultConfig(shape, device.limits, 'cpu').kind).toBe('register');
  });
});

describe('matmul errors', () => {
  it('names both shapes when the inner dimensions differ', async () => {
    const device = await testDevice();
    const a = device.zeros([97, 131]);
    const b = device.zeros([64, 7]);
    await expect(matmul(device, { a, b })).rejects.toThrow(ShapeError);
    await expect(matmul(device, { a, b })).rejects.toThrow('matmul: op(A) is [97, 131] but op(B) is [64, 7]; inner dimensions 131 ≠ 64');
    await expect(matmul(device, { a, b: device.zeros([7, 64]), transB: true })).rejects.toThrow('op(B) is [64, 7]');
  });

  it('rejects bad batches, biases, outputs, concatenated pairs and activations', async () => {
    const device = await testDevice();
    const a = device.zeros([2, 4, 3]);
    await expect(matmul(device, { a, b: device.zeros([3, 3, 5]) })).rejects.toThrow(/batch 3 but A has batch 2|B has batch 3/);
    await expect(matmul(device, { a, b: device.zeros([3, 5]), bias: device.zeros([4]) })).rejects.toThrow('the bias along N is [4] but the output [2, 4, 5] has 5 columns');
    await expect(matmul(device, { a, b: device.zeros([3, 5]), out: device.zeros([4, 5]) })).rejects.toThrow('out is [4, 5] but the output op(A)·op(B) is [2, 4, 5]');
    await expect(matmul(device, { a: device.zeros([4, 3]), b: device.zeros([3, 5]), concat: { a2: device.zeros([4, 2]), b2: device.zeros([5, 3]), scale: 1 } })).rejects.toThrow('inner dimensions 2 ≠ 3');
    await expect(matmul(device, { a: device.zeros([4, 3]), b: device.zeros([3, 5]), beta: 1 })).rejects.toThrow(/β ≠ 0 needs C/);
    await expect(matmul(device, { a: device.zeros([4, 3]), b: device.zeros([3, 5]), epilogue: { fn: 'v; }' } })).rejects.toThrow(/one WGSL expression/);
    const shared = device.zeros([4, 4]);
    await expect(matmul(device, { a: shared, b: device.zeros([4, 4]), out: shared })).rejects.toThrow(KernelError);
  });

  it('names the kernel when an epilogue expression does not compile', async () => {
    const device = await testDevice();
    await expect(matmul(device, { a: device.zeros([4, 3]), b: device.zeros([3, 5]), epilogue: { fn: 'nope(v)' }, config: SMALL_REGISTER })).rejects.toThrow(/matmul\.reg4x4[\s\S]*nope/);
  });
});
