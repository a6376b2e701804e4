/**
 * `swaglet profile CONFIG`: where one training step of the config's finetune goes, kernel by
 * kernel. Compiles the config's model, runs a step on a synthetic batch (random token ids, no
 * padding) with the device recording its launches, replays each launch alone to time it
 * (runtime/profile.ts), and prints the kernel families and the top kernels with their share.
 * The matmul tiles are tuned first, as training tunes them (`--no-tune`: the default tiles).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readConfig } from '../../experiment/config.ts';
import { weightsOf } from '../../experiment/run.ts';
import { type BackendChoice, formatProfile, openDevice, profileWork } from '../../runtime/index.ts';
import { Network, swagReader } from '../../train/network.ts';
import { stepHarness } from '../../train/stepHarness.ts';
import { DEFAULT_TUNING_CACHE } from '../../api/tuneMatmuls.ts';
import { parseArgs } from '../args.ts';
import { type Command, UsageError } from '../command.ts';

function positiveInt(flag: string, value: string | true | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got ${String(value)}`);
  return n;
}

export const profileCommand: Command = {
  name: 'profile',
  usage: 'profile CONFIG [--tokens T] [--batch B] [--top N] [--reps R] [--out FILE.md] [--backend B] [--no-tune]',
  summary: "profile one training step of a config's finetune: time per kernel family and the top kernels",
  async run(args, io) {
    const { positional, flags } = parseArgs(args, ['tokens', 'batch', 'top', 'reps', 'out', 'backend'], ['no-tune']);
    if (positional.length !== 1) throw new UsageError('profile takes one CONFIG');
    const config = readConfig(positional[0]!);
    const tokens = positiveInt('tokens', flags.get('tokens'), config.model.maxTokens);
    const batch = positiveInt('batch', flags.get('batch'), config.model.batch);
    const top = positiveInt('top', flags.get('top'), 15);
    const reps = positiveInt('reps', flags.get('reps'), 1);
    const backend = flags.get('backend');
    const device = await openDevice(typeof backend === 'string' ? { backend: backend as BackendChoice } : {});
    try {
      io.err(`profiling on ${device.describe()}\n`);
      const weights = await weightsOf(config.model);
      const t0 = performance.now();
      const network = await Network.compile(device, {
        source: readFileSync(config.model.file, 'utf8'),
        file: config.model.file,
        entry: config.model.entry,
        dims: { ...(config.model.tokenizer ? { t: tokens } : {}), ...config.model.dims, [config.model.batchDim]: batch },
        batchDim: config.model.batchDim,
        readFile: swagReader(),
        ...(weights !== undefined ? { weights } : {}),
        // As training compiles it: matmul tiles tuned on this device (remembered across runs).
        ...(flags.get('no-tune') ? {} : { autotune: { cacheFile: DEFAULT_TUNING_CACHE, log: (line: string) => io.err(`${line}\n`) } }),
      });
      try {
        io.err(`compiled ${config.model.entry} in ${((performance.now() - t0) / 1000).toFixed(1)} s; warming up\n`);
        const harness = await stepHarness(network);
        try {
          await harness.step();
          const t1 = performance.now();
          await harness.step();
          const stepMs = performance.now() - t1;
          const profile = await profileWork(device, () => harness.step(), { reps, rounds: 1 });
          const title = `${config.model.entry}: one training step, batch ${batch} × ${tokens} tokens (${network.size} trainable parameters)`;
          const text = `${formatProfile(profile, { top, title })}\nstep wall time ${stepMs.toFixed(1)} ms; matmul work ${(harness.matmulFlops / 1e9).toFixed(2)} GFLOP; ${device.describe()}\n`;
          io.out(text);
          const out = flags.get('out');
          if (typeof out === 'string') writeFileSync(out, text);
          return 0;
        } finally {
          harness.destroy();
        }
      } finally {
        network.destroy();
      }
    } finally {
      device.destroy();
    }
  },
};
