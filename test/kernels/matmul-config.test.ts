import { afterAll, describe, expect, it } from 'vitest';
import { matmulCpu } from '../../kernels/cpu/matmul.ts';
import {
  type MatmulConfig,
  type MatmulLimits,
  PLAIN_VARIANT,
  bindingKinds,
  buildMatmulWgsl,
  candidateConfigs,
  tuningCandidates,
  chooseVariant,
  configName,
  configProblem,
  defaultConfig,
  matmulKernelSpec,
  packMatmulParams,
  resolveMatmul,
  sharedBytes,
} from '../../kernels/matmul/index.ts';
import { type Device, ShapeError, openDevice } from '../../runtime/index.ts';

/** What llvmpipe offers once the runtime requests the adapter's limits. */
const LLVMPIPE: MatmulLimits = {
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupStorageSize: 32768,
};
/** WebGPU's compatibility-mode defaults: the least a device may offer. */
const COMPAT_MINIMUM: MatmulLimits = {
  maxComputeInvocationsPerWorkgroup: 128,
  maxComputeWorkgroupSizeX: 128,
  maxComputeWorkgroupSizeY: 128,
  maxComputeWorkgroupStorageSize: 16384,
};

const SHAPES = [
  { M: 1, N: 1, K: 1 },
  { M: 97, N: 1, K: 131 },
  { M: 7, N: 97, K: 3 },
  { M: 1024, N: 1024, K: 1024 },
  { M: 4096, N: 64, K: 512, K2: 16, batch: 8 },
];

