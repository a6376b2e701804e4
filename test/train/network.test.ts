/**
 * A compiled finetune as a trainable network: per-example caching of the frozen prefix is checked
 * on the device, not assumed. A prefix that mixes examples is refused with a message; one whose
 * cached rows fold positions into the batch axis ([b·t, d], USE-Lite with adapters inside the
 * transformer) is accepted, and its cached rows are each example's own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useLiteFrozenValues } from '../../models/useLite.ts';
import { Network, swagReader } from '../../train/network.ts';
import { testDevice } from '../helpers/device.ts';

const MIXING = `
import "lora.swag"

model Centered(features: dim = 4, classes: dim = 2) {
  linear fc: [features, features] + bias
  param head.weight: [classes, features] = normal(std: 0.1)

  // Centering over the batch makes each example's features depend on the others.
  fn forward(x: [n, features]) -> [n, classes] {
    let c = tanh(x - sum(x, axis: n) / 5)
    return fc(c) @ head.weight^T
  }
}

finetune CenteredLora = Centered() {
  adapt "fc" with LoRA(r: 2)
}
`;

describe('Network', () => {
  it('refuses to cache a frozen prefix that mixes examples', async () => {
    const device = await testDevice();
    const error = await Network.compile(device, { source: MIXING, file: 'examples/centered.swag', entry: 'CenteredLora', dims: { n: 5 }, batchDim: 'n', readFile: swagReader(), weights: { 'fc.weight': Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0.1)), 'fc.bias': new Float32Array(4) } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/the frozen prefix mixes examples: cache\.\d .* changes with the other examples of its batch/);
  });

  it('caches [b·t, d] rows per example for USE-Lite with LoRA inside layer 1', async () => {
    const device = await testDevice();
    const file = 'examples/use_lite_classifier.swag';
    const net = await Network.compile(device, {
      source: readFileSync(file, 'utf8'),
      file,
      entry: 'UseLiteSwagFull',
      dims: { b: 2, t: 5 },
      readFile: swagReader(),
      weights: useLiteFrozenValues(),
    });
    try {
      expect(net.hasPrefix).toBe(true);
      const folded = net.features.filter((f) => f.shape[0] === 10);
      expect(folded.length).toBeGreaterThan(0);
      for (const f of folded) expect(f.rowShape[0]).toBe(5);
      expect(net.features.every((f) => f.rowSize * 2 === f.shape.reduce((p, d) => p * d, 1))).toBe(true);
    } finally {
      net.destroy();
    }
  });
});
