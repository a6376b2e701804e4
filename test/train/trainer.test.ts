/**
 * The training loop on a small network and a task the test makes itself (labels from a fixed
 * random teacher): it learns, its SWAG phase collects the configured snapshots, a run killed
 * mid-way and resumed from its checkpoint ends with exactly the numbers of an uninterrupted run,
 * and a diverging run stops with a clear message, keeping its last good checkpoint.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResumeMismatchError } from '../../train/fingerprint.ts';
import { TrainingDivergedError, TrainingStoppedError, trainRun } from '../../train/trainer.ts';
import { BATCH, CONFIG, COUNT, expectSameParameters, featuresOf, network, task, tempDirs } from './fixture.ts';

const tempDir = tempDirs('swaglet-train-');
const same = expectSameParameters;

describe('trainRun', () => {
  it('learns the task and collects one SWAG snapshot every collectEvery steps of the SWAG phase', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      expect(net.hasPrefix).toBe(true);
      const features = await featuresOf(net, x);
      const result = await trainRun(net, features, labels, CONFIG);
      const spe = COUNT / BATCH;
      expect(result.epochLoss.length).toBe(CONFIG.epochs + CONFIG.swag!.epochs);
      expect(result.epochLoss[CONFIG.epochs - 1]!).toBeLessThan(0.75 * result.epochLoss[0]!);
      expect(result.collected).toBe((CONFIG.swag!.epochs * spe) / CONFIG.swag!.collectEvery);
      expect([...result.posterior.keys()].sort()).toEqual(['D', 'mean', 'sq_mean']);
      // The SWAG mean lies among the snapshots: finite, and not the MAP point itself.
      const mean = result.posterior.get('mean')!;
      expect(mean.every(Number.isFinite)).toBe(true);
      expect(mean.length).toBe(net.size);
    } finally {
      net.destroy();
    }
  });

  it('a second run on the same network starts from empty statistics (no rows left by the first)', async () => {
    const { frozen, x, labels } = task();
    const short = { ...CONFIG, epochs: 1, swag: { epochs: 1, lr: 0.02, collectEvery: 3 } }; // 2 snapshots < K = 4
    const reused = await network(frozen);
    const fresh = await network(frozen);
    try {
      await trainRun(reused, await featuresOf(reused, x), labels, { ...CONFIG, seed: 9 });
      const second = await trainRun(reused, await featuresOf(reused, x), labels, short);
      const alone = await trainRun(fresh, await featuresOf(fresh, x), labels, short);
      expect(second.collected).toBe(2);
      same(second.posterior, alone.posterior);
    } finally {
      reused.destroy();
      fresh.destroy();
    }
  });

  it('a run killed after a checkpoint and resumed ends bit-identical to an uninterrupted run', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const whole = await trainRun(net, features, labels, CONFIG, { dir: tempDir(), every: 5 });
      const dir = tempDir();
      const crash = new Error('simulated crash');
      await expect(trainRun(net, features, labels, CONFIG, { dir, every: 5 }, { afterStep: (s) => { if (s === 43) throw crash; } })).rejects.toBe(crash);
      let resumedAt = -1;
      const resumed = await trainRun(net, features, labels, CONFIG, { dir, every: 5 }, { onResume: (s) => (resumedAt = s) });
      expect(resumedAt).toBe(40); // in the SWAG phase: the MAP snapshot and the statistics come back too
      expect(resumed.stepsRun).toBe((CONFIG.epochs + CONFIG.swag!.epochs) * (COUNT / BATCH) - 40);
      same(resumed.map, whole.map);
      same(resumed.posterior, whole.posterior);
      expect(resumed.collected).toBe(whole.collected);
      expect(resumed.epochLoss).toEqual(whole.epochLoss);
    } finally {
      net.destroy();
    }
  });

  it('stops a diverging run with a clear message and keeps the last good checkpoint', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const dir = tempDir();
      const error = await trainRun(net, features, labels, { ...CONFIG, lr: 1e30, warmupSteps: 0, swag: undefined }, { dir, every: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrainingDivergedError);
      expect((error as Error).message).toMatch(/training diverged at step \d+ of 36 .*: loss .*, gradient norm .*(NaN|Infinity).*last good checkpoint.*lower learning rate/);
      const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Record<string, unknown>;
      expect(latest).toBeTruthy();
      expect(existsSync(dir)).toBe(true);
    } finally {
      net.destroy();
    }
  });

  it('refuses to resume a checkpoint trained with another config, naming the fields (B)', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const dir = tempDir();
      const crash = new Error('simulated crash');
      await expect(trainRun(net, features, labels, CONFIG, { dir, every: 5 }, { afterStep: (s) => { if (s === 12) throw crash; } })).rejects.toBe(crash);
      const changed = { ...CONFIG, epochs: 7, swag: { ...CONFIG.swag!, collectEvery: 3 } };
      const error = await trainRun(net, features, labels, changed, { dir, every: 5 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResumeMismatchError);
      expect((error as Error).message).toMatch(/epochs: 6 → 7/);
      expect((error as Error).message).toMatch(/swag\.collectEvery: 2 → 3/);
      // The caller's fingerprint (the data, the .swag source) is checked the same way.
      const other = await trainRun(net, features, labels, CONFIG, { dir, every: 5, fingerprint: { 'data.sha256': 'abc' } }).catch((e: unknown) => e);
      expect(other).toBeInstanceOf(ResumeMismatchError);
      expect((other as Error).message).toMatch(/data\.sha256: \(none\) → abc/);
      // The checkpoint itself is untouched: the same config still resumes it.
      let resumedAt = -1;
      await trainRun(net, features, labels, CONFIG, { dir, every: 5 }, { onResume: (s) => (resumedAt = s) });
      expect(resumedAt).toBe(10);
    } finally {
      net.destroy();
    }
  });

  it('a stop request ends the run at a step boundary with a checkpoint there; resumed, it is bit-identical', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const whole = await trainRun(net, features, labels, CONFIG);
      const dir = tempDir();
      let stop = false;
      const error = await trainRun(net, features, labels, CONFIG, { dir, every: 100 }, { afterStep: (s) => { if (s === 41) stop = true; }, shouldStop: () => stop }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrainingStoppedError);
      expect((error as TrainingStoppedError).step).toBe(41);
      expect((error as Error).message).toMatch(/stopped at step 41 of 48/);
      const resumed = await trainRun(net, features, labels, CONFIG, { dir, every: 100 });
      expect(resumed.stepsRun).toBe(7);
      same(resumed.map, whole.map);
      same(resumed.posterior, whole.posterior);
      expect(resumed.epochLoss).toEqual(whole.epochLoss);
    } finally {
      net.destroy();
    }
  });

  it('says which checkpoint it skipped and why when latest.json names a corrupt one', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const dir = tempDir();
      const crash = new Error('simulated crash');
      await expect(trainRun(net, features, labels, CONFIG, { dir, every: 5 }, { afterStep: (s) => { if (s === 12) throw crash; } })).rejects.toBe(crash);
      const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { path: string };
      const params = join(dir, latest.path, 'params.safetensors');
      const bytes = readFileSync(params);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(params, bytes);
      const warnings: string[] = [];
      let resumedAt = -1;
      await trainRun(net, features, labels, CONFIG, { dir, every: 5 }, { onWarning: (w) => warnings.push(w), onResume: (s) => (resumedAt = s) });
      expect(resumedAt).toBe(5);
      expect(warnings.join('\n')).toMatch(/params\.safetensors does not match its checksum; resuming from .*step-5 \(step 5\) instead/);
    } finally {
      net.destroy();
    }
  });
});
