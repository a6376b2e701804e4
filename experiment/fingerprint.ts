/**
 * The config fingerprint of an experiment's runs: beyond the training fields the trainer records
 * itself, the finetune (a hash of the `.swag` source, the entry, the static sizes) and the data (a
 * hash of the training texts and labels, with the sizes and seed that drew them). A checkpoint and
 * a finished run record it; resuming or evaluating under another one is refused.
 */
import { createHash } from 'node:crypto';
import { type Fingerprint, trainingFingerprint } from '../train/fingerprint.ts';
import type { ExperimentConfig } from './config.ts';
import { type Split, splitDigest } from './dataSources.ts';

/** What the experiment adds to the trainer's own fingerprint. */
export function experimentFingerprint(config: ExperimentConfig, source: string, train: Split): Fingerprint {
  return {
    'model.source.sha256': createHash('sha256').update(source).digest('hex'),
    'model.entry': config.model.entry,
    'model.maxTokens': config.model.maxTokens,
    'data.train': config.data.train,
    'data.seed': config.data.seed,
    'data.train.sha256': splitDigest(train),
  };
}

/** The full fingerprint of run `m` (seed `train.seed + m`), as its checkpoints record it. */
export function runFingerprint(config: ExperimentConfig, m: number, examples: number, extra: Fingerprint): Fingerprint {
  return trainingFingerprint({ ...config.train, seed: config.train.seed + m }, examples, config.model.batch, extra);
}
