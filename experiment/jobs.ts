/**
 * What the job queue needs to know of an experiment: a digest of its config (a job queued under
 * one config must not run under another), and which failures no retry can mend.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataError } from '../data/table.ts';
import { BaseWeightsError } from '../io/baseWeights.ts';
import { ResumeMismatchError } from '../train/fingerprint.ts';
import { TrainingDivergedError } from '../train/trainer.ts';
import { ConfigError, type ExperimentConfig } from './config.ts';

/** A digest of everything that shapes the runs: the config (less where it writes) and the `.swag` source. */
export function experimentFingerprintOf(config: ExperimentConfig): string {
  const { out: _out, ...rest } = config;
  return createHash('sha256').update(JSON.stringify(rest)).update('\u0000').update(readFileSync(config.model.file)).digest('hex').slice(0, 12);
}

/** A bad config, bad data or weights, a refused resume, a diverging run: each fails the same way on any machine. */
export function isPermanentFailure(e: unknown): boolean {
  return e instanceof ConfigError || e instanceof DataError || e instanceof BaseWeightsError || e instanceof ResumeMismatchError || e instanceof TrainingDivergedError;
}
