/**
 * Autotuning inside compilation (api/tuneMatmuls.ts): the classes worth tuning, a compile that
 * uses remembered winners (their kernels, the default's numbers), and a tuning run that
 * remembers its winners on disk. Tiny shapes: seconds, and no assertion on any time.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classesWorthTuning } from '../../api/tuneMatmuls.ts';
import { compileSwag } from '../../compiler/compile.ts';
import type { MatmulClassUse } from '../../compiler/schedule/types.ts';
import { MatmulAutotuner } from '../../kernels/matmul/autotune.ts';
import { type MatmulConfig, configName, defaultConfig } from '../../kernels/matmul/config.ts';
import type { ScheduleLimits } from '../../compiler/schedule/types.ts';
import { compile } from '../../swaglet.ts';
import type { Device } from '../../runtime/index.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';

const FILE = 'examples/lora.swag';
const SOURCE = readFileSync(FILE, 'utf8');
// Odd sizes, no multiple of any tile; big enough that no product is skinny.
const dims = { out: 37, in: 21, r: 3, n: 45 };
const W = randomArray(dims.out * dims.in, 11, 0.5);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-tune-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every tiled matmul launch the compile of this LoRA makes on the device's target. */
function classesOf(device: Device): MatmulClassUse[] {
  const uses: MatmulClassUse[] = [];
  const r = compileSwag(SOURCE, FILE, { dims, target: device.report.isCpu ? 'cpu' : 'gpu', limits: device.limits as unknown as ScheduleLimits, onMatmulClass: (u) => uses.push(u) });
  expect(r.ok).toBe(true);
  return uses;
}

const use = (key: string, M: number, N: number, K: number, batch = 1): MatmulClassUse => ({
  key, shape: { M, N, K, K2: 0, batch }, transA: false, transB: false,
  config: { kind: 'register', workgroupX: 8, workgroupY: 8, tileM: 4, tileN: 4, tileK: 4, vec4: true },
});

describe('autotuning inside compile()', () => {
  it('tunes each class once, the ones with the most work first, and skips those below the threshold', () => {
    const uses = [use('small', 4, 4, 4), use('big', 64, 64, 64), use('mid', 32, 32, 32), use('mid', 32, 32, 32, 2)];
    const worth = classesWorthTuning(uses, 2 * 32 * 32 * 32 * 3);
    expect(worth.map((d) => d.use.key)).toEqual(['big', 'mid']);
    expect(worth[1]).toMatchObject({ flops: 2 * 32 * 32 * 32 * 3, launches: 2 });
    expect(classesWorthTuning(uses, 0).map((d) => d.use.key)).toEqual(['big', 'mid', 'small']);
    expect(classesWorthTuning(uses, Infinity)).toEqual([]);
  });

  it('compiles with the remembered config of each shape class: that config\'s kernels, the default\'s numbers', async () => {
    const device = await testDevice();
    const uses = classesOf(device);
    expect(uses.length).toBeGreaterThan(0);
    // A winner unlike the default for every class, as an earlier run would have left it on disk.
    const pick = (u: MatmulClassUse): MatmulConfig => {
      const def = configName(defaultConfig(u.shape, device.limits, 'cpu'));
      return def === 'reg8x8.w8x8.k4.v4' ? { kind: 'register', workgroupX: 8, workgroupY: 4, tileM: 4, tileN: 8, tileK: 4, vec4: true } : { kind: 'register', workgroupX: 8, workgroupY: 8, tileM: 8, tileN: 8, tileK: 4, vec4: true };
    };
    const entries = Object.fromEntries(uses.map((u) => [`${device.describe()}|${u.key}`, { config: pick(u) }]));
    const cacheFile = join(dir, 'remembered.json');
    writeFileSync(cacheFile, JSON.stringify({ version: 1, entries }));

    const lines: string[] = [];
    const x = randomArray(dims.n * dims.in, 3);
    const [plain] = await compile(SOURCE, { device, file: FILE, dims, weights: { W }, seed: 5 });
    const [tuned] = await compile(SOURCE, { device, file: FILE, dims, weights: { W }, seed: 5, autotune: { cacheFile, minFlops: 0, log: (l) => lines.push(l) } });
    try {
      // Everything was remembered: nothing was timed.
      expect(lines).toEqual([]);
      const labels = Object.values(tuned!.compiled.methods).flatMap((p) => p!.kernels.map((k) => k.label));
      for (const u of uses) expect(labels.some((l) => l.includes(`[${configName(pick(u))}.`))).toBe(true);
      // B starts at zero; give it values so the adapter's path counts.
      const B = randomArray(dims.out * dims.r, 4);
      plain!.set('B', B);
      tuned!.set('B', B);
      const want = (await device.read(plain!.forward({ x }).y!)) as Float32Array;
      const got = (await device.read(tuned!.forward({ x }).y!)) as Float32Array;
      expect(maxRelError(got, want)).toBeLessThan(1e-5);
      const labelsY = Int32Array.from({ length: dims.n }, (_, i) => i % dims.out);
      const gWant = (await device.read(plain!.backward({ x, labels: labelsY })['grad.A']!)) as Float32Array;
      const gGot = (await device.read(tuned!.backward({ x, labels: labelsY })['grad.A']!)) as Float32Array;
      expect(maxRelError(gGot, gWant)).toBeLessThan(1e-4);
    } finally {
      plain!.destroy();
      tuned!.destroy();
    }
  });

  it('times the candidates of each class worth it once and keeps the winners in the cache file, by device', async () => {
    const device = await testDevice();
    const cacheFile = join(dir, 'tuned.json');
    const lines: string[] = [];
    // Two small tiles to choose from: quick to compile and to time.
    const candidates = (): MatmulConfig[] => [
      { kind: 'register', workgroupX: 8, workgroupY: 8, tileM: 4, tileN: 4, tileK: 4, vec4: true },
      { kind: 'register', workgroupX: 8, workgroupY: 4, tileM: 4, tileN: 8, tileK: 4, vec4: true },
    ];
    const [unit] = await compile(SOURCE, { device, file: FILE, dims, weights: { W }, autotune: { cacheFile, minFlops: 0, samples: 1, candidates, log: (l) => lines.push(l) } });
    unit!.destroy();
    const keys = [...new Set(classesOf(device).map((u) => u.key))];
    expect(lines.length).toBe(keys.length);
    expect(existsSync(cacheFile)).toBe(true);
    // A later process reads every winner back from the file.
    const later = new MatmulAutotuner(device, { cacheFile, enabled: false });
    for (const key of keys) expect(later.cached(key)).toBeDefined();
    expect(Object.keys(later.rememberedConfigs()).sort()).toEqual([...keys].sort());
  });
});
