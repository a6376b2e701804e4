/**
 * A run's adapters as PEFT writes them: LoRA's A and B under PEFT's keys with the attachment's
 * rank, alpha and dropout, the classification head as `modules_to_save`, and the SWAG
 * statistics with the theta layout, all readable back.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAdapters } from '../../experiment/adapters.ts';
import { DEMO_CONFIG } from '../../experiment/config.ts';
import { readPeftAdapter } from '../../io/peft.ts';
import { readSafetensors } from '../../io/safetensors.ts';
import { trainRun } from '../../train/trainer.ts';
import { CONFIG, featuresOf, network, task } from '../train/fixture.ts';

describe('writeAdapters', () => {
  it('writes MAP and SWA adapters in PEFT layout and the SWAG statistics', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    const dir = mkdtempSync(join(tmpdir(), 'swaglet-adapters-'));
    try {
      const features = await featuresOf(net, x);
      const result = await trainRun(net, features, labels, { ...CONFIG, epochs: 1, swag: { epochs: 1, lr: 0.01, collectEvery: 1 } });
      await writeAdapters(net, { seed: 3, result }, { ...DEMO_CONFIG, model: { ...DEMO_CONFIG.model, entry: 'NetSwag' } }, dir);

      const map = await readPeftAdapter(join(dir, 'map-adapter'));
      expect(map.modules.map((m) => [m.module, m.r, m.alpha, m.inFeatures, m.outFeatures])).toEqual([['fc2', 2, 4, 12, 12]]);
      expect(Array.from(map.modules[0]!.A)).toEqual(Array.from(result.map.get('fc2.A')!));
      expect(Array.from(map.modules[0]!.B)).toEqual(Array.from(result.map.get('fc2.B')!));
      expect(map.dropout).toBeCloseTo(0.1);
      expect(map.modulesToSave!.map((m) => [m.module, Object.keys(m.tensors).sort()])).toEqual([['head', ['bias', 'weight']]]);
      const config = JSON.parse(readFileSync(join(dir, 'map-adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['fc2'], modules_to_save: ['head'] });
      const keys = Object.keys((await readSafetensors(join(dir, 'map-adapter', 'adapter_model.safetensors'))).tensors).sort();
      expect(keys).toEqual(['base_model.model.fc2.lora_A.weight', 'base_model.model.fc2.lora_B.weight', 'base_model.model.head.bias', 'base_model.model.head.weight']);

      // The SWA adapter holds the SWAG mean, unpacked by the theta layout.
      const swa = await readPeftAdapter(join(dir, 'swa-adapter'));
      const mean = result.posterior.get('mean')!;
      const entry = net.theta.entries.find((e) => e.path === 'fc2.A')!;
      expect(Array.from(swa.modules[0]!.A)).toEqual(Array.from(mean.slice(entry.offset, entry.offset + entry.size)));

      const stats = await readSafetensors(join(dir, 'swag_statistics.safetensors'));
      expect(Object.keys(stats.tensors).sort()).toEqual(['D', 'mean', 'sq_mean']);
      expect(stats.tensors.D!.shape).toEqual([4, net.size]);
      expect(stats.metadata.collected).toBe(String(result.collected));
      expect(JSON.parse(stats.metadata.theta_layout!).map((e: { path: string }) => e.path)).toEqual(net.theta.entries.map((e) => e.path));
    } finally {
      net.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
