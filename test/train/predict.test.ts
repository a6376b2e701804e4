/**
 * Posterior-averaged prediction on cached features: probabilities are proper, a padded final
 * batch changes nothing, each method is the average it claims to be (checked against the same
 * average computed draw by draw), and SWAG's draws actually spread around the SWAG mean.
 */
import { describe, expect, it } from 'vitest';
import { availableMethods, predictMethod, type TrainedRun } from '../../train/methods.ts';
import { drawFromPosterior, loadPosterior, posteriorSeed, predictProbabilities, samplePosterior } from '../../train/predict.ts';
import { trainRun } from '../../train/trainer.ts';
import { EmptyPosteriorError } from '../../train/posterior.ts';
import { CONFIG, COUNT, featuresOf, network, task } from './fixture.ts';

const close = (a: Float64Array, b: Float64Array, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThan(tol);
};

describe('predictive probabilities', () => {
  it('every method gives rows that sum to one, and each average equals its draws averaged one by one', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const quick = { ...CONFIG, epochs: 2, swag: { epochs: 2, lr: 0.02, collectEvery: 2 } };
      const runs: TrainedRun[] = [];
      for (const seed of [5, 6]) runs.push({ seed, result: await trainRun(net, features, labels, { ...quick, seed }) });
      expect(availableMethods(net, runs)).toEqual(['MAP', 'MC dropout', 'Ensemble', 'SWA', 'SWAG', 'MultiSWAG']);

      // A table whose size is not a multiple of the batch: the last batch is padded.
      const subset = features.select(Array.from({ length: 37 }, (_, i) => (i * 7) % COUNT));
      const S = 4;
      const probs: Record<string, Float64Array> = {};
      for (const m of availableMethods(net, runs)) {
        probs[m] = await predictMethod(net, m, runs, subset, { samples: S });
        for (let r = 0; r < 37; r++) expect(probs[m]![r * 3]! + probs[m]![r * 3 + 1]! + probs[m]![r * 3 + 2]!).toBeCloseTo(1, 6);
      }

      // Ensemble = mean of the two MAP predictions.
      const single = async (map: Map<string, Float32Array>) => {
        net.writeParameters(map);
        return predictProbabilities(net, subset, 1);
      };
      const a = await single(runs[0]!.result.map);
      const b = await single(runs[1]!.result.map);
      close(probs.MAP!, a);
      close(probs.Ensemble!, a.map((v, i) => (v + b[i]!) / 2));

      // SWAG = mean over its S draws, each drawn and predicted on its own.
      loadPosterior(net, runs[0]!.result.posterior);
      const draws: Float64Array[] = [];
      for (let s = 0; s < S; s++) {
        drawFromPosterior(net, posteriorSeed(runs[0]!.seed, s), runs[0]!.result.collected);
        draws.push(await predictProbabilities(net, subset, 1));
      }
      close(probs.SWAG!, draws[0]!.map((_, i) => draws.reduce((acc, d) => acc + d[i]!, 0) / S));
      // The draws differ from each other (the posterior has spread) and from SWA's mean point.
      expect(Math.max(...draws[0]!.map((v, i) => Math.abs(v - draws[1]![i]!)))).toBeGreaterThan(1e-4);
      expect(Math.max(...probs.SWAG!.map((v, i) => Math.abs(v - probs.SWA![i]!)))).toBeGreaterThan(1e-5);
      // MC dropout differs from MAP (masks are on), MultiSWAG from SWAG (two runs).
      expect(Math.max(...probs['MC dropout']!.map((v, i) => Math.abs(v - probs.MAP![i]!)))).toBeGreaterThan(1e-5);
      expect(Math.max(...probs.MultiSWAG!.map((v, i) => Math.abs(v - probs.SWAG![i]!)))).toBeGreaterThan(1e-5);
    } finally {
      net.destroy();
    }
  });

  it('batched draws give the probabilities of the same draws run one forward each', async () => {
    const { frozen, x, labels } = task();
    // Three draws a pass: seven draws take passes of 3, 3 and 1 (two slots left over from the pass before).
    const net = await network(frozen, undefined, { draws: 3 });
    try {
      expect(net.drawsPerPass).toBe(3);
      const features = await featuresOf(net, x);
      const quick = { ...CONFIG, epochs: 2, swag: { epochs: 2, lr: 0.02, collectEvery: 2 } };
      const runs: TrainedRun[] = [];
      for (const seed of [5, 6]) runs.push({ seed, result: await trainRun(net, features, labels, { ...quick, seed }) });
      const subset = features.select(Array.from({ length: 37 }, (_, i) => (i * 7) % COUNT));
      const S = 7;
      loadPosterior(net, runs[0]!.result.posterior);
      const theta = (s: number) => samplePosterior(net, posteriorSeed(runs[0]!.seed, s), runs[0]!.result.collected);
      const batched = await predictProbabilities(net, subset, S, { theta });
      const perDraw = await predictProbabilities(net, subset, S, { theta, perDraw: true });
      close(batched, perDraw, 1e-6);
      // The experiment's SWAG and MultiSWAG take the batched path, with the same draws.
      close(await predictMethod(net, 'SWAG', runs, subset, { samples: S }), perDraw, 1e-6);
      const multi = await predictMethod(net, 'MultiSWAG', runs, subset, { samples: 6 });
      const one = async (run: TrainedRun) => {
        loadPosterior(net, run.result.posterior);
        return predictProbabilities(net, subset, 3, { theta: (s) => samplePosterior(net, posteriorSeed(run.seed, s), run.result.collected), perDraw: true });
      };
      const [p0, p1] = [await one(runs[0]!), await one(runs[1]!)];
      close(multi, p0.map((v, i) => (v + p1[i]!) / 2), 1e-6);
    } finally {
      net.destroy();
    }
  });

  it('SWAG draws have the SWAG mean as their average (sampler, unpack and pack agree)', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      const result = await trainRun(net, features, labels, { ...CONFIG, epochs: 2 });
      loadPosterior(net, result.posterior);
      const mean = result.posterior.get('mean')!;
      const sqMean = result.posterior.get('sq_mean')!;
      const theta = net.device.zeros([net.size]);
      const S = 400;
      const sum = new Float64Array(net.size);
      for (let s = 0; s < S; s++) {
        drawFromPosterior(net, posteriorSeed(1, s), result.collected);
        net.packTheta(theta);
        const t = await net.device.read(theta);
        for (let i = 0; i < net.size; i++) sum[i]! += t[i]!;
      }
      theta.release();
      // Each coordinate's sample mean is within 5 standard errors of the SWAG mean; the variance of
      // a coordinate is at most ½σ² + the low-rank part, bounded here by 2·(sq_mean − mean²) + D's share.
      const D = result.posterior.get('D')!;
      const K = D.length / net.size;
      let worst = 0;
      for (let i = 0; i < net.size; i++) {
        let low = 0;
        for (let k = 0; k < K; k++) low += D[k * net.size + i]! ** 2;
        const variance = 0.5 * Math.max(sqMean[i]! - mean[i]! ** 2, 1e-30) + (0.5 * low) / (K - 1);
        const se = Math.sqrt(variance / S);
        worst = Math.max(worst, Math.abs(sum[i]! / S - mean[i]!) / Math.max(se, 1e-7));
      }
      expect(worst).toBeLessThan(5.5);
    } finally {
      net.destroy();
    }
  });

  it('a posterior without snapshots is refused, never evaluated as an all-zero SWA or SWAG (E)', async () => {
    const { frozen, x, labels } = task();
    const net = await network(frozen);
    try {
      const features = await featuresOf(net, x);
      // The MAP phase only: the statistics stay zero and no snapshot is taken.
      const result = await trainRun(net, features, labels, { ...CONFIG, epochs: 1, swag: undefined });
      expect(result.collected).toBe(0);
      const runs: TrainedRun[] = [{ seed: 3, result }, { seed: 4, result }];
      for (const method of ['SWA', 'SWAG', 'MultiSWAG'] as const) {
        const error = await predictMethod(net, method, runs, features, { samples: 2 }).catch((e: unknown) => e);
        expect(error, method).toBeInstanceOf(EmptyPosteriorError);
        expect((error as Error).message).toMatch(/run 1 .*no SWAG snapshots/);
      }
      expect(() => drawFromPosterior(net, 1, 0)).toThrow(EmptyPosteriorError);
      // MAP still works.
      expect((await predictMethod(net, 'MAP', runs, features, { samples: 1 })).length).toBe(COUNT * 3);
    } finally {
      net.destroy();
    }
  });
});
