/**
 * `swaglet train CONFIG`, `swaglet eval CONFIG` and `swaglet demo`: the SWAG-LoRA experiment
 * end to end (see experiment/run.ts). `demo` trains and evaluates the bundled default config.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfig, type ExperimentConfig } from '../../experiment/config.ts';
import { evaluateRuns, loadRuns, prepare, trainRuns } from '../../experiment/run.ts';
import { type BackendChoice, openDevice } from '../../runtime/index.ts';
import { parseArgs } from '../args.ts';
import { type CliIO, type Command, UsageError } from '../command.ts';
import { progressEvents } from '../progress.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Mode = 'train' | 'eval' | 'all';

async function runExperiment(config: ExperimentConfig, mode: Mode, io: CliIO, options: { resume: boolean; backend?: string }): Promise<number> {
  const events = progressEvents(io);
  const device = await openDevice(options.backend ? { backend: options.backend as BackendChoice } : {});
  io.err(`swaglet: ${device.describe()}\n`);
  const start = performance.now();
  const prepared = await prepare(device, config, events);
  try {
    const runs = mode === 'eval' ? await loadRuns(config) : await trainRuns(prepared, config, events, { resume: options.resume });
    if (mode === 'train') {
      events.log(`trained ${runs.length} run(s) in ${((performance.now() - start) / 1000).toFixed(0)} s; evaluate with: swaglet eval CONFIG`);
      return 0;
    }
    const report = await evaluateRuns(prepared, runs, config, events);
    events.stop();
    io.out(report.markdown);
    io.err(`\nwrote ${report.files.join(', ')} (${((performance.now() - start) / 1000).toFixed(0)} s in all)\n`);
    return 0;
  } finally {
    events.stop();
    prepared.network.destroy();
    device.destroy();
  }
}

function configCommand(name: 'train' | 'eval', summary: string): Command {
  return {
    name,
    usage: `${name} CONFIG.json${name === 'train' ? ' [--resume]' : ''} [--backend B]`,
    summary,
    async run(args, io) {
      const { positional, flags } = parseArgs(args, ['backend'], name === 'train' ? ['resume'] : []);
      if (positional.length !== 1) throw new UsageError('give one config file');
      const config = readConfig(positional[0]!);
      return runExperiment(config, name === 'train' ? 'train' : 'eval', io, { resume: flags.has('resume'), ...(flags.get('backend') ? { backend: flags.get('backend') as string } : {}) });
    },
  };
}

export const trainCommand = configCommand('train', 'train the runs of an experiment (MAP, then SWAG collection); checkpoints, PEFT adapters');
export const evalCommand = configCommand('eval', 'evaluate trained runs: every method × split × metric, tables and reliability plots');

export const demoCommand: Command = {
  name: 'demo',
  usage: 'demo [--full] [--config FILE] [--resume] [--backend B]',
  summary: 'the end-to-end SWAG-LoRA experiment on the bundled data (configs/demo.json; --full for a GPU)',
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['config', 'backend'], ['full', 'resume']);
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const file = (flags.get('config') as string | undefined) ?? join(ROOT, 'configs', flags.has('full') ? 'full.json' : 'demo.json');
    if (!existsSync(file)) throw new UsageError(`no config file ${file}`);
    const config = readConfig(file);
    return runExperiment(config, 'all', io, { resume: flags.has('resume'), ...(flags.get('backend') ? { backend: flags.get('backend') as string } : {}) });
  },
};
