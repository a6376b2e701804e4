/**
 * An experiment: which `.swag` finetune, which data at what size, how to train, how many runs
 * and posterior draws. Plain JSON on disk (`configs/*.json`); every field is checked with a
 * message that names it, and missing fields take the defaults below.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RenameTable } from '../io/rename.ts';
import { type TrainConfig, collectInterval } from '../train/trainer.ts';
import { type DataConfig, SPLITS, resolveSource } from './dataSources.ts';

export interface ModelConfig {
  /** The `.swag` file (relative to the config file) and the finetune in it. */
  file: string;
  entry: string;
  /**
   * The base's frozen tensors: a named source (`use-lite`), a `.safetensors` file, a list of
   * them, or a sharded checkpoint's `model.safetensors.index.json` (relative to the config file);
   * null when the finetune has no frozen tensors.
   */
  weights: string | string[] | null;
  /** Checkpoint names → `.swag` paths (see io/rename.ts), with slices and transposes. */
  rename: RenameTable | null;
  /** `use-lite` (USE-Lite's SentencePiece), a Hugging Face `tokenizer.json`, or null for tabular data. */
  tokenizer: string | null;
  /** A PEFT adapter folder to start training from (its parameters replace the initializers). */
  init: string | null;
  /** Tokens per example (longer texts are truncated); only matters for text. */
  maxTokens: number;
  batch: number;
  /** The name of the batch dimension in the `.swag` model (default `b`); `batch` is its size. */
  batchDim: string;
  /** Sizes the `.swag` file leaves open, beyond the batch `b` and tokens `t`. */
  dims: Record<string, number>;
  /**
   * How the frozen prefix's features are kept (experiment/prefixCache.ts): `auto` (the default)
   * caches them at f32 if they fit in `prefixCacheMb`, else at f16 if that fits, else recomputes
   * the prefix in every step; `f32`, `f16` and `recompute` force one.
   */
  prefixCache: PrefixCacheMode;
  /** The host memory `auto` may give the prefix cache, in megabytes. */
  prefixCacheMb: number;
  /**
   * A finetune (`Name` in this file, or `other.swag:Name` beside it) with a post-hoc posterior (`over params posthoc`) and the same
   * parameters as `entry`: Laplace-LoRA on run 1's MAP (post-hoc pass, prior precision by
   * validation NLL, linearized predictive). Null: no Laplace row.
   */
  laplace: string | null;
  /** A BLoB finetune (`Name` or `other.swag:Name`, as for laplace), trained once per seed (no SWAG phase) for the BLoB row. Null: no BLoB row. */
  blob: string | null;
}

export type PrefixCacheMode = 'auto' | 'f32' | 'f16' | 'recompute';
export const PREFIX_CACHE_MODES: readonly PrefixCacheMode[] = ['auto', 'f32', 'f16', 'recompute'];

export interface ExperimentConfig {
  name: string;
  model: ModelConfig;
  data: DataConfig;
  train: TrainConfig & { swag: Required<NonNullable<TrainConfig['swag']>> };
  /** M: independent runs (deep ensemble and MultiSWAG members). */
  runs: number;
  /**
   * Repeats of the whole experiment: seed i deals the drawn examples out into its own
   * train/validation/test split (`data.resplit + i`; each example's frozen prefix is computed once
   * for all seeds) and trains its runs with seeds `train.seed + i·runs + m`; the report gives every metric as mean ± standard
   * error over them, and compares with MAP per seed.
   */
  seeds: number;
  /** ECE's equal-width confidence bins: one ECE column per count (15 is the `ece` column). */
  eceBins: number[];
  /** S: posterior draws for SWAG, MultiSWAG (in total) and MC dropout. */
  samples: number;
  /** Checkpoint every this many steps. */
  checkpointEvery: number;
  /** Where results go (relative to the working directory). */
  out: string;
  /**
   * A grid of experiments: config paths (`train.lr`, `model.dims.r`, `train.swag.lr`) to lists of
   * values. Each point of the grid is an experiment of its own (experiment/sweep.ts); null: none.
   */
  sweep: Record<string, unknown[]> | null;
}

