/**
 * One training run of SWAG-LoRA on cached features: AdamW with warmup and cosine decay to the end
 * of the MAP phase, then the SWA learning rate (constant, or annealed linearly as torch's SWALR)
 * during which the compiled posterior's `collect` takes a snapshot every `collectEvery` steps or
 * once per epoch (Maddox et al. 2019; Onal et al. 2024). With `swag.start: 'best'` (SWAG-LoRA's
 * recipe) the MAP phase measures the validation loss after every epoch and keeps the best
 * parameters; they are the run's MAP solution and the SWAG phase starts from them.
 *
 * Everything random is a function of (seed, step), and every step runs the same kernels in the
 * same order, so a run resumed from its last checkpoint ends with exactly the numbers of an
 * uninterrupted one. A non-finite loss or gradient stops the run with a message and writes
 * nothing more: the last checkpoint on disk is the last good state.
 */
import { readLatestCheckpoint, writeCheckpoint } from '../io/checkpoint.ts';
import { CLIP_NORM_INDEX } from '../kernels/adamw.ts';
import type { Tensor } from '../runtime/index.ts';
import type { FeatureTable } from './features.ts';
import { type Fingerprint, ResumeMismatchError, diffFingerprints, trainingFingerprint } from './fingerprint.ts';
import type { Network } from './network.ts';
import { AdamW } from './optimizer.ts';
import { SEED_STREAM, deviceSeed, mixSeed, permutation } from './random.ts';
import { predictProbabilities } from './predict.ts';
import { learningRate } from './schedule.ts';

export interface TrainConfig {
  seed: number;
  /** Epochs of the MAP phase (warmup + cosine). */
  epochs: number;
  lr: number;
  warmupSteps: number;
  /** Where the cosine ends (default 0). */
  minLr?: number;
  weightDecay: number;
  /** Global gradient-norm clip (default 1). */
  clipNorm?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** The SWAG phase after MAP. */
  swag?: SwagPhase;
}

export interface SwagPhase {
  epochs: number;
  /** The SWA learning rate (where the anneal starts). */
  lr: number;
  /** Steps between snapshots when `collect` is 'steps'. */
  collectEvery: number;
  /** 'steps' (default): a snapshot every `collectEvery` steps; 'epoch': one at the end of every SWAG epoch. */
  collect?: 'steps' | 'epoch';
  /** 'last' (default): SWAG starts where MAP ends; 'best': from the MAP epoch of lowest validation loss. */
  start?: 'last' | 'best';
  /** Linear anneal from `lr` to `lr / divisor` over `epochs` SWAG epochs (none when epochs is 0 and divisor 1). */
  anneal?: { epochs: number; divisor: number };
}

/** Steps between SWAG snapshots. */
export function collectInterval(swag: SwagPhase, stepsPerEpoch: number): number {
  return swag.collect === 'epoch' ? stepsPerEpoch : swag.collectEvery;
}

export interface CheckpointOptions {
  dir: string;
  /** Steps between checkpoints (and one at the end of each phase). */
  every: number;
  keep?: number;
  /**
   * What else the run was trained with (the data, the finetune's source): recorded in every
   * checkpoint with the training config, and compared on resume.
   */
  fingerprint?: Fingerprint;
}

export interface TrainEvents {
  /** After each step: the step (1-based), total steps, loss, learning rate, grad norm. */
  onStep?: (info: { step: number; total: number; loss: number; lr: number; gradNorm: number; phase: 'map' | 'swag' }) => void;
  onCheckpoint?: (step: number, path: string) => void;
  onResume?: (step: number, path: string) => void;
  /** Something the run survived, such as a corrupt checkpoint skipped on resume. */
  onWarning?: (message: string) => void;
  /** Asked after each step: true stops the run there, with a checkpoint (a Ctrl-C). */
  shouldStop?: () => boolean;
  /** Parameters to start from instead of their initializers (a PEFT adapter); others keep their initializers. */
  initial?: ReadonlyMap<string, ArrayLike<number>>;
  /** Testing hook: called after step `step` completes (and after its checkpoint): throw to simulate a crash. */
  afterStep?: (step: number) => void;
  /** The validation set: needed when `swag.start` is 'best'. */
  validation?: { features: FeatureTable; labels: Int32Array };
  /** After each MAP epoch's validation pass: the epoch (1-based), its validation loss, the best epoch so far. */
  onValidation?: (info: { epoch: number; loss: number; bestEpoch: number }) => void;
}

