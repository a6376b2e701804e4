/**
 * The demo's Laplace and BLoB rows (`model.laplace`, `model.blob`) end to end at a tiny size:
 * `swaglet eval` runs the post-hoc Laplace pass (the KFAC statistics compiled from .swag, 32
 * examples a collectLinears call) and trains the BLoB finetune with checkpoints beside the runs,
 * reports both with every metric, and a second eval reads the finished BLoB run back instead of
 * training it again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-blob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = join(dir, 'blob.json');
writeFileSync(
  config,
  JSON.stringify({
    name: 'blob',
    model: { file: resolve('examples/use_lite_classifier.swag'), laplace: 'use_lite_bayes.swag:UseLiteLaplace', blob: 'use_lite_bayes.swag:UseLiteBlob', maxTokens: 8, batch: 16 },
    data: { sizes: { train: 32, validation: 16, test: 16, shift: 16, ood: 16 } },
    train: { epochs: 1, lr: 0.01, warmupSteps: 1, swag: { epochs: 2, lr: 0.005, collectEvery: 1 } },
    runs: 1,
    samples: 2,
    checkpointEvery: 1,
    out: join(dir, 'results'),
  }),
);

describe('the Laplace and BLoB rows', () => {
  it('Laplace KFAC and diag are reported; BLoB is trained once with checkpoints, reported, and read back by a later eval', async () => {
    const trained = await runCli('train', config);
    expect(trained.code, trained.err).toBe(0);
    const first = await runCli('eval', config);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/BLoB: 2 steps /);
    expect(existsSync(join(dir, 'results', 'blob', 'blob', 'checkpoints'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'results', 'blob.json'), 'utf8')) as { results: { method: string; split: string; metrics: Record<string, number> }[] };
    const methods = [...new Set(report.results.map((r) => r.method))];
    expect(methods).toEqual(expect.arrayContaining(['MAP', 'SWAG', 'Laplace KFAC (GLM)', 'BLoB']));
    expect(methods.some((m) => m.startsWith('Laplace diag'))).toBe(true);
    expect(first.err).toMatch(/Laplace KFAC \(GLM\): prior precision \S+ by validation NLL/);
    for (const r of report.results.filter((x) => x.method.startsWith('Laplace') || x.method === 'BLoB')) {
      for (const v of Object.values(r.metrics)) expect(Number.isFinite(v)).toBe(true);
    }
    const rows = report.results.filter((r) => r.method === 'BLoB');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const again = await runCli('eval', config);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/BLoB: trained earlier, read from /);
    // The same parameters give the same report.
    const second = JSON.parse(readFileSync(join(dir, 'results', 'blob.json'), 'utf8')) as typeof report;
    expect(second.results.filter((r) => r.method === 'BLoB')).toEqual(rows);
  }, 240_000);
});
