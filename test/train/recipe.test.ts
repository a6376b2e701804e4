/**
 * SWAG-LoRA's recipe in the training loop: validation after every MAP epoch and the best epoch's
 * parameters as the MAP solution and SWAG's start, one snapshot per SWAG epoch, the SWA rate
 * annealed linearly (SWALR), and a run killed mid-way (before and after the best epoch is known)
 * resumed bit-identical.
 */
import { describe, expect, it } from 'vitest';
import { type TrainConfig, trainRun, validationLoss } from '../../train/trainer.ts';
import { BATCH, CONFIG, COUNT, expectSameParameters, featuresOf, network, task, tempDirs } from './fixture.ts';

const tempDir = tempDirs('swaglet-recipe-');
const same = expectSameParameters;

const SPE = COUNT / BATCH;
// A high MAP rate and 3 SWAG epochs, collected once each, annealed from 0.04 to 0.01 over 2 epochs.
const RECIPE: TrainConfig = { ...CONFIG, lr: 0.2, epochs: 5, swag: { epochs: 3, lr: 0.04, collectEvery: 1, collect: 'epoch', start: 'best', anneal: { epochs: 2, divisor: 4 } } };

/** A validation set: the second half of another draw of the task (its teacher differs: the loss does not just fall). */
async function validationOf(net: Awaited<ReturnType<typeof network>>) {
  const other = task(7);
  return { features: await featuresOf(net, other.x), labels: other.labels };
}

describe('the SWAG-LoRA recipe', () => {
  it('keeps the best-validation MAP epoch, starts SWAG there, collects once per epoch and anneals the SWA rate', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const validation = await validationOf(net);
      const rates: number[] = [];
      const seen: { epoch: number; loss: number; bestEpoch: number }[] = [];
      const result = await trainRun(net, features, labels, RECIPE, undefined, { validation, onValidation: (v) => seen.push(v), onStep: (s) => rates.push(s.lr) });
      // One validation pass per MAP epoch; the best is the lowest (the first of equals).
      expect(result.validationLoss).toHaveLength(RECIPE.epochs);
      expect(seen.map((v) => v.epoch)).toEqual([1, 2, 3, 4, 5]);
      const losses = result.validationLoss!;
      const argmin = losses.indexOf(Math.min(...losses)) + 1;
      expect(result.bestEpoch).toBe(argmin);
      // The MAP solution is that epoch's parameters: its validation loss is the one recorded then.
      net.writeParameters(result.map);
      expect(await validationLoss(net, validation.features, validation.labels)).toBe(losses[argmin - 1]);
      // One snapshot at the end of each SWAG epoch.
      expect(result.collected).toBe(RECIPE.swag!.epochs);
      // SWALR, linear over 2 epochs from 0.04 to 0.04/4: epoch 0 at 0.04, epoch 1 halfway, then 0.01.
      const swag = rates.slice(RECIPE.epochs * SPE);
      const expected = [...Array(SPE).fill(0.04), ...Array(SPE).fill(0.04 + (0.01 - 0.04) * 0.5), ...Array(SPE).fill(0.01)];
      expect(swag).toHaveLength(expected.length);
      swag.forEach((r, j) => expect(r, `SWAG step ${j}`).toBeCloseTo(expected[j]!, 15));
    } finally {
      net.destroy();
    }
  });

  it('the best epoch changes what SWAG starts from: its mean differs from a run that starts where MAP ends', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const validation = await validationOf(net);
      const best = await trainRun(net, features, labels, RECIPE, undefined, { validation });
      const last = await trainRun(net, features, labels, { ...RECIPE, swag: { ...RECIPE.swag!, start: 'last' } }, undefined, { validation });
      expect(last.validationLoss).toBeUndefined();
      if (best.bestEpoch === RECIPE.epochs) same(best.map, last.map);
      else expect(Array.from(best.map.get('fc2.A')!)).not.toEqual(Array.from(last.map.get('fc2.A')!));
    } finally {
      net.destroy();
    }
  });

  it('needs a validation set to pick the best epoch', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      await expect(trainRun(net, await featuresOf(net, x), labels, RECIPE)).rejects.toThrow(/swag.start 'best' needs a validation set/);
    } finally {
      net.destroy();
    }
  });

  for (const crashAt of [15, 40]) {
    it(`a run killed at step ${crashAt} (${crashAt < RECIPE.epochs * SPE ? 'mid-MAP, the best epoch so far in the checkpoint' : 'mid-SWAG'}) and resumed ends bit-identical`, async () => {
      const { frozen, x, labels } = task();
      const net = await network(frozen);
      try {
        const features = await featuresOf(net, x);
        const validation = await validationOf(net);
        const whole = await trainRun(net, features, labels, RECIPE, { dir: tempDir(), every: 4 }, { validation });
        const dir = tempDir();
        const crash = new Error('simulated crash');
        await expect(trainRun(net, features, labels, RECIPE, { dir, every: 4 }, { validation, afterStep: (s) => { if (s === crashAt) throw crash; } })).rejects.toBe(crash);
        let resumedAt = -1;
        const resumed = await trainRun(net, features, labels, RECIPE, { dir, every: 4 }, { validation, onResume: (s) => (resumedAt = s) });
        expect(resumedAt).toBe(Math.floor(crashAt / 4) * 4);
        same(resumed.map, whole.map);
        same(resumed.posterior, whole.posterior);
        expect(resumed.collected).toBe(whole.collected);
        expect(resumed.validationLoss).toEqual(whole.validationLoss);
        expect(resumed.bestEpoch).toBe(whole.bestEpoch);
        expect(resumed.epochLoss).toEqual(whole.epochLoss);
      } finally {
        net.destroy();
      }
    });
  }
});