export interface RunResult {
  /** The MAP solution: the parameters at the end of the MAP phase, or of its best-validation epoch. */
  map: Map<string, Float32Array>;
  /** The posterior's statistics (state tensors) after the SWAG phase, by name. */
  posterior: Map<string, Float32Array>;
  /** Snapshots collected. */
  collected: number;
  /** Mean training loss per epoch. */
  epochLoss: number[];
  /** Steps this call ran (fewer than the total when resumed). */
  stepsRun: number;
  /** Mean validation NLL after each MAP epoch (when `swag.start` is 'best'), and the best epoch (1-based). */
  validationLoss?: number[];
  bestEpoch?: number;
}

/** Mean negative log-likelihood of `labels` under the network's current parameters (no dropout). */
export async function validationLoss(network: Network, features: FeatureTable, labels: Int32Array): Promise<number> {
  const probs = await predictProbabilities(network, features, 1);
  const c = network.classes;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum -= Math.log(Math.max(probs[i * c + labels[i]!]!, 1e-12));
  return sum / labels.length;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/** The run stopped on request at a step boundary; `checkpoint` holds that step. */
export class TrainingStoppedError extends Error {
  override name = 'TrainingStoppedError';
  constructor(
    readonly step: number,
    readonly total: number,
    readonly checkpoint: string | undefined,
  ) {
    super(`stopped at step ${step} of ${total}${checkpoint ? `; the checkpoint ${checkpoint} holds it` : ' (no checkpoint: nothing to resume from)'}`);
  }
}

/** Steps per epoch: full batches only, so every step sees `batch` distinct examples. */
export function stepsPerEpoch(count: number, batch: number): number {
  const s = Math.floor(count / batch);
  if (s === 0) throw new Error(`${count} training examples are fewer than one batch of ${batch}`);
  return s;
}

/** Trains one run; resumes from `checkpoint.dir` when it holds a checkpoint of this run. */
export async function trainRun(network: Network, features: FeatureTable, labels: Int32Array, config: TrainConfig, checkpoint?: CheckpointOptions, events: TrainEvents = {}): Promise<RunResult> {
  const device = network.device;
  const b = network.batch;
  if (labels.length !== features.count) throw new Error(`${labels.length} labels for ${features.count} examples`);
  const spe = stepsPerEpoch(features.count, b);
  const mapSteps = config.epochs * spe;
  const swagSteps = config.swag ? config.swag.epochs * spe : 0;
  const total = mapSteps + swagSteps;
  if (config.swag && !network.hasPosterior) throw new Error('the SWAG phase needs a finetune with a posterior (collect and sample)');
  const fromBest = config.swag?.start === 'best' && mapSteps > 0;
  if (fromBest && !events.validation) throw new Error("swag.start 'best' needs a validation set to choose the best MAP epoch");
  if (fromBest && events.validation!.labels.length !== events.validation!.features.count) throw new Error(`${events.validation!.labels.length} validation labels for ${events.validation!.features.count} examples`);
  const interval = config.swag ? collectInterval(config.swag, spe) : 0;
  const schedule = {
    peak: config.lr,
    // Without a MAP phase (a given adapter) there is nothing to warm up.
    warmupSteps: mapSteps === 0 ? 0 : config.warmupSteps,
    totalSteps: mapSteps,
    minLr: config.minLr ?? 0,
    ...(config.swag ? { swa: { start: mapSteps, lr: config.swag.lr, ...(config.swag.anneal ? { anneal: { ...config.swag.anneal, stepsPerEpoch: spe } } : {}) } } : {}),
  };

  network.initializeParameters(mixSeed(config.seed, SEED_STREAM.init));
  if (events.initial) for (const [name, v] of events.initial) network.unit.set(name, v);
  const params = Object.fromEntries(network.parameters());
  const optimizer = await AdamW.create(device, params, {
    weightDecay: config.weightDecay,
    maxGradNorm: config.clipNorm ?? 1,
    ...(config.beta1 !== undefined ? { beta1: config.beta1 } : {}),
    ...(config.beta2 !== undefined ? { beta2: config.beta2 } : {}),
    ...(config.eps !== undefined ? { eps: config.eps } : {}),
  });
  const stateNames = network.unit.tensors.filter((t) => t.role === 'state').map((t) => t.name);
  // A fresh run starts from empty statistics, whatever an earlier run on this network left there.
  for (const t of network.unit.tensors) if (t.role === 'state') network.unit.set(t.name, new Float32Array(t.shape.reduce((p, d) => p * d, 1)));
  const theta = device.zeros([network.size]);
  const stepStats = device.zeros([2]);

  // Everything the numbers depend on; a checkpoint of another config is never resumed.
  const fingerprint = trainingFingerprint(config, features.count, b, checkpoint?.fingerprint);
  let step = 0;
  let savedStep = -1;
  let checkpointPath: string | undefined;
  let collected = 0;
  let map: Map<string, Float32Array> | undefined;
  const epochLoss: number[] = [];
  let lossSum = 0;
  // The best MAP epoch so far (by validation loss) and its parameters, kept on the host.
  const validationHistory: number[] = [];
  let bestEpoch = 0;
  let best: Map<string, Float32Array> | undefined;

  try {
    // Resume.
    const saved = checkpoint ? await readLatestCheckpoint(checkpoint.dir, events.onWarning ? { onWarning: events.onWarning } : {}) : undefined;
    if (saved) {
      const meta = (await saved.json('run')) as { step: number; collected: number; epochLoss: number[]; lossSum: number; seed: number; fingerprint?: Fingerprint; validationLoss?: number[]; bestEpoch?: number };
      if (!meta.fingerprint) throw new ResumeMismatchError(saved.path, ['the checkpoint records no config (an older swaglet wrote it)']);
      const differences = diffFingerprints(meta.fingerprint, fingerprint);
      if (differences.length) throw new ResumeMismatchError(saved.path, differences);
      step = meta.step;
      collected = meta.collected;
      epochLoss.push(...meta.epochLoss);
      lossSum = meta.lossSum;
      validationHistory.push(...(meta.validationLoss ?? []));
      bestEpoch = meta.bestEpoch ?? 0;
      if (saved.names.includes('best')) {
        const b = await saved.tensors('best');
        best = new Map(network.theta.entries.map((e) => [e.path, b[e.path]!.data as Float32Array]));
      }
      const p = await saved.tensors('params');
      network.writeParameters(new Map(Object.entries(p).map(([k, v]) => [k, v.data as Float32Array])));
      const o = await saved.tensors('optimizer');
      optimizer.loadState(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.data as Float32Array])));
      if (stateNames.length) {
        const s = await saved.tensors('posterior');
        for (const n of stateNames) network.unit.set(n, s[n]!.data as Float32Array);
      }
      if (step >= mapSteps) {
        const m = await saved.tensors('map');
        map = new Map(network.theta.entries.map((e) => [e.path, m[e.path]!.data as Float32Array]));
      }
      savedStep = step;
      checkpointPath = saved.path;
      events.onResume?.(step, saved.path);
    }

    const save = async () => {
      if (!checkpoint) return;
      const f32 = (data: Float32Array, shape: number[]) => ({ data, shape });
      const params = await network.readParameters();
      const files = [
        { name: 'run', json: { step, collected, epochLoss, lossSum, seed: config.seed, total, mapSteps, fingerprint, ...(fromBest ? { validationLoss: validationHistory, bestEpoch } : {}) } },
        { name: 'params', tensors: Object.fromEntries([...params].map(([k, v]) => [k, f32(v, [v.length])])) },
        { name: 'optimizer', tensors: Object.fromEntries(Object.entries(await optimizer.state()).map(([k, v]) => [k, f32(v, [v.length])])) },
      ];
      if (stateNames.length) {
        const s: Record<string, { data: Float32Array; shape: number[] }> = {};
        for (const n of stateNames) {
          const v = (await device.read(network.unit.tensor(n))) as Float32Array;
          s[n] = f32(v, [v.length]);
        }
        files.push({ name: 'posterior', tensors: s });
      }
      if (map) files.push({ name: 'map', tensors: Object.fromEntries([...map].map(([k, v]) => [k, f32(v, [v.length])])) });
      // The best-validation parameters until the MAP phase ends (then they are `map`).
      if (best && !map) files.push({ name: 'best', tensors: Object.fromEntries([...best].map(([k, v]) => [k, f32(v, [v.length])])) });
      const path = await writeCheckpoint(checkpoint.dir, step, files, checkpoint.keep !== undefined ? { keep: checkpoint.keep } : {});
      savedStep = step;
      checkpointPath = path;
      events.onCheckpoint?.(step, path);
    };

    // No MAP phase (epochs 0, starting from a given adapter): the start is the MAP solution.
    if (mapSteps === 0 && !map) map = await network.readParameters();
    let order: number[] = [];
    let orderEpoch = -1;
    const labelBatch = new Int32Array(b);
    let stepsRun = 0;
    while (step < total) {
      const epoch = Math.floor(step / spe);
      if (epoch !== orderEpoch) {
        order = permutation(features.count, mixSeed(config.seed, SEED_STREAM.shuffle, epoch));
        orderEpoch = epoch;
      }
      const within = step % spe;
      const indices = order.slice(within * b, (within + 1) * b);
      indices.forEach((i, r) => (labelBatch[r] = labels[i]!));
      const feeds: Record<string, ArrayLike<number> | Tensor> = { ...features.gather(indices, b), labels: labelBatch };
      if (network.unit.compiled.network!.trainingSeed) feeds.seed = [deviceSeed(config.seed, SEED_STREAM.dropout, step)];
      // Penalties (BLoB's KL) enter the loss divided by the training set size: loss = NLL + KL / N.
      if (network.unit.compiled.network!.trainingTrainSize) feeds.train_size = [features.count];
      const out = network.unit.backward(feeds);
      const lr = learningRate(step, schedule);
      const grads = Object.fromEntries(network.theta.entries.map((e) => [e.path, out[`grad.${e.path}`]!]));
      optimizer.step(grads, lr);
      // Loss and gradient norm side by side: one readback per step.
      device.copyRange(out.loss!, 0, stepStats, 0, 1);
      device.copyRange(optimizer.clipState, CLIP_NORM_INDEX, stepStats, 1, 1);
      const stats = await device.read(stepStats);
      const loss = stats[0]!;
      const gradNorm = stats[1]!;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        // The optimizer skipped this step (a non-finite norm gives a NaN clip scale), but the run
        // cannot go on; nothing more is saved, so the last checkpoint is the last good state.
        throw new TrainingDivergedError(
          `training diverged at step ${step + 1} of ${total} (epoch ${epoch + 1}, learning rate ${lr.toExponential(2)}): loss ${loss}, gradient norm ${gradNorm}; ` +
            (checkpoint ? `the last good checkpoint in ${checkpoint.dir} is kept. ` : '') +
            'Try a lower learning rate or a smaller clip norm.',
        );
      }
      lossSum += loss;
      step++;
      stepsRun++;
      const phase = step <= mapSteps ? 'map' : 'swag';
      if (step % spe === 0) {
        epochLoss.push(lossSum / spe);
        lossSum = 0;
      }
      if (fromBest && step <= mapSteps && step % spe === 0) {
        const loss = await validationLoss(network, events.validation!.features, events.validation!.labels);
        validationHistory.push(loss);
        // Ties keep the earlier epoch; a NaN loss is never better than a number.
        const bestLoss = best ? validationHistory[bestEpoch - 1]! : Number.NaN;
        if (!best || loss < bestLoss || (Number.isNaN(bestLoss) && !Number.isNaN(loss))) {
          best = await network.readParameters();
          bestEpoch = validationHistory.length;
        }
        events.onValidation?.({ epoch: validationHistory.length, loss, bestEpoch });
      }
      if (step === mapSteps) {
        if (fromBest) {
          // SWAG starts from the best epoch's parameters (AdamW's moments carry on as they are).
          network.writeParameters(best!);
          map = best!;
        } else map = await network.readParameters();
      }
      if (config.swag && step > mapSteps && (step - mapSteps) % interval === 0) {
        network.packTheta(theta);
        network.unit.collect({ theta, n: [collected] });
        collected++;
      }
      events.onStep?.({ step, total, loss, lr, gradNorm, phase });
      if (checkpoint && (step % checkpoint.every === 0 || step === mapSteps || step === total)) await save();
      events.afterStep?.(step);
      if (step < total && events.shouldStop?.()) {
        if (checkpoint && savedStep !== step) await save();
        throw new TrainingStoppedError(step, total, checkpoint ? checkpointPath : undefined);
      }
    }
    if (!map) map = await network.readParameters();
    const posterior = new Map<string, Float32Array>();
    for (const n of stateNames) posterior.set(n, (await device.read(network.unit.tensor(n))) as Float32Array);
    return { map, posterior, collected, epochLoss, stepsRun, ...(fromBest ? { validationLoss: validationHistory, bestEpoch } : {}) };
  } finally {
    optimizer.destroy();
    theta.release();
    stepStats.release();
  }
}
