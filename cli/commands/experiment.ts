/**
 * `swaglet train CONFIG`, `eval CONFIG`, `predict CONFIG`, `demo`, `worker` and `k8s CONFIG`:
 * the experiment end to end (experiment/api.ts), locally, on a Redis-backed job queue, or as a
 * Kubernetes manifest. This file turns flags into API options and signals into a clean stop.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, predict, train, trainAndEvaluate } from '../../experiment/api.ts';
import { readConfig, type ExperimentConfig } from '../../experiment/config.ts';
import { ExperimentStoppedError } from '../../experiment/run.ts';
import { sweepPoints, sweepSummary, writeSweepPoints } from '../../experiment/sweep.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { experimentFingerprintOf, isPermanentFailure } from '../../experiment/jobs.ts';
import { k8sManifest } from '../../k8s/manifest.ts';
import { jobId } from '../../queue/jobs.ts';
import { submitRuns } from '../../queue/submit.ts';
import { startWorker } from '../../queue/worker.ts';
import type { BackendChoice } from '../../runtime/index.ts';
import { ResumeMismatchError } from '../../train/fingerprint.ts';
import { METHODS, type MethodName } from '../../train/methods.ts';
import { TrainingStoppedError } from '../../train/trainer.ts';
import { parseArgs } from '../args.ts';
import { type CliIO, type Command, UsageError } from '../command.ts';
import { progressEvents } from '../progress.ts';
import { listenForStop } from '../stopSignals.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs one API call with progress on stderr and Ctrl-C as a stop at the next safe point. */
async function withCli<T>(io: CliIO, invocation: string, body: (events: ReturnType<typeof progressEvents> & { shouldStop(): boolean }) => Promise<T>, done: (result: T, events: ReturnType<typeof progressEvents>) => void): Promise<number> {
  const events = progressEvents(io);
  const stop = listenForStop(io, () => events.stop());
  try {
    const result = await body({ ...events, shouldStop: stop.requested });
    events.stop();
    done(result, events);
    return 0;
  } catch (e) {
    if (e instanceof TrainingStoppedError || e instanceof ExperimentStoppedError) {
      events.stop();
      const resume = e instanceof TrainingStoppedError && e.checkpoint ? `; resume with: ${invocation} --resume` : '';
      io.err(`swaglet: ${e.message}${resume}\n`);
      return stop.exitCode();
    }
    if (e instanceof ResumeMismatchError) throw new Error(`${e.message}. Resume it with the config it was trained with, or start afresh: ${invocation} --fresh (deletes the runs)`);
    throw e;
  } finally {
    events.stop();
    stop.dispose();
  }
}

const backendOf = (flags: Map<string, string | true>) => (flags.get('backend') ? { backend: flags.get('backend') as BackendChoice } : {});

/** `--run 2` or `--run 0,2`: which runs (0-based) this command trains. */
function runsFlag(value: string | true | undefined, config: ExperimentConfig): number[] | undefined {
  if (value === undefined) return undefined;
  const runs = String(value).split(',').map((v) => Number(v.trim()));
  for (const m of runs) if (!Number.isInteger(m) || m < 0 || m >= config.runs) throw new UsageError(`--run ${value}: runs are 0..${config.runs - 1}`);
  return runs;
}

export const trainCommand: Command = {
  name: 'train',
  usage: 'train CONFIG.json [--resume | --fresh] [--run M[,M..]] [--queue redis://HOST:PORT] [--backend B]',
  summary: 'train the runs of an experiment (MAP, then SWAG collection); checkpoints, PEFT adapters; --queue: as jobs for workers',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['backend', 'run', 'queue'], ['resume', 'fresh']);
    if (positional.length !== 1) throw new UsageError('give one config file');
    const path = positional[0]!;
    const config = readConfig(path);
    const only = runsFlag(flags.get('run'), config);
    const invocation = `swaglet train ${path}${only ? ` --run ${only.join(',')}` : ''}`;
    const queue = flags.get('queue');
    const points = sweepPoints(config);
    if (queue !== undefined) {
      const paths = config.sweep ? await writeSweepPoints(config, points) : [resolve(path)];
      return submitToQueue(String(queue), paths.map((p, i) => ({ path: p, config: points[i]! })), only, path, io);
    }
    return withCli(
      io,
      invocation,
      async (events) => {
        let trained = 0;
        for (const point of points) {
          if (config.sweep) events.stage(`Sweep point ${point.name}`);
          trained += (await train({ config: point, resume: flags.has('resume'), fresh: flags.has('fresh'), invocation, events, ...(only ? { only } : {}), ...backendOf(flags) })).length;
        }
        return trained;
      },
      (trained, events) => events.log(`trained ${trained} run(s)${config.sweep ? ` over ${points.length} sweep points` : ''}; evaluate with: swaglet eval ${path}`),
    );
  },
};