export const DEMO_CONFIG: ExperimentConfig = {
  name: 'demo',
  model: { file: '../examples/use_lite_classifier.swag', entry: 'UseLiteSwag', weights: 'use-lite', rename: null, tokenizer: 'use-lite', init: null, maxTokens: 64, batch: 32, batchDim: 'b', dims: {}, prefixCache: 'auto', prefixCacheMb: 1024, laplace: null, blob: null },
  data: {
    train: 'bundled:imdb',
    validation: 'bundled:imdb',
    test: 'bundled:imdb',
    shift: 'bundled:fine-foods',
    ood: 'bundled:spam-assassin',
    sizes: { train: 2000, validation: 500, test: 1000, shift: 1000, ood: 500 },
    task: 'classification',
    text: 'text',
    label: 'label',
    seed: 0,
    resplit: 0,
  },
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
    swag: { epochs: 10, lr: 2e-2, collectEvery: 10, collect: 'steps', start: 'last', anneal: { epochs: 0, divisor: 1 } },
  },
  runs: 3,
  seeds: 1,
  eceBins: [15, 20],
  samples: 30,
  checkpointEvery: 200,
  out: 'results',
  sweep: null,
};

type Json = Record<string, unknown>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Fields whose value is not shaped like its default: a union (a source file or a fraction), a
 * table with keys of the user's (a rename table, sizes), or one that defaults to absent. Each is
 * taken whole here and checked in `validateConfig`.
 */
const FREE_FIELDS = new Set([
  'model.weights', 'model.rename', 'model.tokenizer', 'model.init', 'model.dims', 'model.laplace', 'model.blob',
  'data.train', 'data.validation', 'data.test', 'data.shift', 'data.ood', 'data.sizes', 'data.task',
  'data.text', 'data.features', 'data.label', 'data.labels', 'data.question', 'data.choices', 'data.answer', 'data.answerIndexBase', 'data.sentenceCase', 'data.letterSpace', 'sweep',
]);

function merge(base: Json, over: Json, path: string): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const here = path ? `${path}.${k}` : k;
    if (FREE_FIELDS.has(here)) {
      out[k] = v;
      continue;
    }
    if (!(k in base)) {
      const known = [...new Set([...Object.keys(base), ...[...FREE_FIELDS].filter((f) => f.startsWith(`${path}.`) && !f.slice(path.length + 1).includes('.')).map((f) => f.slice(path.length + 1))])];
      throw new ConfigError(`unknown field '${here}' (known: ${known.join(', ')})`);
    }
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

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every(isString);

