/**
 * The live API initializes: parameters from their initializers (seeded), frozen tensors from the
 * caller's weights (a map, a checkpoint, or 'zeros' on purpose). A LoRA made through `compile()`
 * has A ~ kaiming, B = 0, and a nonzero gradient for B, so it trains.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBuiltin, kaimingUniformBound } from '../../compiler/lower/initializers.ts';
import { evaluate } from '../../compiler/ir/index.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import { BaseWeightsError, compile, type CompileOptions } from '../../swaglet.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';

const SOURCE = readFileSync('examples/lora.swag', 'utf8');
const dims = { out: 6, in: 10, r: 2, n: 5 };
const W = randomArray(dims.out * dims.in, 11, 0.5);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-api-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lora(options: Partial<CompileOptions>) {
  const device = await testDevice();
  const [unit] = await compile(SOURCE, { device, file: 'examples/lora.swag', dims, ...options });
  const read = async (name: string) => (await device.read(unit!.tensor(name))) as Float32Array;
  return { device, unit: unit!, read };
}

describe('compile() initializes', () => {
  it('gives A kaiming_uniform values, B zeros and W the given weights; B gets a nonzero gradient matching the interpreter', async () => {
    const { device, unit, read } = await lora({ weights: { W }, seed: 7 });
    try {
      const A = await read('A');
      const bound = kaimingUniformBound(Math.sqrt(5), dims.in);
      expect(A).toEqual(initBuiltin('kaiming_uniform', { a: Math.sqrt(5) }, [dims.r, dims.in], { seed: 7, path: 'A' }));
      expect(A.every((v) => Math.abs(v) < bound)).toBe(true);
      expect(A.some((v) => v !== 0)).toBe(true);
      expect(await read('B')).toEqual(new Float32Array(dims.out * dims.r));
      expect(await read('W')).toEqual(W);

      const x = randomArray(dims.n * dims.in, 3);
      const labels = Int32Array.from([0, 5, 2, 1, 3]);
      const out = unit.backward({ x, labels });
      const gradB = (await device.read(out['grad.B']!)) as Float32Array;
      expect(gradB.some((v) => v !== 0)).toBe(true);
      const want = evaluate(unit.compiled.graphs.backward!, { x, labels, A, B: new Float32Array(dims.out * dims.r), W });
      expect(maxRelError(gradB, want['grad.B']!)).toBeLessThan(1e-4);
      // B = 0, so A's gradient is exactly zero: training starts at the base model.
      expect(Array.from(await device.read(out['grad.A']!)).every((v) => v === 0)).toBe(true);
    } finally {
      unit.destroy();
    }
  });

  it('repeats the same bytes for the same seed, and differs for another seed', async () => {
    const a = await lora({ weights: { W }, seed: 1 });
    const b = await lora({ weights: new Map([['W', W]]), seed: 1 });
    const c = await lora({ weights: { W }, seed: 2 });
    const d = await lora({ weights: { W } });
    try {
      const [a1, b1, c1, d1] = await Promise.all([a, b, c, d].map((u) => u.read('A')));
      expect(new Uint8Array(b1!.buffer)).toEqual(new Uint8Array(a1!.buffer));
      expect(c1).not.toEqual(a1);
      // The default seed is 0.
      expect(d1).toEqual(initBuiltin('kaiming_uniform', { a: Math.sqrt(5) }, [dims.r, dims.in], { seed: 0, path: 'A' }));
    } finally {
      for (const u of [a, b, c, d]) u.unit.destroy();
    }
  });

  it('takes the frozen weights from a safetensors checkpoint (bf16 converted), with a rename', async () => {
    const path = join(dir, 'base.safetensors');
    await writeSafetensors(path, { 'layer.weight': { dtype: 'BF16', shape: [dims.out, dims.in], data: W } });
    const { unit, read } = await lora({ weights: { files: path, rename: { 'layer.weight': 'W' } } });
    try {
      const got = await read('W');
      expect(maxRelError(got, W)).toBeLessThan(2 ** -8);
      expect(got).not.toEqual(new Float32Array(W.length));
    } finally {
      unit.destroy();
    }
    await expect(lora({ weights: path })).rejects.toThrow(BaseWeightsError);
    await expect(lora({ weights: path })).rejects.toThrow(/missing \(1[^]*W \[6, 10\][^]*unused \(1[^]*layer\.weight/);
  });

  it("names the frozen tensors it lacks, unless weights is 'zeros'", async () => {
    await expect(lora({})).rejects.toThrow(/LoRA: no values for its frozen tensors W \[6, 10\]; pass weights .* or weights: 'zeros'/);
    await expect(lora({ weights: { W: new Float32Array(3) } })).rejects.toThrow(/LoRA: the weights do not fit: W has 3 values, \[6, 10\] needs 60/);
    await expect(lora({ weights: { W, V: [1] } })).rejects.toThrow(/not frozen tensors of LoRA: V \(its frozen tensors: W\)/);
    const { unit, read } = await lora({ weights: 'zeros' });
    try {
      expect(await read('W')).toEqual(new Float32Array(W.length));
      expect((await read('A')).some((v) => v !== 0)).toBe(true);
    } finally {
      unit.destroy();
    }
  });
});
