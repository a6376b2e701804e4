import { describe, expect, it } from 'vitest';
import { isWeightSource, loadWeightSource, WEIGHT_SOURCES } from '../../models/sources.ts';
import { loadUseLiteWeights } from '../../models/useLite.ts';

describe('named weight sources', () => {
  it("'use-lite' gives USE-Lite's frozen values by .swag path", async () => {
    expect(isWeightSource('use-lite')).toBe(true);
    const values = await loadWeightSource('use-lite');
    const weights = loadUseLiteWeights();
    expect([...values.keys()].sort()).toEqual(Object.keys(weights).sort());
    expect(values.get('pool.weight')).toEqual(weights['pool.weight']!.data);
    expect(values.get('pool.weight')!.length).toBe(512 * 512);
  });

  it('names the known sources for an unknown name', async () => {
    expect(isWeightSource('/models/base.safetensors')).toBe(false);
    expect(isWeightSource('toString')).toBe(false);
    await expect(loadWeightSource('gpt-9')).rejects.toThrow(`no weight source 'gpt-9' (known: ${Object.keys(WEIGHT_SOURCES).join(', ')}; or give a .safetensors checkpoint)`);
  });
});