/** The free-form fields' shapes (see FREE_FIELDS). */
function validateShapes(c: ExperimentConfig): void {
  const m = c.model;
  if (m.weights !== null && !isString(m.weights) && !isStringList(m.weights)) throw new ConfigError(`'model.weights' must be a source name, a .safetensors path, a list of them or an index.json, got ${JSON.stringify(m.weights)}`);
  if (m.rename !== null && (typeof m.rename !== 'object' || Array.isArray(m.rename))) throw new ConfigError(`'model.rename' must be an object from checkpoint names to .swag paths, got ${JSON.stringify(m.rename)}`);
  for (const k of ['tokenizer', 'init'] as const) if (m[k] !== null && !isString(m[k])) throw new ConfigError(`'model.${k}' must be a path (or null), got ${JSON.stringify(m[k])}`);
  for (const k of ['laplace', 'blob'] as const) if (m[k] !== null && (!isString(m[k]) || !/^([^:]+\.swag:)?[A-Za-z_][A-Za-z0-9_]*$/.test(m[k]))) throw new ConfigError(`'model.${k}' must name a finetune, Name (in model.file) or file.swag:Name (a file beside it), or be null; got ${JSON.stringify(m[k])}`);
  if (typeof m.dims !== 'object' || m.dims === null || Array.isArray(m.dims)) throw new ConfigError(`'model.dims' must be an object of sizes, got ${JSON.stringify(m.dims)}`);
  for (const [k, v] of Object.entries(m.dims)) positiveInt(v, `model.dims.${k}`);
  if (c.sweep !== null) {
    if (typeof c.sweep !== 'object' || Array.isArray(c.sweep)) throw new ConfigError(`'sweep' must be an object from config paths to lists of values, got ${JSON.stringify(c.sweep)}`);
    for (const [k, v] of Object.entries(c.sweep)) if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`'sweep.${k}' must be a non-empty list of values, got ${JSON.stringify(v)}`);
  }
  const d = c.data;
  for (const s of ['train', 'test'] as const) if (!isString(d[s])) throw new ConfigError(`'data.${s}' must name a data file (.jsonl, .csv, .parquet) or a bundled set, got ${JSON.stringify(d[s])}`);
  if (!isString(d.validation) && !(typeof d.validation === 'number' && d.validation > 0 && d.validation < 1)) throw new ConfigError(`'data.validation' must name a data file or be a fraction of the training file in (0, 1), got ${JSON.stringify(d.validation)}`);
  for (const s of ['shift', 'ood'] as const) if (d[s] !== undefined && d[s] !== null && !isString(d[s])) throw new ConfigError(`'data.${s}' must name a data file or be left out, got ${JSON.stringify(d[s])}`);
  if (d.task !== 'classification' && d.task !== 'multiple-choice') throw new ConfigError(`'data.task' must be "classification" or "multiple-choice", got ${JSON.stringify(d.task)}`);
  if (d.sizes !== undefined) {
    if (typeof d.sizes !== 'object' || d.sizes === null || Array.isArray(d.sizes)) throw new ConfigError(`'data.sizes' must be an object of row counts by split, got ${JSON.stringify(d.sizes)}`);
    for (const [k, v] of Object.entries(d.sizes)) {
      if (!(SPLITS as readonly string[]).includes(k)) throw new ConfigError(`unknown field 'data.sizes.${k}' (known: ${SPLITS.join(', ')})`);
      positiveInt(v as number, `data.sizes.${k}`);
    }
  }
  for (const k of ['text', 'label', 'question', 'answer'] as const) if (d[k] !== undefined && !isString(d[k])) throw new ConfigError(`'data.${k}' must be a column name, got ${JSON.stringify(d[k])}`);
  if (d.features !== undefined && !isString(d.features) && !isStringList(d.features)) throw new ConfigError(`'data.features' must be a column name or a list of them, got ${JSON.stringify(d.features)}`);
  if (d.choices !== undefined && !isString(d.choices) && !isStringList(d.choices)) throw new ConfigError(`'data.choices' must be a column name or a list of them, got ${JSON.stringify(d.choices)}`);
  if (d.labels !== undefined && !isStringList(d.labels)) throw new ConfigError(`'data.labels' must be a list of class names, got ${JSON.stringify(d.labels)}`);
  if (d.task === 'multiple-choice' && (!d.question || !d.choices || !d.answer)) throw new ConfigError(`a multiple-choice task needs 'data.question', 'data.choices' and 'data.answer'`);
  if (d.answerIndexBase !== undefined && d.answerIndexBase !== 0 && d.answerIndexBase !== 1) throw new ConfigError(`'data.answerIndexBase' must be 0 or 1, got ${JSON.stringify(d.answerIndexBase)}`);
  for (const k of ['sentenceCase', 'letterSpace'] as const) {
    if (d[k] === undefined) continue;
    if (typeof d[k] !== 'boolean') throw new ConfigError(`'data.${k}' must be true or false, got ${JSON.stringify(d[k])}`);
    if (d.task !== 'multiple-choice') throw new ConfigError(`'data.${k}' is for a multiple-choice task ('data.task': "multiple-choice")`);
  }
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
export function snapshotsCollected(c: ExperimentConfig, trainCount: number): { snapshots: number; steps: number; stepsPerEpoch: number } {
  const stepsPerEpoch = Math.floor(trainCount / c.model.batch);
  const steps = c.train.swag.epochs * stepsPerEpoch;
  return { snapshots: stepsPerEpoch === 0 ? 0 : Math.floor(steps / collectInterval(c.train.swag, stepsPerEpoch)), steps, stepsPerEpoch };
}

