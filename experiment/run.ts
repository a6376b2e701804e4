/**
 * The end-to-end experiment: data → frozen-prefix features (cached on disk) → M training runs
 * (MAP phase, then SWAG collection; checkpointed, resumable) → every method's predictions on the
 * in-distribution test set, the shifted set and the OOD set → metrics, tables and plots.
 *
 * `train` and `evaluate` are separate so `swaglet train` and `swaglet eval` can run apart; both
 * find their inputs under `config.out/<name>/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate } from '../eval/metrics.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { useLiteFrozenValues } from '../models/useLite.ts';
import type { Device } from '../runtime/index.ts';
import { computeFeatures, FeatureTable } from '../train/features.ts';
import { availableMethods, predictMethod, type MethodName, type TrainedRun } from '../train/methods.ts';
import { Network, swagReader } from '../train/network.ts';
import { trainRun, type RunResult } from '../train/trainer.ts';
import type { ExperimentConfig } from './config.ts';
import { loadExperimentData, tokenize, useTokenizer, type ExperimentData, type Split } from './data.ts';
import { writeAdapters } from './adapters.ts';
import { buildReport, type EvaluatedMethod } from './report.ts';

export interface ExperimentEvents {
  /** A new stage begins. */
  stage(title: string): void;
  /** Progress within a task. */
  progress(task: string, done: number, total: number, detail?: string): void;
  log(line: string): void;
}

export const quietEvents: ExperimentEvents = { stage() {}, progress() {}, log() {} };

/** Everything of one experiment lives here. */
export const experimentDir = (config: ExperimentConfig) => join(config.out, config.name);

export interface Prepared {
  network: Network;
  data: ExperimentData;
  features: Record<'train' | 'validation' | 'test' | 'shift' | 'ood', FeatureTable>;
}

const hash = (...parts: (string | number)[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);

/** Compiles the finetune, loads the data and computes (or loads) the frozen-prefix features. */
export async function prepare(device: Device, config: ExperimentConfig, events: ExperimentEvents): Promise<Prepared> {
  events.stage('Compile');
  const source = readFileSync(config.model.file, 'utf8');
  const t0 = performance.now();
  const network = await Network.compile(device, {
    source,
    file: config.model.file,
    entry: config.model.entry,
    dims: { b: config.model.batch, t: config.model.maxTokens },
    readFile: swagReader(),
    frozen: useLiteFrozenValues(),
  });
  events.log(`${config.model.entry}: ${network.size} trainable parameters; frozen prefix cached as ${network.features.map((f) => `${f.name} [${f.rowShape.join(', ')}]`).join(', ')} per example (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  try {
    events.stage('Data');
    const data = loadExperimentData(config);
    events.log(`IMDB train ${data.train.texts.length}, validation ${data.validation.texts.length}, test ${data.test.texts.length}; fine foods ${data.shift.texts.length}; SpamAssassin ${data.ood.texts.length}`);
    const tokenizer = useTokenizer();
    events.stage('Frozen prefix (computed once per example, cached on disk)');
    const cacheDir = join(config.out, 'cache');
    mkdirSync(cacheDir, { recursive: true });
    const key = hash(source, config.model.entry, config.model.maxTokens, network.features.map((f) => f.name + f.rowShape.join('x')).join());
    const features = {} as Prepared['features'];
    for (const s of ['train', 'validation', 'test', 'shift', 'ood'] as const) {
      const split: Split = data[s];
      const path = join(cacheDir, `${s}-${hash(key, ...split.texts)}.safetensors`);
      const meta = { key };
      let table = await FeatureTable.load(path, network.features, meta);
      if (table) events.log(`${s}: ${table.count} examples from ${path}`);
      else {
        const rows = tokenize(tokenizer, split.texts, network.dataInputs, config.model.maxTokens);
        const t = performance.now();
        table = await computeFeatures(network, rows, (done, total) => events.progress(`prefix ${s}`, done, total));
        await table.save(path, meta);
        events.log(`${s}: ${table.count} examples in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
      features[s] = table;
    }
    return { network, data, features };
  } catch (e) {
    network.destroy();
    throw e;
  }
}