describe('matmul configs (pure)', () => {
  it('names configs by what they are', () => {
    expect(configName({ kind: 'register', tileM: 32, tileN: 32, workgroupX: 8, workgroupY: 2, tileK: 4, vec4: true })).toBe('reg32x32.w8x2.k4.v4');
    expect(configName({ kind: 'shared', tileM: 4, tileN: 4, workgroupX: 16, workgroupY: 16, tileK: 16, vec4: false })).toBe('smem4x4.w16x16.k16');
  });

  it('says what is wrong with a config', () => {
    const ok: MatmulConfig = { kind: 'shared', tileM: 4, tileN: 4, workgroupX: 16, workgroupY: 16, tileK: 16, vec4: true };
    expect(configProblem(ok, LLVMPIPE)).toBeUndefined();
    expect(sharedBytes(ok)).toBe((64 + 64) * 16 * 4);
    expect(configProblem({ ...ok, tileN: 6 })).toMatch(/multiple of 4/);
    expect(configProblem({ ...ok, tileM: 0 })).toMatch(/positive integers/);
    expect(configProblem(ok, COMPAT_MINIMUM)).toMatch(/256 threads exceed/);
    expect(configProblem({ ...ok, workgroupX: 8, workgroupY: 8, tileK: 128 }, COMPAT_MINIMUM)).toMatch(/workgroup memory/);
    expect(configProblem({ ...ok, kind: 'register', tileK: 6 })).toMatch(/tileK 6/);
  });

  it('lists candidates that fit the limits, of both kinds, best-first per target, deterministically', () => {
    for (const limits of [LLVMPIPE, COMPAT_MINIMUM]) {
      for (const shape of SHAPES) {
        for (const target of ['cpu', 'gpu'] as const) {
          const list = candidateConfigs(shape, limits, target);
          expect(list.length).toBeGreaterThan(0);
          for (const c of list) expect(configProblem(c, limits)).toBeUndefined();
          expect(candidateConfigs(shape, limits, target)).toEqual(list);
          expect(new Set(list.map(configName)).size).toBe(list.length);
        }
      }
    }
    const big = { M: 1024, N: 1024, K: 1024 };
    const cpu = candidateConfigs(big, LLVMPIPE, 'cpu');
    const gpu = candidateConfigs(big, LLVMPIPE, 'gpu');
    expect(cpu[0]!.kind).toBe('register');
    expect(gpu[0]!.kind).toBe('shared');
    expect(new Set(cpu.map((c) => c.kind))).toEqual(new Set(['register', 'shared']));
    expect(new Set(gpu.map((c) => c.kind))).toEqual(new Set(['register', 'shared']));
    // Lanes along M only for skinny outputs; huge tiles not for tiny outputs.
    expect(cpu.some((c) => c.workgroupX === 1)).toBe(false);
    expect(candidateConfigs({ M: 97, N: 1, K: 131 }, LLVMPIPE, 'cpu').some((c) => c.workgroupX === 1)).toBe(true);
    expect(candidateConfigs({ M: 3, N: 5, K: 7 }, LLVMPIPE, 'cpu').every((c) => c.tileM * c.tileN <= 64)).toBe(true);
  });

  it('times only register tiles with a quarter of the biggest tile\'s outputs per thread for big outputs on the CPU', () => {
    const big = { M: 2048, N: 512, K: 512 };
    const tuned = tuningCandidates(big, LLVMPIPE, 'cpu');
    expect(tuned.length).toBeGreaterThan(1);
    expect(tuned.every((c) => c.kind === 'register' && c.tileM * c.tileN >= 256)).toBe(true);
    expect(tuned.map(configName)).toEqual(candidateConfigs(big, LLVMPIPE, 'cpu').map(configName).filter((n) => tuned.some((c) => configName(c) === n)));
    // Batches of 64×64 products get the 64×64 workgroup tiles.
    expect(tuningCandidates({ M: 64, N: 64, K: 64, batch: 128 }, LLVMPIPE, 'cpu').map(configName)).toContain('reg32x16.w4x2.k4.v4');
    // Small outputs and GPUs: every candidate.
    for (const [shape, target] of [[{ M: 64, N: 64, K: 64 }, 'cpu'], [big, 'gpu']] as const) {
      expect(tuningCandidates(shape, LLVMPIPE, target)).toEqual(candidateConfigs(shape, LLVMPIPE, target));
    }
  });

  it('falls back to a deterministic default per shape and target', () => {
    expect(configName(defaultConfig({ M: 1024, N: 1024, K: 1024 }, LLVMPIPE, 'cpu'))).toBe('reg32x32.w8x2.k4.v4');
    expect(defaultConfig({ M: 1024, N: 1024, K: 1024 }, LLVMPIPE, 'gpu').kind).toBe('shared');
    expect(defaultConfig({ M: 500, N: 1, K: 64 }, LLVMPIPE, 'cpu').workgroupX).toBe(1);
    expect(defaultConfig({ M: 7, N: 9, K: 3 }, LLVMPIPE, 'cpu').tileM).toBeLessThanOrEqual(4);
    for (const shape of SHAPES) expect(defaultConfig(shape, COMPAT_MINIMUM, 'gpu')).toEqual(defaultConfig(shape, COMPAT_MINIMUM, 'gpu'));
  });

  it('builds byte-stable WGSL that differs only where the config or variant does', () => {
    const c: MatmulConfig = { kind: 'register', tileM: 8, tileN: 8, workgroupX: 8, workgroupY: 8, tileK: 4, vec4: true };
    const v = { ...PLAIN_VARIANT, vecA: true, vecB: true, vecC: true, biasN: true, activation: 'tanh(v)' };
    const text = buildMatmulWgsl(c, v);
    expect(buildMatmulWgsl({ ...c }, { ...v })).toBe(text);
    expect(buildMatmulWgsl(c, { ...v, transB: true })).not.toBe(text);
    expect(text).toContain('@workgroup_size(8, 8)');
    expect(text).toContain('return tanh(v);');
    expect(text).not.toContain('var<workgroup>');
    expect(buildMatmulWgsl({ ...c, kind: 'shared', tileK: 16 }, { ...v, vecA: false, vecB: false })).toContain('var<workgroup>');
    expect(() => buildMatmulWgsl(c, { ...v, activation: 'v; }' })).toThrow(/one WGSL expression/);
    expect(() => buildMatmulWgsl({ ...c, kind: 'shared' }, v)).toThrow(/scalars/);
    const spec = matmulKernelSpec(c, v);
    expect(spec.label).toBe(`matmul.reg8x8.w8x8.k4.v4.nA.nB.v111.biasN.act(tanh(v))`);
    expect(spec.bindings).toEqual(['read', 'read', 'read', 'read_write', 'uniform']);
  });

  it('binds only what a variant uses, output and uniform last', () => {
    expect(bindingKinds(PLAIN_VARIANT)).toEqual(['read', 'read', 'read_write', 'uniform']);
    expect(bindingKinds({ ...PLAIN_VARIANT, concat: true, biasN: true, biasM: true })).toEqual(['read', 'read', 'read', 'read', 'read', 'read', 'read_write', 'uniform']);
  });

  it('chooses vec4 loads only along contiguous dimensions that are multiples of 4', () => {
    const reg: MatmulConfig = { kind: 'register', tileM: 4, tileN: 4, workgroupX: 8, workgroupY: 2, tileK: 4, vec4: true };
    const r = (M: number, N: number, K: number, K2 = 0) => resolveMatmul({ a: [M, K], b: [K, N], ...(K2 ? { a2: [M, K2], b2: [N, K2] } : {}) });
    const features = { ...PLAIN_VARIANT };
    expect(chooseVariant(reg, r(8, 8, 8), features)).toMatchObject({ vecA: true, vecB: true, vecC: true });
    expect(chooseVariant(reg, r(8, 7, 8), features)).toMatchObject({ vecA: true, vecB: false, vecC: false });
    expect(chooseVariant(reg, r(8, 8, 7), { ...features, transB: true })).toMatchObject({ vecA: false, vecB: false, vecC: true });
    expect(chooseVariant(reg, r(7, 8, 8), { ...features, transA: true })).toMatchObject({ vecA: false });
    expect(chooseVariant({ ...reg, tileM: 3 }, r(8, 8, 8), { ...features, transA: true })).toMatchObject({ vecA: false });
    expect(chooseVariant(reg, r(8, 8, 8, 12), { ...features, concat: true })).toMatchObject({ vecConcat: true });
    expect(chooseVariant(reg, r(8, 8, 0), features)).toMatchObject({ vecA: false, vecB: true });
    expect(chooseVariant({ ...reg, vec4: false }, r(8, 8, 8), features)).toMatchObject({ vecA: false, vecB: false, vecC: false });
    expect(chooseVariant({ ...reg, kind: 'shared' }, r(8, 8, 8), features)).toMatchObject({ vecA: false, vecB: false, vecC: true });
  });

  it('packs the uniform in the order the WGSL struct declares', () => {
    const bytes = packMatmulParams({
      M: 1, N: 2, K: 3, K2: 4, batch: 5, tilesN: 6, tilesM: 7, strideA: 8, strideB: 9, strideC: 10, strideA2: 11, strideB2: 12,
      alpha: 0.5, beta: -1, concatScale: 0.25, scale: 2,
    });
    expect(bytes.byteLength).toBe(64);
    const view = new DataView(bytes.buffer);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => view.getUint32(i * 4, true))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect([12, 13, 14, 15].map((i) => view.getFloat32(i * 4, true))).toEqual([0.5, -1, 0.25, 2]);
  });
});

