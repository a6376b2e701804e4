/**
 * `model.prefixCache`: the frozen prefix's per-example features are cached at f32 within the
 * memory budget, at f16 (half the bytes) past it, and recomputed in every step past that. Each
 * choice feeds the trained suffix the same numbers (f16 up to its rounding), on the real USE-Lite
 * base at a tiny size.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExperimentConfig, readConfig } from '../../experiment/config.ts';
import { planPrefixCache } from '../../experiment/prefixCache.ts';
import { type Prepared, prepare } from '../../experiment/run.ts';
import { f16Lookup, numberToF16Bits } from '../../io/safetensors.ts';
import { FeatureTable } from '../../train/features.ts';
import { testDevice } from '../helpers/device.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-prefix-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, model: Record<string, unknown>): ExperimentConfig {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    name,
    model: { file: resolve('examples/use_lite_classifier.swag'), entry: 'UseLiteSwagPaper', maxTokens: 8, batch: 8, ...model },
    data: { sizes: { train: 16, validation: 8, test: 8 }, shift: null, ood: null },
    out: join(dir, 'results'),
  }));
  return readConfig(path);
}

const logged = (lines: string[]) => ({ stage() {}, progress() {}, log: (l: string) => lines.push(l) });

/** Logits of the test split through `p`'s network, at the same seeded random parameters for every network. */
async function testLogits(p: Prepared): Promise<Float32Array> {
  const net = p.network;
  let state = 12345;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.1;
  // Random LoRA B as well as A, so the adapters inside the network change the logits.
  net.writeParameters(new Map(net.theta.entries.map((e) => [e.path, Float32Array.from({ length: e.size }, next)])));
  const table = p.features.test;
  const out = new Float32Array(table.count * net.classes);
  for (let start = 0; start < table.count; start += net.batch) {
    const indices = Array.from({ length: Math.min(net.batch, table.count - start) }, (_, k) => start + k);
    const y = (await net.device.read(net.unit.forward(table.gather(indices, net.batch)).y!)) as Float32Array;
    out.set(y.subarray(0, indices.length * net.classes), start * net.classes);
  }
  return out;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('planPrefixCache', () => {
  it('auto takes f32 within the budget, f16 when half fits, and recomputes past that', () => {
    const mb = 1024 * 1024;
    expect(planPrefixCache('auto', 900 * mb, 1024)).toBe('f32');
    expect(planPrefixCache('auto', 1500 * mb, 1024)).toBe('f16');
    expect(planPrefixCache('auto', 3000 * mb, 1024)).toBe('recompute');
    for (const mode of ['f32', 'f16', 'recompute'] as const) expect(planPrefixCache(mode, 3000 * mb, 1)).toBe(mode);
  });

  it('a bad mode or budget is a config error naming the field', () => {
    expect(() => config('bad-mode', { prefixCache: 'half' })).toThrow(/'model.prefixCache' must be one of "auto", "f32", "f16", "recompute", got "half"/);
    expect(() => config('bad-budget', { prefixCacheMb: 0 })).toThrow(/'model.prefixCacheMb' must be a positive number of megabytes/);
  });
});

describe('model.prefixCache', () => {
  it('f16 halves the cached bytes; the suffix sees f32 rounded to f16, and the file keeps the bits', async () => {
    const device = await testDevice();
    const a = await prepare(device, config('f32', { prefixCache: 'f32' }), logged([]));
    const lines: string[] = [];
    const b = await prepare(device, config('f16', { prefixCache: 'f16' }), logged(lines));
    try {
      expect(a.prefixPlan).toBe('f32');
      expect(b.prefixPlan).toBe('f16');
      expect(lines.join('\n')).toMatch(/frozen prefix: .* of features at f32 .*; cached at f16, .* \(model.prefixCache "f16"\)/);
      expect(b.fingerprint['model.prefixCache']).toBe('f16');
      expect(a.fingerprint['model.prefixCache']).toBeUndefined();
      const f32 = a.features.train;
      const f16 = b.features.train;
      expect(f16.storage).toBe('f16');
      // Every cached feature of this finetune is f32: the bytes halve.
      expect(f16.bytes).toBeLessThan(0.51 * f32.bytes);
      const rows = Array.from({ length: f32.count }, (_, i) => i);
      const wide = f32.gather(rows, f32.count);
      const narrow = f16.gather(rows, f16.count);
      const widen = f16Lookup();
      for (const s of f32.specs.filter((x) => x.dtype === 'f32')) {
        const x = wide[s.name] as Float32Array;
        const y = narrow[s.name] as Float32Array;
        expect(y).toBeInstanceOf(Float32Array);
        for (let k = 0; k < x.length; k += 7) expect(y[k]).toBe(widen[numberToF16Bits(x[k]!)]);
      }
      // Saved as F16 and read back bit for bit.
      const path = join(dir, 'f16.safetensors');
      await f16.save(path);
      const back = (await FeatureTable.load(path, f16.specs))!;
      expect(back.storage).toBe('f16');
      for (const s of f16.specs) expect(Array.from(back.columns.get(s.name)!)).toEqual(Array.from(f16.columns.get(s.name)!));
      // The logits move only by f16's rounding of the features.
      // (Measured: 1.7e-5 on logits of about 0.06.)
      expect(maxAbs(await testLogits(b), await testLogits(a))).toBeLessThan(1e-3);
    } finally {
      a.network.destroy();
      b.network.destroy();
    }
  }, 240_000);

  it('recompute caches nothing: the network reads token ids and gives the cached network\'s logits', async () => {
    const device = await testDevice();
    const a = await prepare(device, config('cached', {}), logged([]));
    const lines: string[] = [];
    // A budget far below the cache: auto recomputes.
    const b = await prepare(device, config('recompute', { prefixCacheMb: 0.001 }), logged(lines));
    try {
      expect(a.prefixPlan).toBe('f32');
      expect(a.network.hasPrefix).toBe(true);
      expect(b.prefixPlan).toBe('recompute');
      expect(b.network.hasPrefix).toBe(false);
      expect(lines.join('\n')).toMatch(/recomputed in every step, not cached \('auto' within 0.001 MB\)/);
      expect(b.network.features.map((f) => f.name)).toEqual(b.network.dataInputs.map((f) => f.name));
      expect(b.features.train.bytes).toBeLessThan(a.features.train.bytes / 10);
      // (Measured: 8e-8.)
      expect(maxAbs(await testLogits(b), await testLogits(a))).toBeLessThan(1e-5);
    } finally {
      a.network.destroy();
      b.network.destroy();
    }
  }, 240_000);
});
