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
        expect(Object.keys(r.metrics).sort()).toEqual(['accuracy', 'brier', 'ece', 'ece (20 bins)', 'nll']);
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

  it("the paper's recipe over two seeds: each seed its own split and runs, mean ± se and paired comparisons in the report", async () => {
    const seeded = join(dir, 'seeded.json');
    writeFileSync(
      seeded,
      JSON.stringify({
        name: 'seeded',
        model: { file: resolve('examples/use_lite_classifier.swag'), maxTokens: 16, batch: 16 },
        data: { sizes: { train: 48, validation: 16, test: 32, shift: 16, ood: 16 } },
        train: { epochs: 2, lr: 0.01, warmupSteps: 1, swag: { epochs: 2, lr: 0.005, collect: 'epoch', start: 'best', anneal: { epochs: 1, divisor: 2 } } },
        runs: 2,
        seeds: 2,
        samples: 2,
        checkpointEvery: 100,
        out: join(dir, 'results'),
      }),
    );
    const { code, err } = await runCli('demo', '--config', seeded);
    expect(code, err).toBe(0);
    expect(err).toMatch(/Seed 2 of 2/);
    expect(err).toMatch(/run 1: SWAG started from MAP epoch [12] of 2/);
    // Seed 1's runs live apart from seed 0's, trained with their own seeds (train.seed + 1·runs + m).
    expect(existsSync(join(dir, 'results', 'seeded', 'runs', 'run-1', 'manifest.json'))).toBe(true);
    expect(existsSync(join(dir, 'results', 'seeded', 'seed-1', 'runs', 'run-1', 'manifest.json'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'results', 'seeded.json'), 'utf8')) as {
      results: { method: string; split: string; metrics: Record<string, number>; stderr: Record<string, number>; perSeed: Record<string, number>[] }[];
      comparisons: { method: string; seeds: number; paired: Record<string, { differences: number[]; mean: number }> }[];
    };
    const swag = report.results.find((r) => r.method === 'SWAG' && r.split.startsWith('in distribution'))!;
    const map = report.results.find((r) => r.method === 'MAP' && r.split.startsWith('in distribution'))!;
    expect(swag.perSeed).toHaveLength(2);
    expect(swag.metrics.nll).toBeCloseTo((swag.perSeed[0]!.nll! + swag.perSeed[1]!.nll!) / 2, 12);
    expect(swag.stderr.nll).toBeCloseTo(Math.abs(swag.perSeed[0]!.nll! - swag.perSeed[1]!.nll!) / 2, 12);
    const c = report.comparisons.find((x) => x.method === 'SWAG' && x.seeds === 2)!;
    expect(c.paired.nll!.differences[1]).toBeCloseTo(swag.perSeed[1]!.nll! - map.perSeed[1]!.nll!, 12);
    // Resumed, every seed's runs are found finished.
    const again = await runCli('train', seeded, '--resume');
    expect(again.code, again.err).toBe(0);
    expect(again.err.match(/finished earlier/g)).toHaveLength(4);
  }, 300_000);

  it('a bad config is one clear line and exit 1', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"runs": 0}');
    const { code, err } = await runCli('train', bad);
    expect(code).toBe(1);
    expect(err).toMatch(/swaglet train: .*bad\.json: 'runs' must be a positive whole number, got 0/);
  });
});