const runDir = (config: ExperimentConfig, m: number) => join(experimentDir(config), 'runs', `run-${m}`);

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

/** Trains the M runs (resuming each from its checkpoints when `resume`), saving results and adapters. */
export async function trainRuns(prepared: Prepared, config: ExperimentConfig, events: ExperimentEvents, options: { resume: boolean }): Promise<TrainedRun[]> {
  const { network, features, data } = prepared;
  const runs: TrainedRun[] = [];
  for (let m = 0; m < config.runs; m++) {
    const dir = runDir(config, m);
    const resultPath = join(dir, 'result.safetensors');
    if (!options.resume) rmSync(dir, { recursive: true, force: true });
    if (options.resume && existsSync(resultPath)) {
      runs.push(await loadRun(resultPath));
      events.log(`run ${m + 1}/${config.runs}: finished earlier (${resultPath})`);
      continue;
    }
    events.stage(`Training run ${m + 1} of ${config.runs}`);
    const seed = config.train.seed + m;
    const t = performance.now();
    const result = await trainRun(network, features.train, data.train.labels, { ...config.train, seed }, { dir: join(dir, 'checkpoints'), every: config.checkpointEvery, keep: 2 }, {
      onStep: (s) => events.progress(`run ${m + 1}`, s.step, s.total, `${s.phase} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(1)}`),
      onResume: (step, path) => events.log(`resumed run ${m + 1} at step ${step} from ${path}`),
    });
    const run = { seed, result };
    await saveRun(resultPath, run);
    await writeAdapters(network, run, config, dir);
    runs.push(run);
    const validation = evaluate(await predictMethod(network, 'MAP', [run], features.validation, { samples: 1 }), data.validation.labels);
    events.log(`run ${m + 1}: MAP on validation: accuracy ${(100 * validation.accuracy).toFixed(1)}%, NLL ${validation.nll.toFixed(3)}, ECE ${validation.ece.toFixed(3)}`);
    events.log(`run ${m + 1}: ${result.stepsRun} steps in ${((performance.now() - t) / 1000).toFixed(1)} s; loss by epoch ${result.epochLoss.map((l) => l.toFixed(3)).join(' ')}; ${result.collected} SWAG snapshots; adapters in ${dir}`);
  }
  return runs;
}

/** Loads finished runs for `swaglet eval`. */
export async function loadRuns(config: ExperimentConfig): Promise<TrainedRun[]> {
  const runs: TrainedRun[] = [];
  for (let m = 0; m < config.runs; m++) {
    const path = join(runDir(config, m), 'result.safetensors');
    if (!existsSync(path)) throw new Error(`run ${m + 1} has no result at ${path}: train first (swaglet train CONFIG)`);
    runs.push(await loadRun(path));
  }
  return runs;
}

/** Every method on every split, metrics and plots; writes `<out>/<name>.json`, `.md` and SVGs. */
export async function evaluateRuns(prepared: Prepared, runs: readonly TrainedRun[], config: ExperimentConfig, events: ExperimentEvents): Promise<{ json: string; markdown: string; files: string[] }> {
  const { network, features, data } = prepared;
  events.stage('Posterior-averaged prediction');
  const methods = availableMethods(network, runs);
  const evaluated: EvaluatedMethod[] = [];
  for (const method of methods) {
    const t = performance.now();
    const probs: Record<'test' | 'shift' | 'ood', Float64Array> = {} as never;
    for (const s of ['test', 'shift', 'ood'] as const) {
      probs[s] = await predictMethod(network, method as MethodName, runs, features[s], {
        samples: config.samples,
        onProgress: (_m, done, total) => events.progress(`${method} ${s}`, done, total),
      });
    }
    evaluated.push({ method, probs, seconds: (performance.now() - t) / 1000 });
    events.log(`${method}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const report = buildReport(config, evaluated, { test: data.test.labels, shift: data.shift.labels }, network.classes);
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
  writeFileSync(join(experimentDir(config), 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { json: report.json, markdown: report.markdown, files };
}
