/**
 * What `swaglet train --resume` and `swaglet eval` do with a run left incomplete, trained with
 * another config, or with bytes corrupted on disk (issue #14, faults A, B and C), on the real
 * USE-Lite base at a tiny size.
 */
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = {
  name: 'tiny',
  model: { file: resolve('examples/use_lite_classifier.swag'), maxTokens: 8, batch: 16 },
  data: { sizes: { train: 32, validation: 16, test: 16, shift: 16, ood: 16 } },
  train: { epochs: 1, lr: 0.01, warmupSteps: 1, swag: { epochs: 2, lr: 0.005, collectEvery: 1 } },
  runs: 1,
  samples: 2,
  checkpointEvery: 2,
  out: join(dir, 'results'),
};
const config = join(dir, 'tiny.json');
const run = join(dir, 'results', 'tiny', 'runs', 'run-0');
const report = () => JSON.parse(readFileSync(join(dir, 'results', 'tiny.json'), 'utf8')).results as unknown[];

/** Flips every bit of the file's last byte (tensor data, not the header). */
function flipLastByte(path: string): void {
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(path, bytes);
}

let baseline: unknown[];
const saved = join(dir, 'saved-run');

beforeAll(async () => {
  writeFileSync(config, JSON.stringify(tiny));
  const trained = await runCli('train', config);
  expect(trained.code, trained.err).toBe(0);
  const evaluated = await runCli('eval', config);
  expect(evaluated.code, evaluated.err).toBe(0);
  baseline = report();
  cpSync(run, saved, { recursive: true });
}, 120_000);

describe('a run is finished only when all of its outputs are complete (A)', () => {
  it('--resume writes the adapters and statistics a crash left unwritten, byte for byte', async () => {
    // A kill after result.safetensors was renamed into place, before the adapters were written.
    rmSync(join(run, 'map-adapter'), { recursive: true });
    rmSync(join(run, 'swa-adapter'), { recursive: true });
    rmSync(join(run, 'swag_statistics.safetensors'));
    const { code, err } = await runCli('train', config, '--resume');
    expect(code, err).toBe(0);
    expect(err).not.toMatch(/finished earlier/);
    for (const f of ['map-adapter/adapter_model.safetensors', 'map-adapter/adapter_config.json', 'swa-adapter/adapter_model.safetensors', 'swag_statistics.safetensors', 'result.safetensors']) {
      expect(readFileSync(join(run, f)).equals(readFileSync(join(saved, f))), f).toBe(true);
    }
    // Now complete: a second resume has nothing to do.
    const again = await runCli('train', config, '--resume');
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/run 1\/1: finished earlier/);
  }, 120_000);
});

describe('--resume refuses a changed config (B)', () => {
  it('names the fields that differ and leaves the run alone', async () => {
    const changed = join(dir, 'changed.json');
    writeFileSync(changed, JSON.stringify({ ...tiny, train: { ...tiny.train, epochs: 2, lr: 0.02 } }));
    const before = readFileSync(join(run, 'result.safetensors'));
    const { code, err } = await runCli('train', changed, '--resume');
    expect(code).toBe(1);
    expect(err).toMatch(/train\.epochs: 1 → 2/);
    expect(err).toMatch(/train\.lr: 0\.01 → 0\.02/);
    expect(err).toMatch(/--fresh/);
    expect(err).not.toMatch(/at .*\.ts:\d+/);
    expect(readFileSync(join(run, 'result.safetensors')).equals(before)).toBe(true);
  }, 120_000);
});

describe('every file read back is verified (C)', () => {
  it('a corrupt result is rebuilt from the final checkpoint and a corrupt or truncated cache is recomputed, with warnings', async () => {
    flipLastByte(join(run, 'result.safetensors'));
    const cache = join(dir, 'results', 'cache');
    const files = readdirSync(cache);
    const test = join(cache, files.find((f) => f.startsWith('test-'))!);
    const shift = join(cache, files.find((f) => f.startsWith('shift-'))!);
    flipLastByte(test);
    truncateSync(shift, Math.floor(statSync(shift).size / 2));
    const { code, err } = await runCli('eval', config);
    expect(code, err).toBe(0);
    expect(err).toMatch(/result\.safetensors.*rebuilt from the final checkpoint/);
    expect(err).toMatch(new RegExp(`${test.split('/').pop()!.replace('.', '\\.')}.*recomput`));
    expect(err).toMatch(new RegExp(`${shift.split('/').pop()!.replace('.', '\\.')}.*recomput`));
    expect(report()).toEqual(baseline);
  }, 120_000);

  it('a corrupt result without a final checkpoint is refused, naming the file', async () => {
    copyFileSync(join(saved, 'result.safetensors'), join(run, 'result.safetensors'));
    flipLastByte(join(run, 'result.safetensors'));
    rmSync(join(run, 'checkpoints'), { recursive: true });
    const { code, err } = await runCli('eval', config);
    expect(code).toBe(1);
    expect(err).toMatch(/result\.safetensors/);
    expect(err).toMatch(/train .*--fresh/);
    expect(err).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(join(dir, 'results', 'tiny.json'))).toBe(true);
  }, 120_000);
});
