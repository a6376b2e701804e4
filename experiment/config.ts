/**
 * An experiment: which `.swag` finetune, which data at what size, how to train, how many runs
 * and posterior draws. Plain JSON on disk (`configs/*.json`); every field is checked with a
 * message that names it, and missing fields take the defaults below.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { TrainConfig } from '../train/trainer.ts';

export interface ExperimentConfig {
  name: string;
  model: {
    /** The `.swag` file (relative to the config file) and the finetune in it. */
    file: string;
    entry: string;
    /** Tokens per example (longer texts are truncated). */
    maxTokens: number;
    batch: number;
  };
  data: {
    /** IMDB reviews for training, validation and test (balanced classes). */
    train: number;
    validation: number;
    test: number;
    /** Amazon fine-food reviews (distribution shift, same labels). */
    shift: number;
    /** SpamAssassin bodies (far out of distribution, no labels). */
    ood: number;
    seed: number;
  };
  train: TrainConfig & { swag: NonNullable<TrainConfig['swag']> };
  /** M: independent runs (deep ensemble and MultiSWAG members). */
  runs: number;
  /** S: posterior draws for SWAG, MultiSWAG (in total) and MC dropout. */
  samples: number;
  /** Checkpoint every this many steps. */
  checkpointEvery: number;
  /** Where results go (relative to the working directory). */
  out: string;
}

export const DEMO_CONFIG: ExperimentConfig = {
  name: 'demo',
  model: { file: '../examples/use_lite_classifier.swag', entry: 'UseLiteSwag', maxTokens: 64, batch: 32 },
  data: { train: 2000, validation: 500, test: 1000, shift: 1000, ood: 500, seed: 0 },
  train: {
    seed: 0,
    epochs: 20,
    lr: 1e-2,
    warmupSteps: 50,
    minLr: 0,
    weightDecay: 0.01,
    clipNorm: 1,
    swag: { epochs: 10, lr: 2e-2, collectEvery: 10 },
  },
  runs: 3,
  samples: 30,
  checkpointEvery: 200,
  out: 'results',
};

type Json = Record<string, unknown>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function merge(base: Json, over: Json, path: string): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const here = path ? `${path}.${k}` : k;
    if (!(k in base)) throw new ConfigError(`unknown field '${here}' (known: ${Object.keys(base).join(', ')})`);
    const b = base[k];
    if (b !== null && typeof b === 'object' && !Array.isArray(b)) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`'${here}' must be an object`);
      out[k] = merge(b as Json, v as Json, here);
    } else {
      if (typeof v !== typeof b) throw new ConfigError(`'${here}' must be a ${typeof b}, got ${JSON.stringify(v)}`);
      out[k] = v;
    }
  }
  return out;
}

function positiveInt(v: number, name: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`'${name}' must be a positive whole number, got ${v}`);
}

/** Checks the numbers make sense together. */
export function validateConfig(c: ExperimentConfig): ExperimentConfig {
  for (const [k, v] of Object.entries(c.data)) if (k !== 'seed') positiveInt(v as number, `data.${k}`);
  positiveInt(c.model.maxTokens, 'model.maxTokens');
  positiveInt(c.model.batch, 'model.batch');
  positiveInt(c.runs, 'runs');
  positiveInt(c.samples, 'samples');
  positiveInt(c.checkpointEvery, 'checkpointEvery');
  positiveInt(c.train.epochs, 'train.epochs');
  positiveInt(c.train.swag.epochs, 'train.swag.epochs');
  positiveInt(c.train.swag.collectEvery, 'train.swag.collectEvery');
  if (!(c.train.lr > 0)) throw new ConfigError(`'train.lr' must be positive, got ${c.train.lr}`);
  if (c.data.train < c.model.batch) throw new ConfigError(`'data.train' (${c.data.train}) is smaller than one batch (${c.model.batch})`);
  return c;
}

/** Reads a config file over the demo defaults; `model.file` becomes absolute. */
export function readConfig(path: string, base: ExperimentConfig = DEMO_CONFIG): ExperimentConfig & { model: { file: string } } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${path}: ${e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${path}: the config must be a JSON object`);
  let merged: ExperimentConfig;
  try {
    merged = merge(base as unknown as Json, json as Json, '') as unknown as ExperimentConfig;
    validateConfig(merged);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
  return { ...merged, model: { ...merged.model, file: resolve(dirname(path), merged.model.file) } };
}
