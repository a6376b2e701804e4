/**
 * `swaglet train CONFIG`, `swaglet eval CONFIG` and `swaglet demo`: the SWAG-LoRA experiment
 * end to end (see experiment/run.ts). `demo` trains and evaluates the bundled default config.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfig, type ExperimentConfig } from '../../experiment/config.ts';
import { ExperimentStoppedError, checkTrainingStart, evaluateRuns, experimentDir, loadRuns, prepare, trainRuns } from '../../experiment/run.ts';
import { removeStaleTempFiles } from '../../io/atomic.ts';
import { acquireDirectoryLock } from '../../io/lock.ts';
import { type BackendChoice, openDevice } from '../../runtime/index.ts';
import { ResumeMismatchError } from '../../train/fingerprint.ts';
import { TrainingStoppedError } from '../../train/trainer.ts';
import { parseArgs } from '../args.ts';
import { type CliIO, type Command, UsageError } from '../command.ts';
import { progressEvents } from '../progress.ts';
import { listenForStop } from '../stopSignals.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Mode = 'train' | 'eval' | 'all';

interface RunOptions {
  resume: boolean;
  fresh: boolean;
  backend?: string;
  /** How the user names this command and config, for "resume with: …" hints. */
  invocation: string;
}

async function runExperiment(config: ExperimentConfig, mode: Mode, io: CliIO, options: RunOptions): Promise<number> {
  const dir = experimentDir(config);
  // One command per experiment folder: a second one is refused before it touches anything.
  const lock = acquireDirectoryLock(dir, `swaglet ${mode === 'all' ? 'demo' : mode}`, (w) => io.err(`swaglet: warning: ${w}\n`));
  const events = progressEvents(io);
  const stop = listenForStop(io, () => events.stop());
  try {
    // Temporary files of writers killed mid-write (ours are never adopted: they are only renamed into place).
    for (const path of [...removeStaleTempFiles(dir, { recursive: true }), ...removeStaleTempFiles(join(config.out, 'cache'))]) io.err(`swaglet: removed ${path}, left by an interrupted write\n`);
    if (mode !== 'eval') checkTrainingStart(config, options, options.invocation);
    const device = await openDevice(options.backend ? { backend: options.backend as BackendChoice } : {});
    try {
      io.err(`swaglet: ${device.describe()}\n`);
      const start = performance.now();
      const prepared = await prepare(device, config, { ...events, shouldStop: stop.requested });
      try {
        const runs = mode === 'eval' ? await loadRuns(prepared, config, events) : await trainRuns(prepared, config, { ...events, shouldStop: stop.requested }, { resume: options.resume });
        if (mode === 'train') {
          events.log(`trained ${runs.length} run(s) in ${((performance.now() - start) / 1000).toFixed(0)} s; evaluate with: swaglet eval CONFIG`);
          return 0;
        }
        const report = await evaluateRuns(prepared, runs, config, { ...events, shouldStop: stop.requested });
        events.stop();
        io.out(report.markdown);
        io.err(`\nwrote ${report.files.join(', ')} (${((performance.now() - start) / 1000).toFixed(0)} s in all)\n`);
        return 0;
      } finally {
        prepared.network.destroy();
      }
    } finally {
      device.destroy();
    }
  } catch (e) {
    if (e instanceof TrainingStoppedError || e instanceof ExperimentStoppedError) {
      events.stop();
      const resume = e instanceof TrainingStoppedError && e.checkpoint ? `; resume with: ${options.invocation} --resume` : '';
      io.err(`swaglet: ${e.message}${resume}\n`);
      return stop.exitCode();
    }
    if (e instanceof ResumeMismatchError) throw new Error(`${e.message}. Resume it with the config it was trained with, or start afresh: ${options.invocation} --fresh (deletes the runs)`);
    throw e;
  } finally {
    events.stop();
    stop.dispose();
    lock.release();
  }
}

function configCommand(name: 'train' | 'eval', summary: string): Command {
  return {
    name,
    usage: `${name} CONFIG.json${name === 'train' ? ' [--resume | --fresh]' : ''} [--backend B]`,
    summary,
    async run(args, io) {
      const { positional, flags } = parseArgs(args, ['backend'], name === 'train' ? ['resume', 'fresh'] : []);
      if (positional.length !== 1) throw new UsageError('give one config file');
      const config = readConfig(positional[0]!);
      return runExperiment(config, name === 'train' ? 'train' : 'eval', io, {
        resume: flags.has('resume'),
        fresh: flags.has('fresh'),
        invocation: `swaglet train ${positional[0]}`,
        ...(flags.get('backend') ? { backend: flags.get('backend') as string } : {}),
      });
    },
  };
}

export const trainCommand = configCommand('train', 'train the runs of an experiment (MAP, then SWAG collection); checkpoints, PEFT adapters');
export const evalCommand = configCommand('eval', 'evaluate trained runs: every method × split × metric, tables and reliability plots');

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
    return runExperiment(config, 'all', io, { resume: flags.has('resume'), fresh: flags.has('fresh'), invocation, ...(flags.get('backend') ? { backend: flags.get('backend') as string } : {}) });
  },
};