/** Enqueues one job per run (of every sweep point) and waits, showing each job's progress; failures keep their message. */
async function submitToQueue(url: string, experiments: readonly { path: string; config: ExperimentConfig }[], only: number[] | undefined, path: string, io: CliIO): Promise<number> {
  const jobs = experiments.flatMap(({ path: file, config }) => {
    const fingerprint = experimentFingerprintOf(config);
    const runs = only ?? Array.from({ length: config.runs }, (_, m) => m);
    return runs.map((run) => ({ config: file, run, fingerprint, name: config.name }));
  });
  io.err(`swaglet: ${jobs.length} job(s) on ${url}: ${jobs.map(jobId).join(', ')}\n`);
  const events = progressEvents(io);
  const result = await submitRuns(url, jobs, {
    progress: (id, p) => events.progress(id, p.done, p.total, p.detail),
    completed: (id) => events.log(`${id}: done`),
    failed: (id, reason) => events.log(`${id}: FAILED: ${reason}`),
  });
  events.stop();
  if (result.failed.length) {
    io.err(`swaglet train: ${result.failed.length} of ${jobs.length} job(s) failed:\n${result.failed.map((f) => `  ${f.id}: ${f.reason}`).join('\n')}\n`);
    return 1;
  }
  io.err(`swaglet: ${result.completed.length} run(s) trained by the workers; evaluate with: swaglet eval ${path}\n`);
  return 0;
}

