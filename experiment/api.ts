/**
 * swaglet's experiment API, the same road `swaglet train`, `eval` and `predict` take:
 *
 *     import { train, evaluate, predict } from 'swaglet';
 *     await train({ config: 'my.json', events: { log: console.log } });
 *     const report = await evaluate({ config: 'my.json' });
 *     const p = await predict({ config: 'my.json', input: 'new.csv', output: 'scores.csv' });
 *
 * Each call takes the experiment folder's lock, opens a device (or uses the one given), compiles
 * the finetune and reads (or computes and caches) the frozen-prefix features, then does its part.
 * Progress arrives through `events`; `events.shouldStop` stops training at a step boundary with
 * a checkpoint there.
 */
import { join } from 'node:path';
export type { Prediction } from './predictFile.ts';
import { removeStaleTempFiles } from '../io/atomic.ts';
import { acquireDirectoryLock } from '../io/lock.ts';
import { type BackendChoice, type Device, openDevice } from '../runtime/index.ts';
import type { MethodName, TrainedRun } from '../train/methods.ts';
import { type ExperimentConfig, readConfig, seedConfig } from './config.ts';
import { writePredictions, predictFile, type Prediction } from './predictFile.ts';
import { type ExperimentEvents, type Prepared, checkTrainingStart, experimentDir, forEachSeed, loadRuns, predictRuns, prepare, quietEvents, runDir, trainRuns, writeReport } from './run.ts';

export interface ExperimentOptions {
  /** A config file, or a config already read (`readConfig`). */
  config: string | ExperimentConfig;
  /** A device to use; otherwise one is opened (and closed) for the call. */
  device?: Device;
  backend?: BackendChoice;
  events?: Partial<ExperimentEvents>;
}

export interface TrainOptions extends ExperimentOptions {
  /** Continue runs from their checkpoints (refused when the config changed). */
  resume?: boolean;
  /** Delete the experiment's runs and start afresh. */
  fresh?: boolean;
  /** Train only these runs (0-based), e.g. one per machine; default all. */
  only?: readonly number[];
  /** How the caller names the command, for hints ("resume with: …"). */
  invocation?: string;
}

export interface PredictOptions extends ExperimentOptions {
  /** A data file (.jsonl, .csv, .parquet) with the same input columns as the training data. */
  input: string;
  /** Where to write one row per input (.jsonl or .csv); optional. */
  output?: string;
  /** Default SWAG. */
  method?: MethodName;
  /** Posterior draws; default the config's `samples`. */
  samples?: number;
}

function eventsOf(partial: Partial<ExperimentEvents> | undefined): ExperimentEvents {
  return { ...quietEvents, ...partial };
}

/**
 * The shared frame: the lock (of the experiment, or of one run's folder when `only` names runs,
 * so several machines can train different runs of one experiment), stale temporary files,
 * the device and the prepared network, each released on the way out.
 */
async function withExperiment<T>(options: ExperimentOptions, role: string, lockRuns: readonly number[] | undefined, body: (config: ExperimentConfig, prepared: Prepared, events: ExperimentEvents) => Promise<T>): Promise<T> {
  const config = typeof options.config === 'string' ? readConfig(options.config) : options.config;
  const events = eventsOf(options.events);
  const warn = (w: string) => events.log(`warning: ${w}`);
  const dirs = lockRuns ? Array.from({ length: config.seeds }, (_, i) => lockRuns.map((m) => runDir(seedConfig(config, i), m))).flat() : [experimentDir(config)];
  const locks = dirs.map((d) => acquireDirectoryLock(d, role, warn));
  try {
    for (const d of dirs) for (const path of removeStaleTempFiles(d, { recursive: true })) events.log(`removed ${path}, left by an interrupted write`);
    for (const path of removeStaleTempFiles(join(config.out, 'cache'))) events.log(`removed ${path}, left by an interrupted write`);
    const device = options.device ?? (await openDevice(options.backend ? { backend: options.backend } : {}));
    try {
      if (!options.device) events.log(device.describe());
      const prepared = await prepare(device, config, events);
      try {
        return await body(config, prepared, events);
      } finally {
        prepared.network.destroy();
      }
    } finally {
      if (!options.device) device.destroy();
    }
  } finally {
    for (const l of locks) l.release();
  }
}

/** Trains the experiment's runs (or `only` some), seed after seed; returns them (every seed's, in order). */
export async function train(options: TrainOptions): Promise<TrainedRun[]> {
  const config = typeof options.config === 'string' ? readConfig(options.config) : options.config;
  const only = options.only;
  if (only) for (const m of only) if (!Number.isInteger(m) || m < 0 || m >= config.runs) throw new RangeError(`run ${m} is not one of the experiment's ${config.runs} runs (0..${config.runs - 1})`);
  return withExperiment({ ...options, config }, 'swaglet train', only, async (c, prepared, events) => {
    const start = { resume: options.resume ?? false, fresh: options.fresh ?? false, ...(only ? { only } : {}) };
    // Every seed is checked before any trains: a refused start refuses them all.
    for (let i = 0; i < c.seeds; i++) checkTrainingStart(seedConfig(c, i), start, options.invocation ?? 'swaglet train CONFIG');
    const runs = await forEachSeed(prepared, c, events, (ci, pi) => trainRuns(pi, ci, events, { resume: options.resume ?? false, ...(only ? { only } : {}) }));
    return runs.flat();
  });
}

/** Evaluates the finished runs: every method on every split; writes `<out>/<name>.json`, `.md`, SVGs. */
export async function evaluate(options: ExperimentOptions): Promise<{ json: string; markdown: string; files: string[] }> {
  return withExperiment(options, 'swaglet eval', undefined, async (c, prepared, events) =>
    writeReport(prepared, await forEachSeed(prepared, c, events, async (ci, pi) => predictRuns(pi, await loadRuns(pi, ci, events), ci, events)), c),
  );
}

/** Trains, then evaluates (the demo). */
export async function trainAndEvaluate(options: TrainOptions): Promise<{ json: string; markdown: string; files: string[] }> {
  return withExperiment(options, 'swaglet demo', undefined, async (c, prepared, events) => {
    for (let i = 0; i < c.seeds; i++) checkTrainingStart(seedConfig(c, i), { resume: options.resume ?? false, fresh: options.fresh ?? false }, options.invocation ?? 'swaglet demo');
    const seeds = await forEachSeed(prepared, c, events, async (ci, pi) => predictRuns(pi, await trainRuns(pi, ci, events, { resume: options.resume ?? false }), ci, events));
    return writeReport(prepared, seeds, c);
  });
}

/** Posterior-averaged class probabilities and predictive entropy of every row of a data file. */
export async function predict(options: PredictOptions): Promise<Prediction> {
  if (options.output && !/\.(jsonl|csv)$/i.test(options.output)) throw new Error(`--output: ${options.output}: write .jsonl or .csv`);
  return withExperiment(options, 'swaglet predict', undefined, async (c, prepared, events) => {
    const runs = await loadRuns(prepared, c, events);
    const prediction = await predictFile(prepared, runs, c, options.input, { method: options.method ?? 'SWAG', samples: options.samples ?? c.samples, events });
    if (options.output) await writePredictions(options.output, prediction);
    return prediction;
  });
}
