/**
 * An experiment: which `.swag` finetune, which data at what size, how to train, how many runs
 * and posterior draws. Plain JSON on disk (`configs/*.json`); every field is checked with a
 * message that names it, and missing fields take the defaults below.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
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

function wholeNumber(v: number, name: string): void {
  if (!Number.isSafeInteger(v)) throw new ConfigError(`'${name}' must be a whole number, got ${v}`);
}

function atLeastZero(v: number, name: string): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new ConfigError(`'${name}' must be ≥ 0, got ${v}`);
}

function positive(v: number, name: string): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new ConfigError(`'${name}' must be positive, got ${v}`);
}

/** Results go to `<out>/<name>`: a name with a separator or `..` would write elsewhere. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * SWAG snapshots the schedule collects: one every `collectEvery` steps of the SWAG phase, whose
 * steps are its epochs times the full batches of the training set.
 */
export function snapshotsCollected(c: ExperimentConfig): { snapshots: number; steps: number; stepsPerEpoch: number } {
  const stepsPerEpoch = Math.floor(c.data.train / c.model.batch);
  const steps = c.train.swag.epochs * stepsPerEpoch;
  return { snapshots: Math.floor(steps / c.train.swag.collectEvery), steps, stepsPerEpoch };
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
  if (!PLAIN_NAME.test(c.name) || c.name.includes('..')) throw new ConfigError(`'name' must be a plain name (letters, digits, '_', '-', '.'; no '/' or '..'): results go to <out>/<name>; got ${JSON.stringify(c.name)}`);
  wholeNumber(c.data.seed, 'data.seed');
  wholeNumber(c.train.seed, 'train.seed');
  positive(c.train.lr, 'train.lr');
  if (!Number.isInteger(c.train.warmupSteps) || c.train.warmupSteps < 0) throw new ConfigError(`'train.warmupSteps' must be a whole number ≥ 0, got ${c.train.warmupSteps}`);
  atLeastZero(c.train.minLr ?? 0, 'train.minLr');
  atLeastZero(c.train.weightDecay, 'train.weightDecay');
  positive(c.train.clipNorm ?? 1, 'train.clipNorm');
  for (const k of ['beta1', 'beta2'] as const) {
    const v = c.train[k] ?? 0.9;
    if (!(v >= 0 && v < 1)) throw new ConfigError(`'train.${k}' must be in [0, 1), got ${v}`);
  }
  positive(c.train.eps ?? 1e-8, 'train.eps');
  positive(c.train.swag.lr, 'train.swag.lr');
  if (c.data.train < c.model.batch) throw new ConfigError(`'data.train' (${c.data.train}) is smaller than one batch (${c.model.batch})`);
  // Fewer than 2 snapshots is no posterior: zero leaves the all-zero statistics, one has no spread.
  const { snapshots, steps, stepsPerEpoch } = snapshotsCollected(c);
  if (snapshots < 2) {
    throw new ConfigError(
      `'train.swag.collectEvery' (${c.train.swag.collectEvery}) collects ${snapshots} SWAG snapshot${snapshots === 1 ? '' : 's'} in ${steps} steps ` +
        `(${c.train.swag.epochs} epochs × ${stepsPerEpoch} steps); at least 2 are needed: collect more often or add SWAG epochs`,
    );
  }
  return c;
}

/** Where the defaults' relative paths (`model.file`) are resolved: the shipped configs folder. */
const DEFAULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../configs');

/** `model.file` must be a readable file; said with the field's name, not a raw ENOENT later. */
function checkModelFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`'model.file': ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`}`);
  }
  if (!isFile) throw new ConfigError(`'model.file': ${path} is a directory, not a .swag file`);
}

/**
 * Reads a config file over the demo defaults; `model.file` becomes absolute (relative to the
 * config when the config sets it, to the shipped configs when it comes from the defaults).
 */
export function readConfig(path: string, base: ExperimentConfig = DEMO_CONFIG): ExperimentConfig & { model: { file: string } } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${path}: ${e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${path}: the config must be a JSON object`);
  let merged: ExperimentConfig;
  let file: string;
  try {
    merged = merge(base as unknown as Json, json as Json, '') as unknown as ExperimentConfig;
    validateConfig(merged);
    const own = (json as { model?: { file?: unknown } }).model?.file !== undefined;
    file = resolve(own ? dirname(path) : DEFAULTS_DIR, merged.model.file);
    checkModelFile(file);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
  return { ...merged, model: { ...merged.model, file } };
}