describe('matmul shapes (pure)', () => {
  it('works out sizes and batch strides, 0 for a broadcast operand', () => {
    expect(resolveMatmul({ a: [97, 131], b: [131, 7] })).toMatchObject({ M: 97, N: 7, K: 131, batch: 1, strideA: 0, strideB: 0, outShape: [97, 7] });
    expect(resolveMatmul({ a: [131, 97], b: [7, 131], transA: true, transB: true })).toMatchObject({ M: 97, N: 7, K: 131 });
    expect(resolveMatmul({ a: [3, 5, 4], b: [4, 6] })).toMatchObject({ batch: 3, strideA: 20, strideB: 0, strideC: 30, outShape: [3, 5, 6] });
    expect(resolveMatmul({ a: [1, 5, 4], b: [3, 4, 6] })).toMatchObject({ batch: 3, strideA: 0, strideB: 24 });
    expect(resolveMatmul({ a: [2, 5, 4], b: [4, 6], a2: [2, 5, 3], b2: [6, 3] })).toMatchObject({ K2: 3, strideA2: 15, strideB2: 0 });
  });

  it('throws ShapeErrors that name both shapes', () => {
    expect(() => resolveMatmul({ a: [97, 131], b: [64, 7] })).toThrow(ShapeError);
    expect(() => resolveMatmul({ a: [97, 131], b: [64, 7] })).toThrow('matmul: op(A) is [97, 131] but op(B) is [64, 7]; inner dimensions 131 ≠ 64');
    expect(() => resolveMatmul({ a: [131, 97], b: [64, 7], transA: true })).toThrow('op(A) is [97, 131]');
    expect(() => resolveMatmul({ a: [5], b: [5, 1] })).toThrow('matmul: A must be a matrix [M, K] or a batch of them [batch, M, K], got [5]');
    expect(() => resolveMatmul({ a: [2, 5, 4], b: [3, 4, 6] })).toThrow(/A has batch 2 but B has batch 3/);
    expect(() => resolveMatmul({ a: [5, 4], b: [4, 6], c: [6, 5] })).toThrow('matmul: C is [6, 5] but the output op(A)·op(B) is [5, 6]');
    expect(() => resolveMatmul({ a: [5, 4], b: [4, 6], biasM: [6] })).toThrow('the bias along M is [6] but the output [5, 6] has 5 rows');
    expect(() => resolveMatmul({ a: [5, 4], b: [4, 6], a2: [4, 2], b2: [6, 2] })).toThrow('A2 is [4, 2] but op(A) is [5, 4]; rows 4 ≠ 5');
    expect(() => resolveMatmul({ a: [5, 4], b: [4, 6], a2: [5, 2], b2: [5, 2] })).toThrow(/B2 is \[5, 2\].*needs 6 rows/);
    expect(() => resolveMatmul({ a: [5, 4], b: [4, 6], a2: [5, 2] })).toThrow(/needs both a2/);
  });
});

