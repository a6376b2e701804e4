import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConfigTiming, type MatmulConfig, MatmulAutotuner, configName, defaultConfig, pickFastest, shapeClassKey } from '../../kernels/matmul/index.ts';
import { testDevice } from '../helpers/device.ts';

const reg = (tileM: number, tileN: number, workgroupX: number, workgroupY: number): MatmulConfig => ({
  kind: 'register', tileM, tileN, workgroupX, workgroupY, tileK: 4, vec4: true,
});
const A = reg(4, 4, 8, 2);
const B = reg(2, 4, 8, 4);
const C = reg(4, 8, 4, 4);
const FALLBACK = reg(1, 4, 8, 8);

describe('autotune selection (pure)', () => {
  it('picks the fastest finite timing', () => {
    const timings: ConfigTiming[] = [{ config: A, ms: 3 }, { config: B, ms: 1.5 }, { config: C, ms: 2 }];
    expect(pickFastest(timings, FALLBACK)).toBe(B);
  });

  it('keeps the earlier candidate on a tie, ignores failures, falls back when nothing ran', () => {
    expect(pickFastest([{ config: A, ms: 2 }, { config: B, ms: 2 }], FALLBACK)).toBe(A);
    expect(pickFastest([{ config: A, ms: Infinity }, { config: B, ms: Number.NaN }, { config: C, ms: 9 }], FALLBACK)).toBe(C);
    expect(pickFastest([{ config: A, ms: Infinity }], FALLBACK)).toBe(FALLBACK);
    expect(pickFastest([], FALLBACK)).toBe(FALLBACK);
  });

  it('keys shape classes by power-of-two sizes, transposes and multiples of 4', () => {
    expect(shapeClassKey({ M: 1001, N: 1024, K: 1024 })).toBe('mm.1024x1024x1024.b1.nn.d144');
    expect(shapeClassKey({ M: 600, N: 1024, K: 1024 })).toBe(shapeClassKey({ M: 1000, N: 1024, K: 1024 }));
    expect(shapeClassKey({ M: 97, N: 1, K: 131, transB: true })).toBe('mm.128x1x256.b1.nt.d111');
    expect(shapeClassKey({ M: 64, N: 64, K: 64, K2: 8, batch: 3 })).toBe('mm.64x64x64+8.b4.nn.d4444');
    expect(shapeClassKey({ M: 64, N: 64, K: 64 })).not.toBe(shapeClassKey({ M: 64, N: 64, K: 64, transA: true }));
  });
});

describe('MatmulAutotuner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-autotune-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const candidates = () => [A, B, C];

  it('times each candidate once per key, remembers the winner, and leaves args.out alone', async () => {
    const device = await testDevice();
    const lines: string[] = [];
    const tuner = new MatmulAutotuner(device, { candidates, samples: 1, log: (l) => lines.push(l) });
    const out = device.tensor([20, 12], new Array(240).fill(7));
    const args = { a: device.zeros([20, 16]), b: device.zeros([16, 12]), out };
    const before = device.stats.dispatches;
    const config = await tuner.configFor(args);
    expect([A, B, C].map(configName)).toContain(configName(config));
    expect(device.stats.dispatches - before).toBe(3 * 2);
    expect(lines.filter((l) => l.startsWith('autotune: '))).toHaveLength(3);
    expect(Array.from(await device.read(out)).every((v) => v === 7)).toBe(true);

    const again = device.stats.dispatches;
    expect(await tuner.configFor({ a: device.zeros([24, 16]), b: args.b })).toEqual(config);
    expect(device.stats.dispatches).toBe(again);
    expect(tuner.cached(shapeClassKey({ M: 20, N: 12, K: 16 }))).toEqual(config);
  });

  it('persists winners to a JSON cache file and reads them back without timing', async () => {
    const device = await testDevice();
    const cacheFile = join(dir, 'nested', 'matmul.json');
    const first = new MatmulAutotuner(device, { candidates, samples: 1, cacheFile });
    const args = { a: device.zeros([8, 8]), b: device.zeros([8, 8]) };
    const config = await first.configFor(args, 'lora:q_proj');
    const file = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(file.version).toBe(1);
    expect(Object.keys(file.entries)).toEqual([`${device.describe()}|lora:q_proj`]);

    const second = new MatmulAutotuner(device, { candidates, cacheFile });
    const before = device.stats.dispatches;
    expect(await second.configFor(args, 'lora:q_proj')).toEqual(config);
    expect(device.stats.dispatches).toBe(before);
  });

  it('ignores a damaged cache file and, when disabled, times nothing and uses the default', async () => {
    const device = await testDevice();
    const cacheFile = join(dir, 'broken.json');
    writeFileSync(cacheFile, '{ not json');
    const disabled = new MatmulAutotuner(device, { enabled: false, cacheFile });
    const args = { a: device.zeros([97, 131]), b: device.zeros([131, 7]) };
    const before = device.stats.dispatches;
    const config = await disabled.configFor(args);
    expect(device.stats.dispatches).toBe(before);
    expect(config).toEqual(defaultConfig({ M: 97, N: 7, K: 131, K2: 0, batch: 1 }, device.limits, device.report.isCpu ? 'cpu' : 'gpu'));
  });
});
