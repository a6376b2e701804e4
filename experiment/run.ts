/**
 * The end-to-end experiment: data → frozen-prefix features (cached on disk) → M training runs
 * (MAP phase, then SWAG collection; checkpointed, resumable) → every method's predictions on the
 * in-distribution test set, the shifted set and the OOD set → metrics, tables and plots.
 *
 * `train` and `evaluate` are separate so `swaglet train` and `swaglet eval` can run apart; both
 * find their inputs under `config.out/<name>/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { evaluate } from '../eval/metrics.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readLatestCheckpoint } from '../io/checkpoint.ts';
import { LOCK_FILE } from '../io/lock.ts';
import { readFileManifest } from '../io/manifest.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { isWeightSource, loadWeightSource } from '../models/sources.ts';
import { readPeftParameters } from '../io/peft.ts';
import type { Device } from '../runtime/index.ts';
import type { MatmulAutotuneOptions, WeightsOption } from '../swaglet.ts';
import { computeFeatures, computeFeaturesReusing, type FeatureStorage, FeatureTable, type KnownFeatures, knownFeatures } from '../train/features.ts';
import { megabytes, type PrefixPlan, planPrefixCache } from './prefixCache.ts';
import { availableMethods, predictMethod, type MethodName, type TrainedRun } from '../train/methods.ts';
import { type Fingerprint, ResumeMismatchError, diffFingerprints } from '../train/fingerprint.ts';
import { Network, swagReader } from '../train/network.ts';
import { trainRun, type RunResult } from '../train/trainer.ts';
import { KFAC_EXAMPLES_PER_CALL, collectKfac, compilePosterior, glmFromJacobians, glmPredictive, jacobians, kfacDeviations, kfacPosterior, meanNll, posteriorDeviations } from '../train/laplace.ts';
import { mcDropoutSeed, posteriorSeed, predictProbabilities } from '../train/predict.ts';
import { ConfigError, type ExperimentConfig, type ModelConfig, checkTrainingSize, seedConfig } from './config.ts';
import { experimentFingerprint, runFingerprint } from './fingerprint.ts';
import { RESULT_FILE, RUN_MANIFEST, checkRunResult, inspectRun, writeRunManifest } from './runManifest.ts';
import { answerLetterIds, inputTable, loadTokenizer } from './data.ts';
import { type ExperimentData, SPLITS, loadSplits, sourceTitle, splitDigest } from './dataSources.ts';
import { writeAdapters } from './adapters.ts';
import { buildReport, type EvaluatedMethod, type SeedEvaluation } from './report.ts';

export interface ExperimentEvents {
  /** A new stage begins. */
  stage(title: string): void;
  /** Progress within a task. */
  progress(task: string, done: number, total: number, detail?: string): void;
  log(line: string): void;
  /** Asked between steps: true stops the work there (training keeps a checkpoint of the step). */
  shouldStop?(): boolean;
}

export const quietEvents: ExperimentEvents = { stage() {}, progress() {}, log() {} };

/** The work stopped on request (a Ctrl-C) at a safe point. */
export class ExperimentStoppedError extends Error {
  override name = 'ExperimentStoppedError';
}

const warn = (events: ExperimentEvents, message: string) => events.log(`warning: ${message}`);

/** Everything of one experiment lives here. */
export const experimentDir = (config: ExperimentConfig) => join(config.out, config.name);

export interface Prepared {
  network: Network;
  data: ExperimentData;
  features: Record<'train' | 'validation' | 'test', FeatureTable> & Partial<Record<'shift' | 'ood', FeatureTable>>;
  /** What the runs' checkpoints record beyond the training config: the source and the data. */
  fingerprint: Fingerprint;
  /** Parameters every run starts from instead of the initializers (`model.init`, a PEFT adapter). */
  initial?: ReadonlyMap<string, Float32Array>;
  /** Multiple choice: the answer letters' token ids, the model's `letters` input on every row. */
  letters?: Int32Array;
  /** How the frozen prefix's features are kept (experiment/prefixCache.ts). */
  prefixPlan: PrefixPlan;
}

/** The features of the first seed's examples by input digest, built once for all later seeds. */
const KNOWN_FEATURES = new WeakMap<Prepared, KnownFeatures>();

/** Where run `m` keeps its checkpoints and outputs. */
export const runDir = (config: ExperimentConfig, m: number) => join(experimentDir(config), 'runs', `run-${m}`);