describe('matmul CPU reference (pure)', () => {
  it('computes f(scale·(α·(A·B + s·A2·B2ᵀ) + β·C + bias)) on a hand-checked case', () => {
    const out = matmulCpu({
      a: { data: [1, 2, 3, 4], shape: [2, 2] },
      b: { data: [5, 6, 7, 8], shape: [2, 2] },
      alpha: 2,
      beta: 1,
      c: { data: [1, 1, 1, 1], shape: [2, 2] },
      biasN: { data: [0, -100], shape: [2] },
      biasM: { data: [10, 20], shape: [2] },
      concat: { a2: { data: [1, 0], shape: [2, 1] }, b2: { data: [1, 1], shape: [2, 1] }, scale: 0.5 },
      scale: 0.5,
      activation: (v) => Math.max(v, 0),
    });
    // A·B = [[19, 22], [43, 50]]; s·A2·B2ᵀ = [[0.5, 0.5], [0, 0]].
    expect(Array.from(out.data)).toEqual([(2 * 19.5 + 1 + 10) / 2, 0, (2 * 43 + 1 + 20) / 2, (2 * 50 + 1 - 100 + 20) / 2]);
    expect(out.shape).toEqual([2, 2]);
  });
});

describe('generated WGSL validates for every candidate (Dawn null backend: no execution)', () => {
  let device: Promise<Device> | undefined;
  const nullDevice = () => (device ??= openDevice({ backend: 'null' }));
  afterAll(async () => (await device)?.destroy());

  it('every candidate config of both targets, with transposes, vec4 and the full epilogue', async () => {
    const d = await nullDevice();
    const configs = new Map<string, MatmulConfig>();
    for (const shape of SHAPES) {
      for (const target of ['cpu', 'gpu'] as const) for (const c of candidateConfigs(shape, LLVMPIPE, target)) configs.set(configName(c), c);
    }
    const full = { ...PLAIN_VARIANT, beta: true, biasN: true, biasM: true, scale: true, activation: 'tanh(v)', concat: true };
    for (const c of configs.values()) {
      for (const [transA, transB] of [[false, false], [true, true]] as const) {
        for (const vec of [false, true]) {
          const vecLoads = vec && c.kind === 'register';
          const variant = { ...full, transA, transB, vecA: vecLoads && (!transA || c.tileM % 4 === 0), vecB: vecLoads, vecC: vec, vecConcat: vecLoads };
          await expect(d.kernel(matmulKernelSpec(c, variant)), `${configName(c)} ${JSON.stringify(variant)}`).resolves.toBeDefined();
        }
      }
    }
    expect(configs.size).toBeGreaterThan(6);
  });
});
