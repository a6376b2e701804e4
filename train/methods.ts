/**
 * The methods a SWAG-LoRA experiment compares, all from the same M training runs:
 *
 * - MAP: run 0's parameters at the end of its MAP phase (plain LoRA).
 * - MC dropout: MAP with the adapters' training dropout left on, averaged over S masks.
 * - Deep ensemble: the M MAP solutions, averaged.
 * - SWA: run 0's SWAG mean (the posterior's `mean` statistic).
 * - SWAG: S draws from run 0's posterior.
 * - MultiSWAG: S/M draws from each run's posterior, all averaged.
 */
import type { FeatureTable } from './features.ts';
import type { Network } from './network.ts';
import { checkPosteriorHasSnapshots } from './posterior.ts';
import { loadPosterior, mcDropoutSeed, posteriorSeed, predictProbabilities, samplePosterior } from './predict.ts';
import type { RunResult } from './trainer.ts';

export const METHODS = ['MAP', 'MC dropout', 'Ensemble', 'SWA', 'SWAG', 'MultiSWAG'] as const;
export type MethodName = (typeof METHODS)[number];

export interface TrainedRun {
  seed: number;
  result: RunResult;
}

export interface MethodOptions {
  /** Posterior draws (SWAG, MultiSWAG in total, MC dropout). */
  samples: number;
  methods?: readonly MethodName[];
  onProgress?: (method: MethodName, done: number, total: number) => void;
}

/** Which methods the runs support (SWA and SWAG need a posterior; ensembles need two runs). */
export function availableMethods(network: Network, runs: readonly TrainedRun[]): MethodName[] {
  return METHODS.filter((m) => {
    if (m === 'MC dropout') return network.unit.methods.includes('dropoutForward');
    if (m === 'Ensemble') return runs.length > 1;
    if (m === 'SWA') return runs[0]!.result.posterior.has('mean');
    // Listed even when a run collected no snapshot: predictMethod then refuses, loudly.
    if (m === 'SWAG') return network.hasPosterior;
    if (m === 'MultiSWAG') return network.hasPosterior && runs.length > 1;
    return true;
  });
}

/** Predictive probabilities of one method on one feature table. */
export async function predictMethod(network: Network, method: MethodName, runs: readonly TrainedRun[], features: FeatureTable, options: MethodOptions): Promise<Float64Array> {
  const S = options.samples;
  const progress = (done: number, total: number) => options.onProgress?.(method, done, total);
  const first = runs[0]!;
  if (method === 'SWA' || method === 'SWAG') checkPosteriorHasSnapshots(first.result.collected, `run 1 (seed ${first.seed})`);
  if (method === 'MultiSWAG') runs.forEach((r, m) => checkPosteriorHasSnapshots(r.result.collected, `run ${m + 1} (seed ${r.seed})`));
  switch (method) {
    case 'MAP':
      network.writeParameters(first.result.map);
      return predictProbabilities(network, features, 1, { onProgress: progress });
    case 'MC dropout':
      network.writeParameters(first.result.map);
      return predictProbabilities(network, features, S, { dropoutSeed: (s) => mcDropoutSeed(first.seed, s), onProgress: progress });
    case 'Ensemble':
      return predictProbabilities(network, features, runs.length, { prepare: (s) => network.writeParameters(runs[s]!.result.map), onProgress: progress });
    case 'SWA': {
      const mean = first.result.posterior.get('mean');
      if (!mean) throw new Error('SWA needs the posterior statistic `mean`');
      const theta = network.device.tensor([network.size], mean);
      try {
        network.unpackTheta(theta);
        return await predictProbabilities(network, features, 1, { onProgress: progress });
      } finally {
        theta.release();
      }
    }
    case 'SWAG':
      loadPosterior(network, first.result.posterior);
      return predictProbabilities(network, features, S, { theta: (s) => samplePosterior(network, posteriorSeed(first.seed, s), first.result.collected), onProgress: progress });
    case 'MultiSWAG': {
      // S/M draws per run (rounded up), run by run, so each run's statistics are loaded once.
      const per = Math.ceil(S / runs.length);
      const total = per * runs.length;
      return predictProbabilities(network, features, total, {
        theta: (s) => {
          const run = runs[Math.floor(s / per)]!;
          if (s % per === 0) loadPosterior(network, run.result.posterior);
          return samplePosterior(network, posteriorSeed(run.seed, s % per), run.result.collected);
        },
        onProgress: progress,
      });
    }
  }
}
