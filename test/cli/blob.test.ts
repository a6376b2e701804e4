/**
 * The demo's BLoB row (`model.blob`) end to end at a tiny size: `swaglet eval` trains the BLoB
 * finetune with checkpoints beside the runs, reports it with every metric, and a second eval
 * reads the finished BLoB run back instead of training it again.
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
    model: { file: resolve('examples/use_lite_classifier.swag'), blob: 'use_lite_bayes.swag:UseLiteBlob', maxTokens: 8, batch: 16 },
    data: { sizes: { train: 32, validation: 16, test: 16, shift: 16, ood: 16 } },
    train: { epochs: 1, lr: 0.01, warmupSteps: 1, swag: { epochs: 2, lr: 0.005, collectEvery: 1 } },
    runs: 1,
    samples: 2,
    checkpointEvery: 1,
    out: join(dir, 'results'),
  }),
);

describe('the BLoB row', () => {
  it('is trained once with checkpoints, reported, and read back by a later eval', async () => {
    const trained = await runCli('train', config);
    expect(trained.code, trained.err).toBe(0);
    const first = await runCli('eval', config);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/BLoB: 2 steps /);
    expect(existsSync(join(dir, 'results', 'blob', 'blob', 'checkpoints'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'results', 'blob.json'), 'utf8')) as { results: { method: string; split: string; metrics: Record<string, number> }[] };
    const rows = report.results.filter((r) => r.method === 'BLoB');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) for (const v of Object.values(r.metrics)) expect(Number.isFinite(v)).toBe(true);
    const again = await runCli('eval', config);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/BLoB: trained earlier, read from /);
    // The same parameters give the same report.
    const second = JSON.parse(readFileSync(join(dir, 'results', 'blob.json'), 'utf8')) as typeof report;
    expect(second.results.filter((r) => r.method === 'BLoB')).toEqual(rows);
  }, 240_000);
});