export const workerCommand: Command = {
  name: 'worker',
  usage: 'worker --queue redis://HOST:PORT [--concurrency N] [--backend B]',
  summary: 'take training jobs from the queue (any machine that sees the same output folder) until stopped',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['queue', 'concurrency', 'backend', 'lock-ms'], []);
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const url = flags.get('queue');
    if (url === undefined || url === true) throw new UsageError('--queue redis://HOST:PORT is required');
    const concurrency = Number(flags.get('concurrency') ?? 1);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency must be a positive whole number, got ${String(flags.get('concurrency'))}`);
    // How soon a dead worker's job goes to another (ms); tests shorten it.
    const lockDuration = Number(flags.get('lock-ms') ?? 30_000);
    const say = (line: string) => io.err(`swaglet worker: ${line}\n`);
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const worker = startWorker(
      String(url),
      async (job, progress) => {
        const config = readConfig(job.config);
        const fingerprint = experimentFingerprintOf(config);
        if (fingerprint !== job.fingerprint) throw new Error(`${job.config} changed since the job was queued (fingerprint ${fingerprint}, job ${job.fingerprint}); resubmit it`);
        await train({
          config,
          only: [job.run],
          resume: true,
          invocation: `swaglet train ${job.config} --run ${job.run}`,
          events: { progress: (_task, done, total, detail) => progress({ done, total, ...(detail ? { detail } : {}) }), log: (line) => say(`${jobId(job)}: ${line}`), stage: (title) => say(`${jobId(job)}: ${title}`) },
          ...backendOf(flags),
        });
      },
      { concurrency, lockDuration, stalledInterval: Math.max(500, Math.floor(lockDuration / 2)), isPermanent: isPermanentFailure, onEvent: say },
    );
    say(`waiting for jobs on ${String(url)} (concurrency ${concurrency}); Ctrl-C stops`);
    await stopped;
    say('stopping: finishing the jobs in hand');
    await worker.close();
    return 0;
  },
};

export const evalCommand: Command = {
  name: 'eval',
  usage: 'eval CONFIG.json [--backend B]',
  summary: 'evaluate trained runs: every method × split × metric, tables and reliability plots',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['backend'], []);
    if (positional.length !== 1) throw new UsageError('give one config file');
    const config = readConfig(positional[0]!);
    const points = sweepPoints(config);
    return withCli(
      io,
      `swaglet train ${positional[0]}`,
      async (events) => {
        const reports = [];
        for (const point of points) reports.push({ name: point.name, ...(await evaluate({ config: point, events, ...backendOf(flags) })) });
        if (!config.sweep) return { markdown: reports[0]!.markdown, files: reports[0]!.files };
        const summary = join(config.out, `${config.name}-sweep.md`);
        const markdown = sweepSummary(config, reports);
        await writeFileAtomic(summary, markdown);
        return { markdown, files: [...reports.flatMap((r) => r.files), summary] };
      },
      (report) => {
        io.out(report.markdown);
        io.err(`\nwrote ${report.files.join(', ')}\n`);
      },
    );
  },
};

export const predictCommand: Command = {
  name: 'predict',
  usage: `predict CONFIG.json --input FILE --output FILE.(jsonl|csv) [--method ${METHODS.join('|').replace(/ /g, '_')}] [--samples S] [--backend B]`,
  summary: 'posterior-averaged class probabilities and predictive entropy of every row of a data file',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['backend', 'input', 'output', 'method', 'samples'], []);
    if (positional.length !== 1) throw new UsageError('give one config file');
    const input = flags.get('input');
    const output = flags.get('output');
    if (typeof input !== 'string' || typeof output !== 'string') throw new UsageError('--input FILE and --output FILE are required');
    const method = String(flags.get('method') ?? 'SWAG').replace(/_/g, ' ') as MethodName;
    if (!METHODS.includes(method)) throw new UsageError(`--method: unknown method '${method}' (known: ${METHODS.join(', ')})`);
    const samples = flags.get('samples') !== undefined ? Number(flags.get('samples')) : undefined;
    if (samples !== undefined && (!Number.isInteger(samples) || samples < 1)) throw new UsageError(`--samples must be a positive whole number`);
    const config = readConfig(positional[0]!);
    return withCli(io, `swaglet train ${positional[0]}`, (events) => predict({ config, input, output, method, events, ...(samples ? { samples } : {}), ...backendOf(flags) }), (p, events) => {
      let mean = 0;
      for (const h of p.entropy) mean += h / p.entropy.length;
      events.log(`${p.entropy.length} rows by ${p.method}: wrote ${output} (mean predictive entropy ${mean.toFixed(4)} nats)`);
    });
  },
};

export const demoCommand: Command = {
  name: 'demo',
  usage: 'demo [--full] [--config FILE] [--resume | --fresh] [--backend B]',
  summary: 'the end-to-end SWAG-LoRA experiment on the bundled data (configs/demo.json; --full for a GPU)',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['config', 'backend'], ['full', 'resume', 'fresh']);
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const file = (flags.get('config') as string | undefined) ?? join(ROOT, 'configs', flags.has('full') ? 'full.json' : 'demo.json');
    if (!existsSync(file)) throw new UsageError(`no config file ${file}`);
    const config = readConfig(file);
    const invocation = `swaglet demo${flags.has('full') ? ' --full' : ''}${flags.get('config') ? ` --config ${flags.get('config') as string}` : ''}`;
    return withCli(io, invocation, (events) => trainAndEvaluate({ config, resume: flags.has('resume'), fresh: flags.has('fresh'), invocation, events, ...backendOf(flags) }), (report) => {
      io.out(report.markdown);
      io.err(`\nwrote ${report.files.join(', ')}\n`);
    });
  },
};

export const k8sCommand: Command = {
  name: 'k8s',
  usage: 'k8s CONFIG.json --image IMAGE --volume-claim PVC [--mount /work] [--gpus N] [--parallelism N]',
  summary: 'print a Kubernetes manifest: an Indexed Job with one pod per run, then the combine (eval) Job',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['image', 'volume-claim', 'mount', 'gpus', 'parallelism'], []);
    if (positional.length !== 1) throw new UsageError('give one config file');
    const image = flags.get('image');
    const claim = flags.get('volume-claim');
    if (typeof image !== 'string' || typeof claim !== 'string') throw new UsageError('--image IMAGE and --volume-claim PVC are required');
    const config = readConfig(positional[0]!);
    if (config.sweep) throw new UsageError('a config with a sweep: give each point its own manifest (its config is written by swaglet train CONFIG --queue into <out>/<name>.sweep/), or use the queue');
    const mountPath = String(flags.get('mount') ?? '/work');
    const num = (name: string) => (flags.get(name) !== undefined ? Number(flags.get(name)) : undefined);
    const gpus = num('gpus');
    const parallelism = num('parallelism');
    io.out(k8sManifest({ name: config.name, runs: config.runs, configPath: positional[0]!, image, volumeClaim: claim, mountPath, ...(gpus !== undefined ? { gpus } : {}), ...(parallelism !== undefined ? { parallelism } : {}) }));
    return 0;
  },
};