/** Checks the numbers make sense together. */
export function validateConfig(c: ExperimentConfig): ExperimentConfig {
  validateShapes(c);
  positiveInt(c.model.maxTokens, 'model.maxTokens');
  positiveInt(c.model.batch, 'model.batch');
  if (!PREFIX_CACHE_MODES.includes(c.model.prefixCache)) throw new ConfigError(`'model.prefixCache' must be one of ${PREFIX_CACHE_MODES.map((m) => JSON.stringify(m)).join(', ')}, got ${JSON.stringify(c.model.prefixCache)}`);
  if (!(c.model.prefixCacheMb > 0)) throw new ConfigError(`'model.prefixCacheMb' must be a positive number of megabytes, got ${JSON.stringify(c.model.prefixCacheMb)}`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.model.batchDim)) throw new ConfigError(`'model.batchDim' must be a dim name of the .swag model, got ${JSON.stringify(c.model.batchDim)}`);
  positiveInt(c.runs, 'runs');
  positiveInt(c.samples, 'samples');
  positiveInt(c.checkpointEvery, 'checkpointEvery');
  // No MAP phase only when it starts from a trained adapter: SWAG is then collected around it.
  if (!(c.train.epochs === 0 && c.model.init !== null)) positiveInt(c.train.epochs, c.train.epochs === 0 ? 'train.epochs (0 needs model.init, a trained PEFT adapter to collect SWAG around)' : 'train.epochs');
  positiveInt(c.train.swag.epochs, 'train.swag.epochs');
  positiveInt(c.train.swag.collectEvery, 'train.swag.collectEvery');
  const swag = c.train.swag;
  if (swag.collect !== 'steps' && swag.collect !== 'epoch') throw new ConfigError(`'train.swag.collect' must be "steps" (every collectEvery steps) or "epoch" (once per epoch), got ${JSON.stringify(swag.collect)}`);
  if (swag.start !== 'last' && swag.start !== 'best') throw new ConfigError(`'train.swag.start' must be "last" (where MAP ends) or "best" (the MAP epoch of lowest validation loss), got ${JSON.stringify(swag.start)}`);
  if (!Number.isInteger(swag.anneal.epochs) || swag.anneal.epochs < 0) throw new ConfigError(`'train.swag.anneal.epochs' must be a whole number ≥ 0, got ${swag.anneal.epochs}`);
  if (!(swag.anneal.divisor >= 1) || !Number.isFinite(swag.anneal.divisor)) throw new ConfigError(`'train.swag.anneal.divisor' must be a number ≥ 1 (the rate anneals to lr / divisor), got ${swag.anneal.divisor}`);
  positiveInt(c.seeds, 'seeds');
  if (!Array.isArray(c.eceBins) || c.eceBins.length === 0) throw new ConfigError(`'eceBins' must be a list of bin counts, got ${JSON.stringify(c.eceBins)}`);
  c.eceBins.forEach((b, i) => positiveInt(b, `eceBins[${i}]`));
  if (!PLAIN_NAME.test(c.name) || c.name.includes('..')) throw new ConfigError(`'name' must be a plain name (letters, digits, '_', '-', '.'; no '/' or '..'): results go to <out>/<name>; got ${JSON.stringify(c.name)}`);
  wholeNumber(c.data.seed, 'data.seed');
  wholeNumber(c.data.resplit ?? 0, 'data.resplit');
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
  // With a training size in the config the schedule is checked now; otherwise once the data is read.
  const trainCount = c.data.sizes?.train;
  if (trainCount !== undefined && typeof c.data.validation !== 'number') checkTrainingSize(c, trainCount);
  return c;
}

/** The training set must fill a batch, and the schedule must collect at least 2 SWAG snapshots. */
export function checkTrainingSize(c: ExperimentConfig, trainCount: number): void {
  if (trainCount < c.model.batch) throw new ConfigError(`'data.train' has ${trainCount} examples, fewer than one batch (${c.model.batch})`);
  // Fewer than 2 snapshots is no posterior: zero leaves the all-zero statistics, one has no spread.
  const { snapshots, steps, stepsPerEpoch } = snapshotsCollected(c, trainCount);
  if (snapshots < 2 && c.train.swag.collect === 'epoch') {
    throw new ConfigError(`'train.swag.epochs' (${c.train.swag.epochs}) collects ${snapshots} SWAG snapshot${snapshots === 1 ? '' : 's'} with one per epoch; at least 2 are needed: add SWAG epochs`);
  }
  if (snapshots < 2) {
    throw new ConfigError(
      `'train.swag.collectEvery' (${c.train.swag.collectEvery}) collects ${snapshots} SWAG snapshot${snapshots === 1 ? '' : 's'} in ${steps} steps ` +
        `(${c.train.swag.epochs} epochs × ${stepsPerEpoch} steps); at least 2 are needed: collect more often or add SWAG epochs`,
    );
  }
}