/** The run folders an experiment holds now (any content but a lock: finished, unfinished or damaged). */
export function existingRuns(config: ExperimentConfig, only?: readonly number[]): string[] {
  const runs = join(experimentDir(config), 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((d) => /^run-\d+$/.test(d) && (!only || only.includes(Number(d.slice(4)))) && readdirSync(join(runs, d)).some((f) => f !== LOCK_FILE))
    .map((d) => join(runs, d));
}

/**
 * Whether `train` may start: a fresh start over existing runs must be asked for (`fresh`
 * deletes them); without `resume` or `fresh` a folder that holds a run is never adopted.
 * With `only`, just those runs are looked at (and deleted).
 */
export function checkTrainingStart(config: ExperimentConfig, options: { resume: boolean; fresh: boolean; only?: readonly number[] }, resumeHint: string): void {
  if (options.resume && options.fresh) throw new ConfigError('--resume and --fresh exclude each other');
  const runs = existingRuns(config, options.only);
  if (options.fresh) {
    // The run folders' contents go; a lock held in one (ours) stays. So does the BLoB run's.
    for (const dir of runs) for (const f of readdirSync(dir)) if (f !== LOCK_FILE) rmSync(join(dir, f), { recursive: true, force: true });
    if (!options.only) rmSync(join(experimentDir(config), 'blob'), { recursive: true, force: true });
    return;
  }
  if (!options.resume && runs.length) {
    throw new ConfigError(`${experimentDir(config)} holds a run (${runs.map((r) => r.split('/').pop()).join(', ')}): continue it with ${resumeHint} --resume, or start afresh with --fresh (deletes it)`);
  }
}

function digestParameters(params: ReadonlyMap<string, Float32Array>): string {
  const h = createHash('sha256');
  for (const [k, v] of [...params].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(k).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return h.digest('hex');
}

const hash = (...parts: (string | number)[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);

/** The frozen base the config names: a named source, or a checkpoint with its rename table. */
export async function weightsOf(model: ModelConfig): Promise<WeightsOption | undefined> {
  if (model.weights === null) return undefined;
  if (typeof model.weights === 'string' && isWeightSource(model.weights)) return loadWeightSource(model.weights);
  return { files: model.weights, ...(model.rename ? { rename: model.rename } : {}) };
}

/**
 * Matmul tiles tuned on the device for the products worth it, the winners kept beside the
 * run's feature cache: a rerun, another seed or a companion finetune times nothing again.
 */
function tuningOf(config: ExperimentConfig, events?: ExperimentEvents): MatmulAutotuneOptions {
  return { cacheFile: join(config.out, 'cache', 'matmul-autotune.json'), ...(events ? { log: (line: string) => events.log(line) } : {}) };
}

/** Compiles the finetune, loads the data and computes (or loads) the frozen-prefix features. */
export async function prepare(device: Device, config: ExperimentConfig, events: ExperimentEvents, earlier?: Prepared): Promise<Prepared> {
  const reuse = earlier?.network;
  events.stage('Data');
  const data = await loadSplits(config.data, dirname(config.model.file));
  const present = SPLITS.filter((s) => data[s]);
  events.log(`${present.map((s) => `${s} ${data[s]!.labels.length} (${sourceTitle(data[s]!.source)})`).join(', ')}; ${data.labelMap.classCount} classes (${data.labelMap.names.join(', ')})`);
  checkTrainingSize(config, data.train.labels.length);
  const tokenizer = await loadTokenizer(config.model);
  // Before compiling: a letter that is not one token fails in a moment, not after the compile.
  const letters = answerLetterIds(config.data, tokenizer, data.labelMap.classCount);
  if (letters) events.log(`answer letters ${data.labelMap.names.map((l, c) => `${config.data.letterSpace ? '" ' : ''}${l}${config.data.letterSpace ? '"' : ''} = token ${letters[c]}`).join(', ')}`);

  const source = readFileSync(config.model.file, 'utf8');
  const t0 = performance.now();
  if (!reuse) events.stage('Compile');
  const weights = reuse ? undefined : await weightsOf(config.model);
  // Another seed of the same experiment: the same compiled network, new data.
  const compileNetwork = (splitFrozenPrefix: boolean) => Network.compile(device, {
    source,
    file: config.model.file,
    entry: config.model.entry,
    // Token count `t` only for text (a tabular model has no such size).
    dims: { ...(tokenizer ? { t: config.model.maxTokens } : {}), ...config.model.dims, [config.model.batchDim]: config.model.batch },
    batchDim: config.model.batchDim,
    readFile: swagReader(),
    splitFrozenPrefix,
    ...(weights !== undefined ? { weights } : {}),
    // SWAG and MultiSWAG predict with their draws stacked in one pass (train/predict.ts) where
    // that pays: on a GPU, whose launches and small matmuls leave it idle. On llvmpipe it does
    // not (docs/perf/README.md: the same kernel work within noise, plus seconds of pipeline
    // compilation for the extra program), so the CPU keeps one forward per draw.
    ...(device.report.isCpu ? {} : { draws: config.samples }),
    autotune: tuningOf(config, events),
  });
  let network = reuse ?? await compileNetwork(true);
  // How the prefix's features are kept: decided once, by the first seed, from their size at f32.
  let plan: PrefixPlan = earlier?.prefixPlan ?? 'f32';
  if (!reuse && network.hasPrefix) {
    const rowBytes = network.features.reduce((n, f) => n + f.rowSize * 4, 0);
    const bytes = present.reduce((n, s) => n + data[s]!.labels.length * rowBytes, 0);
    plan = planPrefixCache(config.model.prefixCache, bytes, config.model.prefixCacheMb);
    const why = config.model.prefixCache === 'auto' ? ` ('auto' within ${config.model.prefixCacheMb} MB)` : ` (model.prefixCache ${JSON.stringify(config.model.prefixCache)})`;
    events.log(`frozen prefix: ${megabytes(bytes)} of features at f32 (${megabytes(rowBytes)} an example); ${plan === 'recompute' ? 'recomputed in every step, not cached' : `cached at ${plan}${plan === 'f16' ? `, ${megabytes(bytes / 2)}` : ''}`}${why}`);
    if (plan === 'recompute') {
      network.destroy();
      network = await compileNetwork(false);
    }
  }
  const storage: FeatureStorage = plan === 'f16' ? 'f16' : 'f32';
  try {
    if (!network.hasPosterior) {
      throw new ConfigError(`'model.entry': ${config.model.entry} in ${config.model.file} has no posterior (collect and sample): the SWAG phase needs a finetune with one, such as 'posterior SWAG(K: 5)'`);
    }
    if (network.classes !== data.labelMap.classCount) {
      throw new ConfigError(`${config.model.entry} predicts ${network.classes} classes, but the training data have ${data.labelMap.classCount} (${data.labelMap.names.join(', ')}): set the finetune's class count (e.g. 'model.dims')`);
    }
    events.log(`${config.model.entry}: ${network.size} trainable parameters; ${network.hasPrefix ? 'frozen prefix cached' : 'per-example inputs'} as ${network.features.map((f) => `${f.name} [${f.rowShape.join(', ')}]`).join(', ')} per example (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    events.stage('Frozen prefix (computed once per example, cached on disk)');
    const cacheDir = join(config.out, 'cache');
    mkdirSync(cacheDir, { recursive: true });
    const key = hash(source, config.model.entry, config.model.maxTokens, JSON.stringify(config.model.weights), JSON.stringify(config.model.rename), String(config.model.tokenizer), network.features.map((f) => f.name + f.rowShape.join('x')).join(), letters ? Array.from(letters).join() : '', ...(storage === 'f16' ? ['f16'] : []));
    const features = {} as Prepared['features'];
    // Another seed: the features of examples an earlier seed saw are copied, not recomputed.
    // The map is built once, from the first seed's splits, and kept for every later seed.
    const knownOf = (): KnownFeatures | undefined => {
      if (!earlier || !network.hasPrefix) return undefined;
      let known = KNOWN_FEATURES.get(earlier);
      if (!known) {
        const map = new Map<string, readonly [FeatureTable, number]>();
        for (const s of SPLITS) {
          const split = earlier.data[s];
          const table = earlier.features[s];
          if (split && table) knownFeatures(inputTable(split, network.dataInputs, tokenizer, config.model.maxTokens, letters), table, map);
        }
        KNOWN_FEATURES.set(earlier, (known = map));
      }
      return known;
    };
    for (const s of present) {
      const split = data[s]!;
      const path = join(cacheDir, `${s}-${hash(key, splitDigest(split))}.safetensors`);
      const meta = { key };
      let table = await FeatureTable.load(path, network.features, meta, (problem) => warn(events, `${problem}; recomputing it`));
      if (table) events.log(`${s}: ${table.count} examples from ${path}`);
      else {
        const rows = inputTable(split, network.dataInputs, tokenizer, config.model.maxTokens, letters);
        const t = performance.now();
        const progress = (done: number, total: number) => {
          if (events.shouldStop?.()) throw new ExperimentStoppedError(`stopped while computing the frozen prefix of ${s} (the splits done so far are cached)`);
          events.progress(`prefix ${s}`, done, total);
        };
        const prior = knownOf();
        const computed = prior ? await computeFeaturesReusing(network, rows, prior, progress, storage) : { table: await computeFeatures(network, rows, progress, storage), reused: 0 };
        table = computed.table;
        await table.save(path, meta);
        events.log(`${s}: ${table.count} examples${computed.reused ? ` (${computed.reused} from an earlier seed)` : ''} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
      features[s] = table;
    }
    // A PEFT adapter as the starting point: its tensors replace the initializers of every run.
    const initial = config.model.init ? await readPeftParameters(config.model.init, network.unit.compiled.network!.attachments, network.theta.entries, { allowMissing: true }) : undefined;
    if (initial) events.log(`starting from the PEFT adapter ${config.model.init} (${[...initial.keys()].join(', ')})`);
    const fingerprint: Fingerprint = {
      ...experimentFingerprint(config, source, data.train),
      ...(initial ? { 'model.init.sha256': digestParameters(initial) } : {}),
      ...(letters ? { 'data.letters': Array.from(letters).join(',') } : {}),
      // f16 features train on other numbers; f32 and recompute on the same ones (up to rounding).
      ...(storage === 'f16' ? { 'model.prefixCache': 'f16' } : {}),
    };
    return { network, data, features, fingerprint, prefixPlan: plan, ...(initial ? { initial } : {}), ...(letters ? { letters } : {}) };
  } catch (e) {
    if (!reuse) network.destroy();
    throw e;
  }
}

async function saveRun(path: string, run: TrainedRun): Promise<void> {
  const t = (v: Float32Array) => ({ dtype: 'F32' as const, shape: [v.length], data: v });
  const tensors = {
    ...Object.fromEntries([...run.result.map].map(([k, v]) => [`map.${k}`, t(v)])),
    ...Object.fromEntries([...run.result.posterior].map(([k, v]) => [`posterior.${k}`, t(v)])),
  };
  await writeSafetensors(path, tensors, { seed: String(run.seed), collected: String(run.result.collected), epochLoss: JSON.stringify(run.result.epochLoss) });
}

async function loadRun(path: string): Promise<TrainedRun> {
  const f = await readSafetensors(path);
  const map = new Map<string, Float32Array>();
  const posterior = new Map<string, Float32Array>();
  for (const [k, v] of Object.entries(f.tensors)) {
    if (k.startsWith('map.')) map.set(k.slice(4), v.data as Float32Array);
    else if (k.startsWith('posterior.')) posterior.set(k.slice(10), v.data as Float32Array);
  }
  const result: RunResult = { map, posterior, collected: Number(f.metadata.collected), epochLoss: JSON.parse(f.metadata.epochLoss ?? '[]') as number[], stepsRun: 0 };
  return { seed: Number(f.metadata.seed), result };
}

/**
 * Trains the M runs, each resumed from its checkpoints when `resume`, saving results and adapters.
 * A run counts as finished only when its manifest verifies; a resumed run completes whatever a
 * crash left unwritten. A run trained with another config is refused, naming the fields.
 */
export async function trainRuns(prepared: Prepared, config: ExperimentConfig, events: ExperimentEvents, options: { resume: boolean; only?: readonly number[] }): Promise<TrainedRun[]> {
  const { network, features, data } = prepared;
  const runs: TrainedRun[] = [];
  for (let m = 0; m < config.runs; m++) {
    if (options.only && !options.only.includes(m)) continue;
    const dir = runDir(config, m);
    const resultPath = join(dir, RESULT_FILE);
    const fingerprint = runFingerprint(config, m, features.train.count, prepared.fingerprint);
    if (options.resume) {
      const state = await inspectRun(dir, fingerprint);
      if (state.state === 'mismatch') throw new ResumeMismatchError(dir, state.differences);
      if (state.state === 'complete') {
        runs.push(await loadRun(resultPath));
        events.log(`run ${m + 1}/${config.runs}: finished earlier (${resultPath})`);
        continue;
      }
      if (existsSync(join(dir, RUN_MANIFEST)) || existsSync(resultPath)) events.log(`run ${m + 1}/${config.runs}: not complete (${state.problems.join('; ')}); completing it`);
    }
    // The manifest of an earlier attempt goes first: a crash from here on leaves the run unfinished.
    rmSync(join(dir, RUN_MANIFEST), { force: true });
    events.stage(`Training run ${m + 1} of ${config.runs}`);
    const seed = config.train.seed + m;
    const t = performance.now();
    const result = await trainRun(network, features.train, data.train.labels, { ...config.train, seed }, { dir: join(dir, 'checkpoints'), every: config.checkpointEvery, keep: 2, fingerprint: prepared.fingerprint }, {
      ...(prepared.initial ? { initial: prepared.initial } : {}),
      validation: { features: features.validation, labels: data.validation.labels },
      onValidation: (v) => events.log(`run ${m + 1}: epoch ${v.epoch} validation NLL ${v.loss.toFixed(4)} (best: epoch ${v.bestEpoch})`),
      onStep: (s) => events.progress(`run ${m + 1}`, s.step, s.total, `${s.phase} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(1)}`),
      onResume: (step, path) => events.log(`resumed run ${m + 1} at step ${step} from ${path}`),
      onWarning: (message) => warn(events, message),
      ...(events.shouldStop ? { shouldStop: () => events.shouldStop!() } : {}),
    });
    const run = { seed, result };
    await saveRun(resultPath, run);
    for (const note of await writeAdapters(network, run, config, dir)) events.log(`run ${m + 1}: ${note}`);
    await writeRunManifest(dir, fingerprint);
    runs.push(run);
    const validation = evaluate(await predictMethod(network, 'MAP', [run], features.validation, { samples: 1 }), data.validation.labels);
    events.log(`run ${m + 1}: MAP on validation: accuracy ${(100 * validation.accuracy).toFixed(1)}%, NLL ${validation.nll.toFixed(3)}, ECE ${validation.ece.toFixed(3)}`);
    if (result.bestEpoch !== undefined) events.log(`run ${m + 1}: SWAG started from MAP epoch ${result.bestEpoch} of ${result.validationLoss!.length} (lowest validation NLL, ${result.validationLoss![result.bestEpoch - 1]!.toFixed(4)})`);
    events.log(`run ${m + 1}: ${result.stepsRun} steps in ${((performance.now() - t) / 1000).toFixed(1)} s; loss by epoch ${result.epochLoss.map((l) => l.toFixed(3)).join(' ')}; ${result.collected} SWAG snapshots; adapters in ${dir}`);
  }
  return runs;
}

/**
 * A finished run's result from its final checkpoint (no device needed): the MAP parameters, the
 * statistics, the snapshot count and the loss history. A string says why there is none.
 */
export async function resultFromFinalCheckpoint(network: Network, dir: string, fingerprint: Fingerprint, onWarning: (message: string) => void): Promise<RunResult | string> {
  const checkpoints = join(dir, 'checkpoints');
  let saved;
  try {
    saved = await readLatestCheckpoint(checkpoints, { onWarning });
  } catch (e) {
    return (e as Error).message;
  }
  if (!saved) return `${checkpoints} holds no checkpoint`;
  const meta = (await saved.json('run')) as { step: number; total: number; collected: number; epochLoss: number[]; fingerprint?: Fingerprint };
  const differences = diffFingerprints(meta.fingerprint ?? {}, fingerprint);
  if (differences.length) return `its checkpoint ${saved.path} was trained with a different config (${differences.join('; ')})`;
  if (meta.step !== meta.total) return `its last checkpoint ${saved.path} is at step ${meta.step} of ${meta.total}`;
  const mapTensors = await saved.tensors('map');
  const map = new Map(network.theta.entries.map((e) => [e.path, mapTensors[e.path]!.data as Float32Array]));
  const posterior = new Map<string, Float32Array>();
  if (saved.names.includes('posterior')) {
    const stats = await saved.tensors('posterior');
    for (const t of network.unit.tensors) if (t.role === 'state' && stats[t.name]) posterior.set(t.name, stats[t.name]!.data as Float32Array);
  }
  return { map, posterior, collected: meta.collected, epochLoss: meta.epochLoss, stepsRun: 0 };
}

/**
 * Loads finished runs for `swaglet eval`. Each result is checked against its run's manifest (the
 * checksum and the config fingerprint); a corrupt or missing one is rebuilt from the run's final
 * checkpoint, with a warning, or refused, naming the file.
 */
export async function loadRuns(prepared: Prepared, config: ExperimentConfig, events: ExperimentEvents): Promise<TrainedRun[]> {
  const runs: TrainedRun[] = [];
  for (let m = 0; m < config.runs; m++) {
    const dir = runDir(config, m);
    const path = join(dir, RESULT_FILE);
    const seed = config.train.seed + m;
    const fingerprint = runFingerprint(config, m, prepared.features.train.count, prepared.fingerprint);
    if (!existsSync(dir)) throw new Error(`run ${m + 1} has no result at ${path}: train first (swaglet train CONFIG)`);
    const manifest = await readFileManifest(dir, RUN_MANIFEST);
    if (typeof manifest !== 'string') {
      const differences = diffFingerprints((manifest.about.fingerprint ?? {}) as Fingerprint, fingerprint);
      if (differences.length) throw new ResumeMismatchError(dir, differences);
    }
    const problem = await checkRunResult(dir);
    if (!problem) {
      runs.push(await loadRun(path));
      continue;
    }
    const rebuilt = await resultFromFinalCheckpoint(prepared.network, dir, fingerprint, (w) => warn(events, w));
    if (typeof rebuilt === 'string') {
      const finished = typeof manifest !== 'string';
      throw new Error(
        `run ${m + 1}: ${problem}, and it cannot be rebuilt: ${rebuilt}. ` +
          (finished ? 'Train it again: swaglet train CONFIG --fresh' : 'Finish its training: swaglet train CONFIG --resume'),
      );
    }
    warn(events, `run ${m + 1}: ${problem}; ${path} rebuilt from the final checkpoint (swaglet train CONFIG --resume rewrites the file)`);
    runs.push({ seed, result: rebuilt });
  }
  return runs;
}

/** One line on where each split came from, for the report. */
function describeData(data: ExperimentData): Record<'test' | 'shift' | 'ood', string> & { line: string } {
  const name = (s: 'train' | 'validation' | 'test' | 'shift' | 'ood') => (data[s] ? sourceTitle(data[s]!.source) : '');
  const line = SPLITS.filter((s) => data[s]).map((s) => `${s}: ${data[s]!.labels.length} from ${name(s)}`).join('; ');
  return { test: name('test'), shift: name('shift'), ood: name('ood'), line: `${line}; classes ${data.labelMap.names.join(', ')}.` };
}

/** Every method's predictions on every split of one seed. */
export async function predictRuns(prepared: Prepared, runs: readonly TrainedRun[], config: ExperimentConfig, events: ExperimentEvents): Promise<SeedEvaluation> {
  const { network, features, data } = prepared;
  events.stage('Posterior-averaged prediction');
  const methods = availableMethods(network, runs);
  const evaluated: EvaluatedMethod[] = [];
  for (const method of methods) {
    const t = performance.now();
    const probs: EvaluatedMethod['probs'] = {} as never;
    for (const s of (['test', 'shift', 'ood'] as const).filter((s) => features[s])) {
      probs[s] = await predictMethod(network, method as MethodName, runs, features[s]!, {
        samples: config.samples,
        onProgress: (_m, done, total) => {
          if (events.shouldStop?.()) throw new ExperimentStoppedError(`stopped during ${method} predictions on ${s}; nothing was written`);
          events.progress(`${method} ${s}`, done, total);
        },
      });
    }
    evaluated.push({ method, probs, seconds: (performance.now() - t) / 1000 });
    events.log(`${method}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  if (config.model.laplace) evaluated.push(...(await laplaceMethods(prepared, runs, config, events)));
  if (config.model.blob) evaluated.push(await blobMethod(prepared, config, events));
  return { evaluated, labels: { test: data.test.labels, ...(data.shift ? { shift: data.shift.labels } : {}) } };
}

/** Another finetune of the same source on the same device (compiled once, kept with the main network). */
async function companion(prepared: Prepared, config: ExperimentConfig, name: string, batch: number, linearsExamples = 1): Promise<Network> {
  const main = prepared.network;
  const { file, entry } = companionEntry(config, name);
  const key = `${file}:${entry}@${batch}${linearsExamples > 1 ? `+${linearsExamples}` : ''}`;
  let net = main.companions.get(key);
  if (!net) {
    const weights = await weightsOf(config.model);
    net = await Network.compile(main.device, {
      source: readFileSync(file, 'utf8'),
      file,
      entry,
      dims: { ...(config.model.tokenizer ? { t: config.model.maxTokens } : {}), ...config.model.dims, [config.model.batchDim]: batch },
      batchDim: config.model.batchDim,
      readFile: swagReader(),
      // Cut where the main network is cut (or not: a recomputed prefix), so they read the same rows.
      splitFrozenPrefix: main.hasPrefix,
      ...(linearsExamples > 1 ? { linearsExamples } : {}),
      ...(weights !== undefined ? { weights } : {}),
      autotune: tuningOf(config),
    });
    main.companions.set(key, net);
  }
  const same = net.features.length === main.features.length && net.features.every((f, k) => f.name === main.features[k]!.name && f.rowSize === main.features[k]!.rowSize && f.dtype === main.features[k]!.dtype);
  if (!same) throw new ConfigError(`${entry} reads other per-example features than ${config.model.entry} (${net.features.map((f) => f.name).join(', ')}): it must adapt the same suffix over the same frozen prefix`);
  if (net.classes !== main.classes) throw new ConfigError(`${entry} predicts ${net.classes} classes, ${config.model.entry} ${main.classes}`);
  return net;
}

/** `Name` (a finetune of model.file) or `file.swag:Name` (the file beside model.file). */
export function companionEntry(config: ExperimentConfig, name: string): { file: string; entry: string } {
  const colon = name.lastIndexOf(':');
  if (colon < 0) return { file: config.model.file, entry: name };
  return { file: join(dirname(config.model.file), name.slice(0, colon)), entry: name.slice(colon + 1) };
}

/** The prior precisions tried (the validation NLL of the linearized predictive picks one per posterior). */
export const PRIOR_PRECISION_GRID = [1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];
/** Posterior draws that estimate J Σ Jᵀ per example, and softmax draws of the logit Gaussian. */
const LAPLACE_DRAWS = 100;
const SOFTMAX_DRAWS = 1000;

/** f(x; θ) of every example of a table, through the main (batched) network: [count, C]. */
async function logitsOf(network: Network, params: ReadonlyMap<string, ArrayLike<number>>, table: FeatureTable): Promise<Float32Array> {
  network.writeParameters(params);
  const b = network.batch;
  const c = network.classes;
  const out = new Float32Array(table.count * c);
  for (let k = 0; k * b < table.count; k++) {
    const rows = Math.min(b, table.count - k * b);
    const spec = new Map(network.features.map((f) => [f.name, f]));
    const feeds = Object.fromEntries(Object.entries(table.gather(Array.from({ length: rows }, (_, i) => k * b + i), b)).map(([name, data]) => [name, network.device.tensor(spec.get(name)!.shape, data, spec.get(name)!.dtype)]));
    try {
      const y = (await network.device.read(network.unit.forward(feeds).y!)) as Float32Array;
      out.set(y.subarray(0, rows * c), k * b * c);
    } finally {
      for (const t of Object.values(feeds)) t.release();
    }
  }
  return out;
}

/**
 * Laplace-LoRA on run 1's MAP, no retraining. One post-hoc pass over the training data (the
 * companion network at batch size 1) collects both of the finetune's posteriors through the
 * compiled `collectLinears` and `collect`: per weight used as `a @ P^T` the Kronecker factors
 * Σ aᵀa, Σ gᵀg (LaplaceKfac); the diagonal Fisher (LaplaceDiag), also KFAC's for the biases. For each posterior, the prior
 * precision by the validation NLL of the linearized predictive over PRIOR_PRECISION_GRID; then the
 * linearized predictive on every split (the Jacobians shared by both posteriors).
 */
async function laplaceMethods(prepared: Prepared, runs: readonly TrainedRun[], config: ExperimentConfig, events: ExperimentEvents): Promise<EvaluatedMethod[]> {
  const t = performance.now();
  const { features, data } = prepared;
  const net = await companion(prepared, config, config.model.laplace!, 1, KFAC_EXAMPLES_PER_CALL);
  const posterior = net.unit.compiled.posterior?.posthoc ? net.unit.compiled.posterior : undefined;
  const map = runs[0]!.result.map;
  const factors = await collectKfac(net, map, features.train, data.train.labels, (d, n) => events.progress('Laplace pass', d, n));
  const tEigen = performance.now();
  const kfac = kfacPosterior(factors);
  const eigenSeconds = (performance.now() - tEigen) / 1000;
  net.writeParameters(map);
  const mapTheta = new Float32Array(net.size);
  for (const e of net.theta.entries) mapTheta.set(map.get(e.path)!, e.offset);
  const { file } = companionEntry(config, config.model.laplace!);
  const source = readFileSync(file, 'utf8');
  const seedOf = (m: number) => posteriorSeed(runs[0]!.seed, 1_000_000 + m);
  const diagDeviations = async (tau: number) => {
    const unit = await compilePosterior(net, source, file, posterior!.name, { prior_precision: tau });
    try {
      return await posteriorDeviations(unit, factors.posthoc!, mapTheta, LAPLACE_DRAWS, seedOf);
    } finally {
      unit.destroy();
    }
  };
  const candidates: { method: string; deviations: (tau: number) => Promise<Float32Array[]> | Float32Array[] }[] = [
    { method: 'Laplace KFAC (GLM)', deviations: (tau) => kfacDeviations(kfac, tau, LAPLACE_DRAWS, seedOf(0)) },
    ...(posterior && 'prior_precision' in posterior.scalars ? [{ method: `Laplace diag (${posterior.name}, GLM)`, deviations: diagDeviations }] : []),
  ];
  const mainParams = new Map(map);
  const valLogits = await logitsOf(prepared.network, mainParams, features.validation);
  const val = await jacobians(net, features.validation, (d, n) => events.progress('Laplace validation Jacobians', d, n), valLogits);
  const chosen: Float32Array[][] = [];
  for (const cand of candidates) {
    let best = { nll: Infinity, tau: 0, deviations: [] as Float32Array[] };
    const tried: string[] = [];
    for (const tau of PRIOR_PRECISION_GRID) {
      const devs = await cand.deviations(tau);
      const nll = meanNll(glmFromJacobians(val, net.classes, devs, { softmaxDraws: SOFTMAX_DRAWS }), data.validation.labels, net.classes);
      tried.push(`${tau}: ${nll.toFixed(4)}`);
      if (nll < best.nll) best = { nll, tau, deviations: devs };
    }
    chosen.push(best.deviations);
    events.log(`${cand.method}: prior precision ${best.tau} by validation NLL (${tried.join(', ')})`);
  }
  const probs = candidates.map(() => ({}) as EvaluatedMethod['probs']);
  for (const s of (['test', 'shift', 'ood'] as const).filter((s) => features[s])) {
    const logits = await logitsOf(prepared.network, mainParams, features[s]!);
    const out = await glmPredictive(net, features[s]!, chosen, { softmaxDraws: SOFTMAX_DRAWS, logits, onProgress: (d, n) => events.progress(`Laplace ${s}`, d, n) });
    out.forEach((p, k) => (probs[k]![s] = p));
  }
  const seconds = (performance.now() - t) / 1000;
  events.log(`Laplace: ${factors.layers.map((l) => `${l.param} [${l.out}x${l.in}]`).join(', ')} Kronecker-factored (eigenbases in ${eigenSeconds.toFixed(1)} s), ${net.size - factors.covered.reduce((a, v) => a + v, 0)} parameters diagonal; ${features.train.count} per-example gradients; ${seconds.toFixed(1)} s for ${candidates.length} posteriors`);
  // The time is shared: each row reports its part.
  return candidates.map((c, k) => ({ method: c.method, probs: probs[k]!, seconds: seconds / candidates.length }));
}

/** BLoB: one run of the BLoB finetune per seed (the MAP phase's schedule, no SWAG phase), predicted by S draws of its noise. */
async function blobMethod(prepared: Prepared, config: ExperimentConfig, events: ExperimentEvents): Promise<EvaluatedMethod> {
  const t = performance.now();
  const { features, data } = prepared;
  const net = await companion(prepared, config, config.model.blob!, config.model.batch);
  const { swag: _swag, ...plain } = config.train;
  const seed = config.train.seed;
  // Checkpointed like the runs: a stopped or killed BLoB run resumes, and a finished one is read
  // back (its final checkpoint) instead of trained again. A BLoB finetune that compiles to another
  // training graph or other initializers (an edited .swag, imports included) starts afresh.
  const dir = join(experimentDir(config), 'blob', 'checkpoints');
  const compiled = net.unit.compiled;
  const program = createHash('sha256').update(JSON.stringify({ training: compiled.graphs.backward, tensors: compiled.network!.tensors })).digest('hex');
  const fingerprint: Fingerprint = { ...prepared.fingerprint, 'model.blob': config.model.blob!, 'model.blob.program.sha256': program };
  const train = () =>
    trainRun(net, features.train, data.train.labels, { ...plain, seed }, { dir, every: config.checkpointEvery, keep: 2, fingerprint }, {
      onStep: (s) => events.progress('BLoB', s.step, s.total, `loss ${s.loss.toFixed(4)}`),
      onResume: (step, path) => events.log(`BLoB: resumed at step ${step} from ${path}`),
      onWarning: (message) => warn(events, message),
      ...(events.shouldStop ? { shouldStop: () => events.shouldStop!() } : {}),
    });
  let result: RunResult;
  try {
    result = await train();
  } catch (e) {
    if (!(e instanceof ResumeMismatchError)) throw e;
    warn(events, `BLoB: ${e.message}; training it afresh`);
    rmSync(dir, { recursive: true, force: true });
    result = await train();
  }
  const probs: EvaluatedMethod['probs'] = {} as never;
  const noisy = net.unit.methods.includes('dropoutForward');
  for (const s of (['test', 'shift', 'ood'] as const).filter((s) => features[s])) {
    probs[s] = await predictProbabilities(net, features[s]!, noisy ? config.samples : 1, noisy ? { dropoutSeed: (k) => mcDropoutSeed(seed, k) } : {});
  }
  const seconds = (performance.now() - t) / 1000;
  events.log(`BLoB: ${result.stepsRun ? `${result.stepsRun} steps` : `trained earlier, read from ${dir}`} (loss by epoch ${result.epochLoss.map((l) => l.toFixed(3)).join(' ')}), ${noisy ? config.samples : 1} draws; ${seconds.toFixed(1)} s`);
  return { method: 'BLoB', probs, seconds };
}

/** The report over every seed's predictions: writes `<out>/<name>.json`, `.md` and SVGs. */
export async function writeReport(prepared: Prepared, seeds: readonly SeedEvaluation[], config: ExperimentConfig): Promise<{ json: string; markdown: string; files: string[] }> {
  const report = buildReport(config, seeds, prepared.network.classes, describeData(prepared.data), prepared.network.posterior);
  mkdirSync(config.out, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    const path = join(config.out, name);
    await writeFileAtomic(path, text);
    files.push(path);
  };
  await write(`${config.name}.json`, report.json);
  await write(`${config.name}.md`, report.markdown);
  for (const [name, svg] of Object.entries(report.svgs)) await write(`${config.name}-${name}.svg`, svg);
  await writeFileAtomic(join(experimentDir(config), 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { json: report.json, markdown: report.markdown, files };
}

/** Every method on every split of one seed, metrics and plots; writes `<out>/<name>.json`, `.md` and SVGs. */
export async function evaluateRuns(prepared: Prepared, runs: readonly TrainedRun[], config: ExperimentConfig, events: ExperimentEvents): Promise<{ json: string; markdown: string; files: string[] }> {
  return writeReport(prepared, [await predictRuns(prepared, runs, config, events)], config);
}

/**
 * Runs `body` on each seed of the experiment in turn (seed 0 on `prepared`; every other on its own
 * split, through the same compiled network) and returns what it gave for each.
 */
export async function forEachSeed<T>(prepared: Prepared, config: ExperimentConfig, events: ExperimentEvents, body: (config: ExperimentConfig, prepared: Prepared, seed: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < config.seeds; i++) {
    if (config.seeds > 1) events.stage(`Seed ${i + 1} of ${config.seeds}`);
    const c = seedConfig(config, i);
    const p = i === 0 ? prepared : await prepare(prepared.network.device, c, events, prepared);
    out.push(await body(c, p, i));
  }
  return out;
}
