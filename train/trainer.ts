/**
 * One training run of SWAG-LoRA on cached features: AdamW with warmup and cosine decay to the end
 * of the MAP phase, then a constant SWA learning rate during which the compiled posterior's
 * `collect` takes a snapshot every `collectEvery` steps (Maddox et al. 2019; Onal et al. 2024).
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
  /** The SWAG phase after MAP: constant `lr`, a snapshot every `collectEvery` steps. */
  swag?: { epochs: number; lr: number; collectEvery: number };
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
}

export interface RunResult {
  /** Parameters at the end of the MAP phase. */
  map: Map<string, Float32Array>;
  /** The posterior's statistics (state tensors) after the SWAG phase, by name. */
  posterior: Map<string, Float32Array>;
  /** Snapshots collected. */
  collected: number;
  /** Mean training loss per epoch. */
  epochLoss: number[];
  /** Steps this call ran (fewer than the total when resumed). */
  stepsRun: number;
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
  const schedule = {
    peak: config.lr,
    // Without a MAP phase (a given adapter) there is nothing to warm up.
    warmupSteps: mapSteps === 0 ? 0 : config.warmupSteps,
    totalSteps: mapSteps,
    minLr: config.minLr ?? 0,
    ...(config.swag ? { swa: { start: mapSteps, lr: config.swag.lr } } : {}),
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

  try {
    // Resume.
    const saved = checkpoint ? await readLatestCheckpoint(checkpoint.dir, events.onWarning ? { onWarning: events.onWarning } : {}) : undefined;
    if (saved) {
      const meta = (await saved.json('run')) as { step: number; collected: number; epochLoss: number[]; lossSum: number; seed: number; fingerprint?: Fingerprint };
      if (!meta.fingerprint) throw new ResumeMismatchError(saved.path, ['the checkpoint records no config (an older swaglet wrote it)']);
      const differences = diffFingerprints(meta.fingerprint, fingerprint);
      if (differences.length) throw new ResumeMismatchError(saved.path, differences);
      step = meta.step;
      collected = meta.collected;
      epochLoss.push(...meta.epochLoss);
      lossSum = meta.lossSum;
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
        { name: 'run', json: { step, collected, epochLoss, lossSum, seed: config.seed, total, mapSteps, fingerprint } },
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
      if (step === mapSteps) map = await network.readParameters();
      if (config.swag && step > mapSteps && (step - mapSteps) % config.swag.collectEvery === 0) {
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
    return { map, posterior, collected, epochLoss, stepsRun };
  } finally {
    optimizer.destroy();
    theta.release();
    stepStats.release();
  }
}