/**
 * Seed `i` of an experiment: its own split (`data.resplit + i`: the same examples as seed 0, dealt
 * out again among the splits that share a source), its own training seeds
 * (`train.seed + i·runs + m` for run m), and its runs under `<out>/<name>/seed-<i>/` (seed 0 keeps
 * `<out>/<name>/`, where a one-seed experiment has always kept them).
 */
export function seedConfig(c: ExperimentConfig, i: number): ExperimentConfig {
  if (!Number.isInteger(i) || i < 0 || i >= c.seeds) throw new RangeError(`seed ${i} is not one of the experiment's ${c.seeds} seeds`);
  if (i === 0) return c;
  return { ...c, name: `${c.name}/seed-${i}`, data: { ...c.data, resplit: (c.data.resplit ?? 0) + i }, train: { ...c.train, seed: c.train.seed + i * c.runs } };
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
export function readConfig(path: string, base: ExperimentConfig = DEMO_CONFIG): ExperimentConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${path}: ${e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${path}: the config must be a JSON object`);
  let merged: ExperimentConfig;
  try {
    merged = merge(ownDefaults(base, json as Json, dirname(path)) as unknown as Json, json as Json, '') as unknown as ExperimentConfig;
    validateConfig(merged);
    merged = resolvePaths(merged, json as Json, dirname(path));
    checkModelFile(merged.model.file);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
  return merged;
}

/**
 * The defaults a config builds on. A config that brings its own model (a `model.file` other than
 * the demo's) does not inherit the demo's weights and tokenizer; one that brings its own data (`data.train`) does not
 * inherit the demo's other splits and sizes: each must then be said.
 */
function ownDefaults(base: ExperimentConfig, json: Json, configDir: string): ExperimentConfig {
  const model = (json.model ?? {}) as Json;
  const data = (json.data ?? {}) as Json;
  const out = structuredClone(base);
  const sameModel = typeof model.file === 'string' && resolve(configDir, model.file) === resolve(DEFAULTS_DIR, base.model.file);
  if (model.file !== undefined && !sameModel) Object.assign(out.model, { weights: null, rename: null, tokenizer: null, init: null, laplace: null, blob: null });
  if (data.train !== undefined) {
    const { seed, resplit, task, text, label } = out.data;
    out.data = { train: '', validation: '', test: '', seed, resplit, task, text, label } as DataConfig;
  }
  return out;
}

/** Paths the config sets are relative to it; the defaults' to the shipped configs folder. */
function resolvePaths(c: ExperimentConfig, json: Json, configDir: string): ExperimentConfig {
  const model = (json.model ?? {}) as Json;
  const dirOf = (own: boolean) => (own ? configDir : DEFAULTS_DIR);
  const path = (p: string, own: boolean) => (NAMED_SOURCES.includes(p) ? p : resolve(dirOf(own), p));
  const m = c.model;
  const weights = m.weights === null ? null : Array.isArray(m.weights) ? m.weights.map((w) => path(w, model.weights !== undefined)) : path(m.weights, model.weights !== undefined);
  const data = (json.data ?? {}) as Json;
  const d: DataConfig = { ...c.data };
  for (const s of SPLITS) {
    const v = d[s];
    if (typeof v === 'string') (d as unknown as Json)[s] = resolveSource(v, dirOf(data[s] !== undefined));
  }
  return {
    ...c,
    model: {
      ...m,
      file: resolve(dirOf(model.file !== undefined), m.file),
      weights,
      tokenizer: m.tokenizer === null ? null : path(m.tokenizer, model.tokenizer !== undefined),
      init: m.init === null ? null : resolve(dirOf(model.init !== undefined), m.init),
    },
    data: d,
  };
}

/** Sources named rather than found on disk. */
export const NAMED_SOURCES: readonly string[] = ['use-lite'];
