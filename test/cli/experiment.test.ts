/**
 * `swaglet train` and `swaglet eval` end to end on the real data and the real USE-Lite base, at a
 * tiny size: the runs train, the adapters and statistics land on disk, the report has every
 * method × split × metric, `--resume` picks finished runs up, and a bad config is a clean error.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-experiment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = join(dir, 'tiny.json');
writeFileSync(
  config,
  JSON.stringify({
    name: 'tiny',
    model: { file: resolve('examples/use_lite_classifier.swag'), maxTokens: 16, batch: 16 },
    data: { sizes: { train: 64, validation: 16, test: 32, shift: 32, ood: 16 } },
    train: { epochs: 2, lr: 0.01, warmupSteps: 2, swag: { epochs: 2, lr: 0.005, collectEvery: 2 } },
    runs: 2,
    samples: 4,
    checkpointEvery: 3,
    out: join(dir, 'results'),
  }),
);

describe('swaglet train / eval', () => {
  it('trains the runs and writes PEFT adapters, statistics and checkpoints', async () => {
    const { code, err } = await runCli('train', config);
    expect(err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(code, err).toBe(0);
    expect(err).toMatch(/run 2: 16 steps .* 4 SWAG snapshots/);
    const run = join(dir, 'results', 'tiny', 'runs', 'run-1');
    for (const f of ['map-adapter/adapter_model.safetensors', 'map-adapter/adapter_config.json', 'swa-adapter/adapter_config.json', 'swag_statistics.safetensors', 'result.safetensors', 'checkpoints/latest.json']) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
    expect(existsSync(join(dir, 'results', 'cache'))).toBe(true);
  }, 120_000);

  it('evaluates every method on every split and writes the report and plots', async () => {
    const { code, out, err } = await runCli('eval', config);
    expect(code, err).toBe(0);
    expect(out).toMatch(/## in distribution \(IMDB\)/);
    const report = JSON.parse(readFileSync(join(dir, 'results', 'tiny.json'), 'utf8')) as { results: { method: string; split: string; metrics: Record<string, number> }[] };
    const methods = ['MAP', 'MC dropout', 'Ensemble', 'SWA', 'SWAG', 'MultiSWAG'];
    for (const split of ['in distribution (IMDB)', 'shift (Amazon fine foods)']) {
      expect(report.results.filter((r) => r.split === split).map((r) => r.method)).toEqual(methods);
      for (const r of report.results.filter((x) => x.split === split)) {
        expect(Object.keys(r.metrics).sort()).toEqual(['accuracy', 'brier', 'ece', 'nll']);
        for (const v of Object.values(r.metrics)) expect(Number.isFinite(v)).toBe(true);
      }
    }
    for (const svg of ['reliability-id', 'reliability-shift', 'nll', 'ece']) expect(readFileSync(join(dir, 'results', `tiny-${svg}.svg`), 'utf8')).toMatch(/^<svg/);
  }, 120_000);

  it('--resume picks up finished runs instead of training again', async () => {
    const { code, err } = await runCli('train', config, '--resume');
    expect(code, err).toBe(0);
    expect(err).toMatch(/run 1\/2: finished earlier/);
    expect(err).toMatch(/run 2\/2: finished earlier/);
  }, 120_000);

  it('a bad config is one clear line and exit 1', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"runs": 0}');
    const { code, err } = await runCli('train', bad);
    expect(code).toBe(1);
    expect(err).toMatch(/swaglet train: .*bad\.json: 'runs' must be a positive whole number, got 0/);
  });
});
